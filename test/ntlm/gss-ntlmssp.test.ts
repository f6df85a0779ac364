// Live cross-check with gss-ntlmssp (MIT mechglue plugin) through python3-gssapi (test/ntlm/ntlm_peer.py):
// its initiator against our pure acceptor and our pure initiator against its acceptor; session keys,
// MICs and sealed messages compared byte for byte, channel bindings both ways. Skips when gss-ntlmssp
// or python3-gssapi is absent (fails under SPNEGO_REQUIRE_PEERS=1: scripts/install-peers.sh installs it).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { fromHex, toHex, utf8 } from '../../lib/util/bytes.js';
import {
  NtlmAcceptor, NtlmChannelBindingsError, NtlmInitiator, NtlmSession, userStoreFromFile,
} from '../../lib/ntlm/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const requirePeers = process.env.SPNEGO_REQUIRE_PEERS === '1';

/** gss-ntlmssp's mech.d file (MIT reads it as the GSS_MECH_CONFIG of the peer: the suite pins the rest to none). */
function ntlmMechConfig(): string | undefined {
  const mechd = '/etc/gss/mech.d';
  if (!existsSync(mechd)) return undefined;
  const f = readdirSync(mechd).find((n) => readFileSync(join(mechd, n), 'utf8').includes('1.3.6.1.4.1.311.2.2.10'));
  return f ? join(mechd, f) : undefined;
}

function missing(): string | undefined {
  if (!ntlmMechConfig()) return 'gss-ntlmssp is not installed (no NTLM mech in /etc/gss/mech.d; apt-get install gss-ntlmssp)';
  const r = spawnSync('/usr/bin/python3', ['-c', 'import gssapi'], { encoding: 'utf8' });
  if (r.status !== 0) return `python3-gssapi is not importable: ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

function need(t: TestContext): boolean {
  const why = missing();
  if (!why) return true;
  if (requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${why}`);
  t.skip(why);
  return false;
}

type Reply = Record<string, any>;
class Peer {
  private readonly proc;
  private readonly waiters: ((r: Reply) => void)[] = [];
  private stderr = '';
  constructor(args: string[], env: Record<string, string>) {
    this.proc = spawn('/usr/bin/python3', [join(HERE, 'ntlm_peer.py'), ...args], { env: { ...process.env, GSS_MECH_CONFIG: ntlmMechConfig() ?? '/dev/null', ...env } });
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    this.proc.stdin.on('error', () => {});
    this.proc.on('close', (code, sig) => { for (const w of this.waiters.splice(0)) w({ error: `ntlm_peer.py exited ${sig ?? code}: ${this.stderr.slice(-1000)}` }); });
    createInterface({ input: this.proc.stdout }).on('line', (l) => this.waiters.shift()?.(JSON.parse(l)));
  }
  async req(o: object): Promise<Reply> {
    const p = new Promise<Reply>((resolve) => this.waiters.push(resolve));
    this.proc.stdin.write(JSON.stringify(o) + '\n');
    const r = await p;
    if (r.error) throw new Error(`gss-ntlmssp: ${r.error}`);
    return r;
  }
  close() {
    this.proc.stdin.end();
  }
}

const USERS = 'EXAMPLE:alice:s3cret\n';
const CB = utf8.encode('tls-server-end-point:cross-check');
const msg = utf8.encode('message for both sides');

function tmpUsers() {
  const dir = mkdtempSync(join(tmpdir(), 'ntlm-peer-'));
  writeFileSync(join(dir, 'users'), USERS);
  return { dir, env: { NTLM_USER_FILE: join(dir, 'users') } };
}

/** Session security both ways, and each side's tokens recomputed by a fresh session with the same key. */
async function crossCheck(ours: NtlmSession, peer: Peer, peerIsInitiator: boolean) {
  const mirror = new NtlmSession({ exportedSessionKey: ours.sessionKey, flags: ours.flags, isInitiator: peerIsInitiator });
  const peerMic = fromHex((await peer.req({ op: 'get_mic', msg: toHex(msg) })).mic);
  assert.equal(toHex(peerMic), toHex(mirror.getMIC(msg)), 'gss-ntlmssp MIC = ours byte for byte');
  ours.verifyMIC(msg, peerMic);
  const peerWrap = fromHex((await peer.req({ op: 'wrap', msg: toHex(msg) })).token);
  assert.equal(toHex(peerWrap), toHex(mirror.wrap(msg)), 'gss-ntlmssp sealed message = ours byte for byte');
  assert.equal(toHex(ours.unwrap(peerWrap).message), toHex(msg));
  await peer.req({ op: 'verify_mic', msg: toHex(msg), mic: toHex(ours.getMIC(msg)) });
  const back = await peer.req({ op: 'unwrap', token: toHex(ours.wrap(msg)) });
  assert.equal(back.msg, toHex(msg));
}

for (const withCb of [false, true]) {
  test(`gss-ntlmssp initiator -> pure acceptor${withCb ? ' (channel bindings)' : ''}`, async (t) => {
    if (!need(t)) return;
    const { dir, env } = tmpUsers();
    const peer = new Peer(['initiator', '--target', 'HTTP@localhost', '--user', 'EXAMPLE\\alice', '--password', 's3cret', ...(withCb ? ['--cb', toHex(CB)] : [])], env);
    try {
      const acc = new NtlmAcceptor({
        userStore: userStoreFromFile(USERS), targetName: 'HTTP/localhost', replayCache: new MemoryReplayCache(),
        ...(withCb ? { channelBindings: { applicationData: CB } } : {}),
      });
      const neg = await peer.req({ op: 'step', token: null });
      const chal = await acc.step(fromHex(neg.token));
      const auth = await peer.req({ op: 'step', token: toHex(chal!) });
      assert.equal(auth.complete, true);
      await acc.step(fromHex(auth.token));
      assert.deepEqual({ user: acc.info!.user, domain: acc.info!.domain }, { user: 'alice', domain: 'EXAMPLE' });
      assert.equal(auth.session_key, toHex(acc.session!.sessionKey), 'exported session keys agree');
      await crossCheck(acc.session!, peer, true);
    } finally {
      peer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`pure initiator -> gss-ntlmssp acceptor${withCb ? ' (channel bindings)' : ''}`, async (t) => {
    if (!need(t)) return;
    const { dir, env } = tmpUsers();
    const peer = new Peer(['acceptor', '--target', 'HTTP@localhost', ...(withCb ? ['--cb', toHex(CB)] : [])], env);
    try {
      const ini = new NtlmInitiator({
        credentials: { principal: 'EXAMPLE\\alice', password: 's3cret' }, targetName: 'HTTP/localhost',
        ...(withCb ? { channelBindings: { applicationData: CB } } : {}),
      });
      const chal = await peer.req({ op: 'step', token: toHex(ini.step()) });
      const done = await peer.req({ op: 'step', token: toHex(ini.step(fromHex(chal.token))) });
      assert.equal(done.complete, true);
      assert.match(done.initiator, /alice/i);
      assert.equal(done.session_key, toHex(ini.session!.sessionKey), 'exported session keys agree');
      await crossCheck(ini.session!, peer, false);
    } finally {
      peer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('gss-ntlmssp initiator with other channel bindings -> pure acceptor: NtlmChannelBindingsError', async (t) => {
  if (!need(t)) return;
  const { dir, env } = tmpUsers();
  const peer = new Peer(['initiator', '--target', 'HTTP@localhost', '--user', 'EXAMPLE\\alice', '--password', 's3cret', '--cb', toHex(utf8.encode('other'))], env);
  try {
    const acc = new NtlmAcceptor({ userStore: userStoreFromFile(USERS), replayCache: new MemoryReplayCache(), channelBindings: { applicationData: CB } });
    const chal = await acc.step(fromHex((await peer.req({ op: 'step', token: null })).token));
    const auth = await peer.req({ op: 'step', token: toHex(chal!) });
    await assert.rejects(acc.step(fromHex(auth.token)), NtlmChannelBindingsError);
  } finally {
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
