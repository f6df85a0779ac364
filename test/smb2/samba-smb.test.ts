// SMB2 session setup against the Samba AD DC's smbd (its own DC on 127.0.0.13, s3fs and winbindd
// on): NEGOTIATE 3.1.1 with pre-auth integrity, the server's NegTokenInit2 into the initiator's
// first step, SESSION_SETUP, the signing key, a signed TREE_CONNECT to IPC$ and LOGOFF, pure and
// native. Every SPNEGO token Samba sends is recorded; each mechListMIC in them is compared byte for
// byte with the pure recomputation (checkMic). A proxy that tampers with signatures proves the
// client fails closed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needNative, needPeer, startPeer, useEnv, KRB5_ENV, type RunningPeer } from '../peers/harness.js';
import type { Backend } from '../../lib/context.js';
import { createInitiator } from '../../lib/api.js';
import { IntegrityError } from '../../lib/errors.js';
import { decodeNegotiationToken } from '../../lib/spnego/codec.js';
import { checkMic } from '../../lib/cli/pairings.js';
import { Command, Dialect, FrameReader, HeaderFlags, Smb2Client, Smb2StatusError, Status, decodeHeader, frame } from '../../lib/smb2/index.js';
import { checkNtlmMics } from './ntlm-mics.js';

const AD_ADDR = '127.0.0.13';
const DC_HOST = 'dc1';
const RECIPE = join(import.meta.dirname, '..', 'peers', 'samba-ad.sh');
let ad: RunningPeer | undefined;
let restore = () => {};
let skipWhy: string | undefined;

before(() => {
  // smbd (s3fs) maps the user's SIDs to uids through winbindd; Debian's libwbclient only looks for
  // winbindd at /run/samba/winbindd, so one DC at a time can serve SMB sessions on this machine.
  if (spawnSync('wbinfo', ['-p'], { encoding: 'utf8', timeout: 10_000 }).status === 0) {
    skipWhy = 'a winbindd already answers on /run/samba/winbindd (another DC): smbd here could not reach ours';
    return;
  }
  try {
    ad = startPeer('samba-ad', { AD_ADDR, AD_SERVICES: '-nbt -wrepl -ntp_signd -dnsupdate -dns' });
  } catch (e) {
    if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw e;
    skipWhy = String(e);
    return;
  }
  const env = { ...process.env, SPNEGO_NO_APT: '1' };
  const conf = ad.env.AD_SMB_CONF!;
  execFileSync('bash', [RECIPE, 'stop', ad.state], { env, stdio: 'ignore' });
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/winbindd socket directory = .*/, 'winbindd socket directory = /run/samba/winbindd'));
  execFileSync('bash', [RECIPE, 'up', ad.state], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  for (let i = 0; i < 50 && spawnSync('wbinfo', ['-p'], { timeout: 5000 }).status !== 0; i++) spawnSync('sleep', ['0.2']);
  restore = useEnv(Object.fromEntries(KRB5_ENV.map((k) => [k, ad!.env[k]])));
});
after(() => {
  ad?.stop();
  restore();
});

function ready(t: Parameters<typeof needPeer>[0]): boolean {
  if (skipWhy) {
    t.skip(skipWhy.slice(0, 300));
    return false;
  }
  return needPeer(t, 'samba-ad') && ad !== undefined;
}

function initiator(backend: Backend, mechs?: string[]) {
  const e = ad!.env;
  return createInitiator({
    backend, target: `cifs/${DC_HOST}.${e.AD_REALM!.toLowerCase()}@${e.AD_REALM}`,
    krb5Config: backend === 'pure' ? e.KRB5_CONFIG : undefined,
    credentials: { principal: e.AD_USER!, password: e.AD_PASSWORD! },
    spnego: mechs ? { mechs } : undefined,
  });
}

const unc = () => `\\\\${DC_HOST}.${ad!.env.AD_REALM!.toLowerCase()}\\IPC$`;

for (const backend of ['pure', 'native'] as Backend[]) {
  test(`Samba smbd: ${backend} initiator, SMB 3.1.1 session setup, signed TREE_CONNECT to IPC$ and LOGOFF, Samba's tokens recorded and its mechListMICs recomputed`, async (t) => {
    if (!ready(t)) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const c = await Smb2Client.connect(AD_ADDR);
    const n = await c.negotiate();
    assert.equal(n.dialect, Dialect.SMB311);
    const ctx = initiator(backend);
    await c.sessionSetup(ctx);
    assert.ok(c.signed && ctx.complete);
    assert.equal(c.sessionFlags & 0x3, 0, 'neither guest nor anonymous');
    const tree = await c.treeConnect(unc());
    assert.equal(tree.shareType, 2, 'IPC$ is a pipe share (SMB2_SHARE_TYPE_PIPE)');
    await c.logoff();
    // Samba spoke first: its NegTokenInit2 (ms-krb5, krb5, ntlm) went to our first step
    const server = c.tokens.filter((x) => x.from === 'server');
    assert.equal(server[0]!.command, 'NEGOTIATE');
    const init2 = decodeNegotiationToken(server[0]!.bytes);
    assert.equal(init2.kind, 'init2');
    assert.ok(server.length >= 2, 'Samba answered the session setup with a NegTokenResp');
    const key = ctx.info.sessionKey!;
    const mechTypes = ctx.info.spnego!.mechTypes;
    let mics = 0;
    for (const s of server.slice(1)) {
      const r = decodeNegotiationToken(s.bytes);
      assert.equal(r.kind, 'resp');
      if (r.kind === 'resp' && r.mechListMIC) {
        mics++;
        const m = checkMic(key, true, mechTypes, r.mechListMIC);
        assert.ok(m.equal, `Samba's mechListMIC differs from the pure recomputation at byte ${m.firstDifference} ${m.note ?? ''}`);
      }
    }
    // With ms-krb5 first (the optimistic token taken), RFC 4178 5 needs no MIC and Samba sends none;
    // the MIC path is the negoex-first test below.
    assert.equal(mics, 0);
  });
}

for (const backend of ['pure', 'native'] as Backend[]) {
  test(`Samba smbd: ${backend} initiator, an unsupported mechanism first makes Samba send a mechListMIC, recomputed byte for byte`, async (t) => {
    if (!ready(t)) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const c = await Smb2Client.connect(AD_ADDR);
    await c.negotiate();
    // NEGOEX first: Samba cannot take it, picks ms-krb5 (not the first mech), so RFC 4178 5 needs the
    // mechListMIC both ways. native: our negotiator over the library's Kerberos (spnego.mechs set).
    const ctx = initiator(backend, ['1.3.6.1.4.1.311.2.2.30', 'ms-krb5', 'krb5']);
    try {
      await c.sessionSetup(ctx);
      assert.ok(c.signed && ctx.complete);
      const tree = await c.treeConnect(unc());
      assert.equal(tree.shareType, 2);
      await c.logoff();
    } finally {
      c.close();
    }
    const key = ctx.info.sessionKey!;
    assert.ok(key, `${backend}: the session key is reported`);
    const withMic = c.tokens.filter((x) => x.from === 'server').map((x) => decodeNegotiationToken(x.bytes)).filter((r) => r.kind === 'resp' && r.mechListMIC);
    assert.equal(withMic.length, 1, "Samba's mechListMIC, once");
    for (const r of withMic) {
      if (r.kind !== 'resp') continue;
      const m = checkMic(key, true, ctx.info.spnego!.mechTypes, r.mechListMIC!);
      assert.ok(m.equal, `${backend}: Samba's mechListMIC differs from the pure recomputation at byte ${m.firstDifference} ${m.note ?? ''}`);
    }
    // And ours reached Samba (it verified it: the session is set up): one client token carries one.
    const ours = c.tokens.filter((x) => x.from === 'client').map((x) => decodeNegotiationToken(x.bytes)).filter((r) => r.kind === 'resp' && r.mechListMIC);
    assert.equal(ours.length, 1, 'our mechListMIC, once');
  });
}

/** NTLM only (spnego.mechs ['ntlm']), 'DOMAIN\\user': the DC checks the NTLMv2 response against its own SAM. */
function ntlmInitiator(password = ad!.env.AD_PASSWORD!) {
  const e = ad!.env;
  return createInitiator({
    backend: 'pure', target: `cifs/${DC_HOST}.${e.AD_REALM!.toLowerCase()}@${e.AD_REALM}`,
    ntlm: { credentials: { principal: `${e.AD_DOMAIN}\\${e.AD_USER!.split('@')[0]}`, password } },
    spnego: { mechs: ['ntlm'] },
  });
}

test('Samba smbd: pure initiator, NTLM only: session setup validated by the DC, signing key from the exported session key, signed TREE_CONNECT and LOGOFF, both mechListMICs recomputed', async (t) => {
  if (!ready(t)) return;
  const c = await Smb2Client.connect(AD_ADDR);
  await c.negotiate();
  const ctx = ntlmInitiator();
  try {
    await c.sessionSetup(ctx);
    assert.ok(c.signed && ctx.complete);
    assert.equal(c.sessionFlags & 0x3, 0, 'neither guest nor anonymous: the DC accepted the NTLMv2 response');
    const tree = await c.treeConnect(unc());
    assert.equal(tree.shareType, 2);
    await c.logoff();
  } finally {
    c.close();
  }
  // Samba's NegTokenInit2 went to our first step; then NegTokenInit(ntlm)+NEGOTIATE, CHALLENGE,
  // AUTHENTICATE+MIC, accept-completed+MIC.
  assert.equal(c.tokens[0]!.command, 'NEGOTIATE');
  checkNtlmMics(ctx, c.tokens.slice(1));
  assert.equal(ctx.info.initiatorName, `${ad!.env.AD_DOMAIN}\\${ad!.env.AD_USER!.split('@')[0]}`);
});

test('Samba smbd: NTLM with a wrong password: the DC refuses it, STATUS_LOGON_FAILURE as an Smb2StatusError', async (t) => {
  if (!ready(t)) return;
  const c = await Smb2Client.connect(AD_ADDR);
  await c.negotiate();
  const ctx = ntlmInitiator('not-the-Passw0rd');
  await assert.rejects(c.sessionSetup(ctx), (e: unknown) => {
    assert.ok(e instanceof Smb2StatusError, String(e));
    assert.equal(e.status, Status.LOGON_FAILURE);
    assert.equal(e.command, Command.SESSION_SETUP);
    assert.match(e.message, /LOGON_FAILURE/);
    assert.ok(!e.message.includes('not-the-Passw0rd'));
    return true;
  });
  assert.ok(!c.signed && !ctx.complete);
  await assert.rejects(c.treeConnect(unc()), /set up a session/);
});

/** A loopback proxy to smbd that lets `tamper` rewrite each server message (SMB2, no transport header). */
async function tamperingProxy(tamper: (msg: Uint8Array) => Uint8Array): Promise<{ port: number; close: () => void; sentAfterTamper: () => number }> {
  let tampered = false;
  let after = 0;
  const server = net.createServer((client) => {
    const up = net.connect(445, AD_ADDR);
    const reader = new FrameReader();
    client.on('data', (b) => up.write(b));
    up.on('data', (b: Buffer) => {
      for (const m of reader.push(b)) {
        if (tampered) after++;
        const out = tamper(m);
        if (out !== m) tampered = true;
        if (!client.destroyed) client.write(frame(out));
      }
    });
    const end = () => { client.destroy(); up.destroy(); };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close(), sentAfterTamper: () => after };
}

const isResponse = (m: Uint8Array, cmd: number) => { const h = decodeHeader(m); return h.command === cmd && h.status === 0 && (h.flags & HeaderFlags.SERVER_TO_REDIR) !== 0; };

for (const [what, cmd, change] of [
  ['a flipped signature byte on the final SESSION_SETUP response', Command.SESSION_SETUP, (m: Uint8Array) => { m[60]! ^= 1; }],
  ['a flipped signature byte on the TREE_CONNECT response', Command.TREE_CONNECT, (m: Uint8Array) => { m[50]! ^= 0x80; }],
  ['an unsigned TREE_CONNECT response (flag cleared, signature zeroed)', Command.TREE_CONNECT, (m: Uint8Array) => { m[16]! &= ~HeaderFlags.SIGNED; m.fill(0, 48, 64); }],
  ['a flipped body byte on the TREE_CONNECT response', Command.TREE_CONNECT, (m: Uint8Array) => { m[64 + 4]! ^= 1; }],
] as const) {
  test(`Samba smbd through a tampering proxy: ${what} is an IntegrityError and the connection is closed`, async (t) => {
    if (!ready(t)) return;
    const proxy = await tamperingProxy((m) => {
      if (!isResponse(m, cmd)) return m;
      const copy = Uint8Array.from(m);
      change(copy);
      return copy;
    });
    try {
      const c = await Smb2Client.connect('127.0.0.1', proxy.port);
      await c.negotiate();
      const run = async () => {
        await c.sessionSetup(initiator('pure'));
        await c.treeConnect(unc());
      };
      await assert.rejects(run(), (e: unknown) => e instanceof IntegrityError);
      // closed: nothing else is read or sent
      await assert.rejects(c.treeConnect(unc()));
    } finally {
      proxy.close();
    }
  });
}

test('spnego smb-probe //dc1.../IPC$: the exchange decoded (Samba\'s NegTokenInit2 first), signed tree connect, exit 0', async (t) => {
  if (!ready(t)) return;
  const { main } = await import('../../lib/cli/main.js');
  const e = ad!.env;
  const lines: string[] = [];
  const log = console.log;
  const undo = useEnv({ SMB_PROBE_PW: e.AD_PASSWORD! });
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  let code: number;
  try {
    code = await main(['smb-probe', `//${DC_HOST}.${e.AD_REALM!.toLowerCase()}/IPC$`, '--address', AD_ADDR, '--backend', 'pure',
      '--target', `cifs/${DC_HOST}.${e.AD_REALM!.toLowerCase()}@${e.AD_REALM}`, '--principal', e.AD_USER!, '--password-env', 'SMB_PROBE_PW']);
  } finally {
    console.log = log;
    undo();
  }
  const out = lines.join('\n');
  assert.equal(code, 0, out);
  assert.match(out, /NEGOTIATE: dialect 0x311/);
  assert.match(out, /1\. server -> client \(NEGOTIATE\)[\s\S]*"choice": "negTokenInit2"/);
  assert.match(out, /TREE_CONNECT \\\\dc1\.[^ ]+\\IPC\$: tree 0x[0-9a-f]+, share type 2, signed both ways/);
  assert.match(out, /"name": "accept-completed"/);
  assert.ok(!out.includes(e.AD_PASSWORD!), 'no password in the output');
});
