// The native backend (the C++ addon over MIT's and Heimdal's libgssapi) against MIT's KDC, in all
// four pairings with the pure backend: raw Kerberos, the library's SPNEGO and the Windows-style
// seed flow (ms-krb5, krb5, ntlm; AP-REP + mechListMIC with accept-incomplete; the initiator's MIC
// with accept-completed). Every MIC that crosses is recomputed by the pure code from the session
// key and its sequence number, and the bytes compared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KRB5_ENV, needNative, needPeer, peerForFile, useEnv } from '../peers/harness.js';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import type { SecurityContext } from '../../lib/context.js';
import { GssError, UsageError } from '../../lib/errors.js';
import { checkMic, exchange } from '../../lib/cli/pairings.js';
import { wrapToken } from '../../lib/krb5/gss/wrap.js';
import { decodeNegotiationToken, NegState } from '../../lib/spnego/codec.js';
import { MechOid } from '../../lib/spnego/oids.js';
import { toHex, utf8 } from '../../lib/util/bytes.js';
import { openCcache, readCcache } from '../../lib/krb5/ccache.js';
import { Krb5Initiator } from '../../lib/krb5/initiator.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { parsePrincipal } from '../../lib/krb5/types.js';

const kdcPeer = peerForFile('mit-kdc', KRB5_ENV);
let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'spnego-native-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const LIBS = ['mit', 'heimdal'] as const;
const PAIRS = [['native', 'native'], ['native', 'pure'], ['pure', 'native'], ['pure', 'pure']] as const;
type Backend = 'native' | 'pure';

async function ready(t: import('node:test').TestContext, lib: string): Promise<boolean> {
  return needPeer(t, 'mit-kdc') && kdcPeer.current !== undefined && (await needNative(t, lib));
}

function initiator(backend: Backend, lib: string, o: Partial<Parameters<typeof createInitiator>[0]> = {}): SecurityContext {
  return createInitiator({
    backend, gssapiLibrary: lib, target: kdcPeer.current!.env.MITKDC_SERVICE_HOSTBASED!, credentials: { ccache: kdcPeer.current!.env.KRB5CCNAME! },
    krb5Config: backend === 'pure' ? kdcPeer.current!.env.KRB5_CONFIG : undefined, ...o,
  });
}
function acceptor(backend: Backend, lib: string, o: Partial<Parameters<typeof createAcceptor>[0]> = {}): SecurityContext {
  return createAcceptor({ backend, gssapiLibrary: lib, keytab: kdcPeer.current!.env.KRB5_KTNAME, ...o });
}

/** Runs the exchange to completion; returns the tokens in order. */
async function handshake(i: SecurityContext, a: SecurityContext): Promise<Uint8Array[]> {
  const tokens = await exchange(i, a);
  assert.ok(i.complete, 'initiator complete');
  assert.ok(a.complete, 'acceptor complete');
  return tokens;
}

/** RFC 4121 4.2.6.1: the pure code makes the same MIC token from the key and its header, read without verifying. */
function recomputeMic(key: { enctype: number; key: Uint8Array }, fromAcceptor: boolean, message: Uint8Array, token: Uint8Array): void {
  const c = checkMic(key, fromAcceptor, message, token);
  assert.equal(toHex(c.recomputed), toHex(token), c.note ?? `first difference at byte ${c.firstDifference}`);
}

async function perMessage(i: SecurityContext, a: SecurityContext): Promise<void> {
  const key = i.info.sessionKey!;
  const msg = utf8.encode('per-message tokens through both backends');
  for (const [from, to, fromAcceptor] of [[i, a, false], [a, i, true]] as const) {
    const mic = from.getMIC(msg);
    to.verifyMIC(msg, mic);
    recomputeMic(key, fromAcceptor, msg, mic);
    assert.throws(() => to.verifyMIC(msg, mic), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DUPLICATE_TOKEN', 'a replayed MIC is refused');
    const bad = from.getMIC(msg);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => to.verifyMIC(msg, bad), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_MIC', 'a tampered MIC is refused');
    for (const encrypt of [true, false]) {
      const w = from.wrap(msg, { encrypt });
      const u = to.unwrap(w);
      assert.equal(toHex(u.message), toHex(msg));
      assert.equal(u.encrypted, encrypt);
      if (!encrypt && key.enctype !== 23) {
        // Integrity-only RFC 4121 Wrap is deterministic given the sequence number and RRC.
        const dv = new DataView(w.buffer, w.byteOffset);
        const again = wrapToken({ key: { enctype: key.enctype, keyvalue: key.key }, seqNumber: dv.getBigUint64(8), fromAcceptor, acceptorSubkey: (w[2]! & 0x04) !== 0 }, msg, { encrypt: false, rrc: dv.getUint16(6) });
        assert.equal(toHex(again), toHex(w));
      }
    }
  }
}

for (const lib of LIBS) {
  for (const [ib, ab] of PAIRS) {
    for (const mech of ['kerberos', 'spnego'] as const) {
      test(`${lib}: ${ib} initiator x ${ab} acceptor, ${mech}: same session key, names, MIC and wrap recomputed`, async (t) => {
        if (!(await ready(t, lib))) return;
        const i = initiator(ib, lib, { mech });
        const a = acceptor(ab, lib, { mech });
        const tokens = await handshake(i, a);
        assert.equal(tokens.length, 2, 'AP-REQ, AP-REP');
        assert.equal(i.info.backend, ib);
        assert.equal(a.info.backend, ab);
        assert.equal(a.info.initiatorName, kdcPeer.current!.env.MITKDC_USER);
        assert.equal(i.info.acceptorName, kdcPeer.current!.env.MITKDC_SERVICE);
        assert.ok(i.info.sessionKey && a.info.sessionKey);
        assert.equal(i.info.sessionKey.enctype, 18);
        assert.equal(a.info.sessionKey.enctype, 18);
        assert.equal(toHex(i.info.sessionKey.key), toHex(a.info.sessionKey.key));
        assert.ok(i.info.flags.mutual && a.info.flags.integrity && a.info.flags.confidentiality);
        if (ib === 'native') assert.match(i.info.library!, lib === 'mit' ? /^MIT 1\./ : /^Heimdal /);
        await perMessage(i, a);
        i.dispose();
        a.dispose();
      });
    }

    test(`${lib}: ${ib} initiator x ${ab} acceptor, the seed flow (ms-krb5, krb5, ntlm; MICs both ways), MICs recomputed byte for byte`, async (t) => {
      if (!(await ready(t, lib))) return;
      const i = initiator(ib, lib, { spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } });
      const a = acceptor(ab, lib, { spnego: { mechListMIC: 'always' } });
      const tokens = await handshake(i, a);
      assert.equal(tokens.length, 3, 'NegTokenInit, AP-REP + MIC, initiator MIC');
      const init = decodeNegotiationToken(tokens[0]!);
      assert.equal(init.kind, 'init');
      assert.deepEqual(init.kind === 'init' && init.mechTypes, [MechOid['ms-krb5'], MechOid.krb5, MechOid.ntlm]);
      const r1 = decodeNegotiationToken(tokens[1]!);
      const r2 = decodeNegotiationToken(tokens[2]!);
      assert.ok(r1.kind === 'resp' && r2.kind === 'resp');
      assert.equal(r1.negState, NegState.acceptIncomplete);
      assert.equal(r1.supportedMech, MechOid['ms-krb5'], 'the MS OID is echoed');
      assert.ok(r1.responseToken && r1.mechListMIC, 'AP-REP and the acceptor MIC');
      assert.equal(r2.negState, NegState.acceptCompleted);
      assert.ok(r2.mechListMIC && !r2.responseToken, 'only the initiator MIC');
      const mechTypes = init.kind === 'init' ? init.mechTypesDer : new Uint8Array();
      const key = a.info.sessionKey!;
      assert.equal(toHex(i.info.sessionKey!.key), toHex(key.key));
      recomputeMic(key, true, mechTypes, r1.mechListMIC);
      recomputeMic(key, false, mechTypes, r2.mechListMIC);
      for (const [ctx, sent, received] of [[i, r2.mechListMIC, r1.mechListMIC], [a, r1.mechListMIC, r2.mechListMIC]] as const) {
        assert.equal(toHex(ctx.info.spnego!.mechTypes), toHex(mechTypes));
        assert.equal(toHex(ctx.info.spnego!.micSent!), toHex(sent));
        assert.equal(toHex(ctx.info.spnego!.micReceived!), toHex(received));
      }
      await perMessage(i, a);
    });

    test(`${lib}: ${ib} initiator x ${ab} acceptor, a man in the middle drops ms-krb5 from the list: refused`, async (t) => {
      if (!(await ready(t, lib))) return;
      const i = initiator(ib, lib, { spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } });
      const a = acceptor(ab, lib, { spnego: { mechListMIC: 'always' } });
      const first = await i.step();
      const init = decodeNegotiationToken(first!);
      assert.ok(init.kind === 'init' && init.mechToken);
      // Rebuild the NegTokenInit without ms-krb5: the acceptor signs the edited list, the initiator its own.
      const { encodeNegTokenInit } = await import('../../lib/spnego/codec.js');
      const edited = encodeNegTokenInit({ mechTypes: [MechOid.krb5, MechOid.ntlm], mechToken: init.mechToken }).token;
      const back = await a.step(edited);
      await assert.rejects(i.step(back), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_MIC' || e instanceof GssError && e.major === 'GSS_S_DEFECTIVE_TOKEN');
    });
  }

  test(`${lib}: pure initiator listing ntlm first -> native acceptor with the library's SPNEGO: ${lib === 'mit' ? "MIT's request-mic flow, MICs recomputed" : 'Heimdal picks its NTLM, refused with GSS_S_BAD_MECH'}`, async (t) => {
    if (!(await ready(t, lib))) return;
    const i = initiator('pure', lib, { spnego: { mechs: ['ntlm', 'krb5'] } });
    const a = acceptor('native', lib);
    if (lib === 'heimdal') {
      // Heimdal has an NTLM mechanism and takes the first mech it supports (RFC 4178 4.2.2 allows it).
      const back = await a.step(await i.step());
      await assert.rejects(i.step(back), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_MECH' && /1\.3\.6\.1\.4\.1\.311\.2\.2\.10/.test(e.message));
      return;
    }
    const tokens = await handshake(i, a);
    const resps = tokens.slice(1).map((x) => decodeNegotiationToken(x)).filter((x) => x.kind === 'resp');
    const mics = resps.flatMap((r) => (r.kind === 'resp' && r.mechListMIC ? [r.mechListMIC] : []));
    const init = decodeNegotiationToken(tokens[0]!);
    const mechTypes = init.kind === 'init' ? init.mechTypesDer : new Uint8Array();
    const key = a.info.sessionKey!;
    assert.ok(i.info.spnego?.micReceived && i.info.spnego.micSent, 'both MICs exchanged');
    recomputeMic(key, true, mechTypes, i.info.spnego.micReceived);
    recomputeMic(key, false, mechTypes, i.info.spnego.micSent);
    assert.ok(mics.length >= 1);
    assert.equal(toHex(a.info.spnego!.micReceived!), toHex(i.info.spnego.micSent));
  });
}

test('native credentials: password and client keytab (MIT), password (Heimdal); the context is the same', async (t) => {
  if (!(await ready(t, 'mit'))) return;
  const kinds = [
    ['mit', { principal: kdcPeer.current!.env.MITKDC_USER!, password: kdcPeer.current!.env.MITKDC_PASSWORD! }],
    ['mit', { principal: kdcPeer.current!.env.MITKDC_USER!, keytab: kdcPeer.current!.env.KRB5_CLIENT_KTNAME! }],
    ['heimdal', { principal: kdcPeer.current!.env.MITKDC_USER!, password: kdcPeer.current!.env.MITKDC_PASSWORD! }],
  ] as const;
  for (const [lib, credentials] of kinds) {
    if (!(await needNative(t, lib))) return;
    for (const mech of ['kerberos', 'spnego'] as const) {
      const i = initiator('native', lib, { credentials, mech });
      const a = acceptor('pure', lib, { mech });
      await handshake(i, a);
      assert.equal(a.info.initiatorName, kdcPeer.current!.env.MITKDC_USER, `${lib} ${Object.keys(credentials).join('+')} ${mech}`);
      assert.equal(toHex(i.info.sessionKey!.key), toHex(a.info.sessionKey!.key));
    }
  }
});

test('native typed errors: wrong password, unknown service principal, clock skew, expired credentials, wrong bindings', async (t) => {
  if (!(await ready(t, 'mit'))) return;
  const minorName = (e: unknown) => (e as { minorName?: string }).minorName;
  // Wrong password: the KDC refuses the pre-authentication.
  await assert.rejects(initiator('native', 'mit', { credentials: { principal: kdcPeer.current!.env.MITKDC_USER!, password: 'wrong' } }).step(),
    (e: unknown) => e instanceof GssError && minorName(e) === 'KRB5KDC_ERR_PREAUTH_FAILED' && /MIT/.test(e.message));
  // Unknown service principal: the TGS request fails.
  await assert.rejects(initiator('native', 'mit', { target: `HTTP/nowhere.example.test@${kdcPeer.current!.env.MITKDC_REALM}` }).step(),
    (e: unknown) => e instanceof GssError && minorName(e) === 'KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN');
  // Clock skew: an authenticator ten minutes old, made with the real ticket, reaches the native acceptor.
  const cc = openCcache(kdcPeer.current!.env.KRB5CCNAME!);
  const sp = parsePrincipal(kdcPeer.current!.env.MITKDC_SERVICE!);
  const svc = cc.find({ realm: sp.realm, name: { nameType: sp.nameType, nameString: sp.nameString } })!;
  assert.ok(svc, 'the service ticket is in the ccache');
  const old = new Krb5Initiator({
    client: svc.client, ticket: svc.ticket, sessionKey: svc.key, flags: GssFlags.mutual | GssFlags.integ,
    now: () => new Date(Date.now() - 600_000),
  });
  await assert.rejects(acceptor('native', 'mit', { mech: 'kerberos' }).step(old.step().token),
    (e: unknown) => e instanceof GssError && minorName(e) === 'KRB5KRB_AP_ERR_SKEW' && (e as GssError & { token?: Uint8Array }).token !== undefined);
  // Expired credentials: a copy of the ccache whose tickets all ended an hour ago.
  const expired = join(work, 'expired.ccache');
  const parsed = readCcache(readFileSync(kdcPeer.current!.env.KRB5CCNAME!.replace(/^FILE:/, '')));
  const { encodeCcache } = await import('../../lib/krb5/ccache.js');
  for (const c of parsed.credentials) c.endtime = new Date(Date.now() - 3600_000);
  writeFileSync(expired, encodeCcache(parsed));
  await assert.rejects(initiator('native', 'mit', { credentials: { ccache: `FILE:${expired}` } }).step(),
    (e: unknown) => e instanceof GssError && (e.major === 'GSS_S_CREDENTIALS_EXPIRED' || minorName(e) === 'KRB5KRB_AP_ERR_TKT_EXPIRED'));
  // Channel bindings that differ: GSS_S_BAD_BINDINGS from the native acceptor.
  const i = initiator('pure', 'mit', { mech: 'kerberos', channelBindings: utf8.encode('tls-server-end-point:aaaa') });
  await assert.rejects(acceptor('native', 'mit', { mech: 'kerberos', channelBindings: utf8.encode('tls-server-end-point:bbbb') }).step(await i.step()),
    (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_BINDINGS');
  // Matching bindings pass, native to native.
  const cb = utf8.encode('tls-server-end-point:cccc');
  await handshake(initiator('native', 'mit', { channelBindings: cb }), acceptor('native', 'mit', { channelBindings: cb }));
  // A service key the keytab does not have: a clear message naming the problem.
  const emptyKt = join(work, 'other.keytab');
  copyFileSync(kdcPeer.current!.env.MITKDC_KEYTAB!, emptyKt);
  writeFileSync(emptyKt, Uint8Array.of(5, 2));
  await assert.rejects(acceptor('native', 'mit', { keytab: emptyKt }).step(await initiator('pure', 'mit').step()),
    (e: unknown) => e instanceof GssError && e.major !== undefined && /MIT/.test(e.message));
});

test('native step() runs off the event loop: timers fire while the KDC is slow, and a second step() is refused', async (t) => {
  if (!(await ready(t, 'mit'))) return;
  // A TCP relay on loopback that holds every KDC request for 1.5 s before passing it on.
  const [kdcHost, kdcPort] = [kdcPeer.current!.env.MITKDC_KDC_ADDR!, Number(kdcPeer.current!.env.MITKDC_KDC_PORT)];
  const sockets = new Set<Socket>();
  const relay: Server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(kdcPort, kdcHost);
    sockets.add(upstream);
    client.on('data', (d) => setTimeout(() => upstream.write(d), 1500));
    upstream.on('data', (d) => client.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as { port: number }).port;
  const conf = join(work, 'slow-krb5.conf');
  writeFileSync(conf, readFileSync(kdcPeer.current!.env.KRB5_CONFIG!, 'utf8').replace(new RegExp(`${kdcHost}:${kdcPort}`, 'g'), `127.0.0.1:${port}`));
  const restore = useEnv({ KRB5_CONFIG: conf });
  try {
    const i = initiator('native', 'mit', { credentials: { principal: kdcPeer.current!.env.MITKDC_USER!, password: kdcPeer.current!.env.MITKDC_PASSWORD! } });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const running = i.step();
    await assert.rejects(i.step(), (e: unknown) => e instanceof UsageError && /still running/.test(e.message));
    const tok = await running;
    clearInterval(timer);
    assert.ok(tok && tok.length > 0);
    // The step spent >= 1.5 s waiting for the KDC (AS and TGS exchanges); a blocked loop would tick ~0 times.
    assert.ok(ticks >= 50, `the event loop kept running (${ticks} ticks)`);
  } finally {
    restore();
    for (const s of sockets) s.destroy();
    relay.close();
  }
});

test('native delegation: the acceptor stores the forwarded TGT in the ccache it was given (native and pure acceptors)', async (t) => {
  if (!(await ready(t, 'mit'))) return;
  for (const ab of ['native', 'pure'] as const) {
    const out = join(work, `delegated-${ab}.ccache`);
    const i = initiator('native', 'mit', { flags: { delegate: true } });
    const a = acceptor(ab, 'mit', { delegatedCcache: `FILE:${out}` });
    await handshake(i, a);
    assert.ok(a.info.flags.delegate, `${ab}: delegation flag granted`);
    assert.ok(existsSync(out), `${ab}: ccache written`);
    const cc = readCcache(readFileSync(out));
    assert.ok(cc.credentials.some((c) => c.server.name.nameString[0] === 'krbtgt'), `${ab}: a TGT was delegated`);
  }
});
