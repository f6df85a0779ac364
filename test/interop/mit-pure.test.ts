// The pure backend face to face with MIT's libgssapi (python3-gssapi) and MIT's KDC, in both roles,
// for SPNEGO and raw Kerberos, aes-sha1 / aes-sha2 / rc4. Every MIC and integrity-only Wrap token
// that crosses is recomputed by the other implementation and the bytes compared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { needPeer, startPeer, type RunningPeer } from '../peers/harness.js';
import { GssPeer, PY_GSSAPI } from '../peers/gss-peer.js';
import { createPureInitiator, createPureAcceptor } from '../../lib/pure/index.js';
import type { SecurityContext } from '../../lib/context.js';
import { readMicHeader } from '../../lib/krb5/gss/mic.js';
import { checkMic } from '../../lib/cli/pairings.js';
import { wrapToken } from '../../lib/krb5/gss/wrap.js';
import { decodeNegotiationToken, NegState } from '../../lib/spnego/codec.js';
import { MechOid } from '../../lib/spnego/oids.js';
import { fromHex, toHex, utf8 } from '../../lib/util/bytes.js';
import { GssError, KerberosError } from '../../lib/errors.js';

let kdc: RunningPeer | undefined;
before(() => {
  try {
    kdc = startPeer('mit-kdc');
  } catch (e) {
    if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw e;
  }
});
after(() => kdc?.stop());
const ready = (t: import('node:test').TestContext) => needPeer(t, 'mit-kdc', [PY_GSSAPI]) && kdc !== undefined;

/** Our initiator against MIT's acceptor; returns both sides and the tokens that crossed. */
async function ourInitiatorMitAcceptor(o: { mech: 'spnego' | 'kerberos'; mechs?: string[]; target?: string; env?: Record<string, string>; ccache?: string }) {
  const env = { ...kdc!.env, ...o.env };
  const mit = new GssPeer('acceptor', env, { mech: o.mech === 'kerberos' ? 'krb5' : 'spnego' });
  const ours = createPureInitiator({
    target: o.target ?? kdc!.env.MITKDC_SERVICE_HOSTBASED!, mech: o.mech, krb5Config: env.KRB5_CONFIG,
    credentials: { ccache: o.ccache ?? env.KRB5CCNAME! }, spnego: { mechs: o.mechs }, allowWeakCrypto: true,
  });
  const tokens: { dir: string; tok: Uint8Array }[] = [];
  let info;
  let tok = await ours.step();
  while (tok) {
    tokens.push({ dir: 'i->a', tok });
    const r = await mit.step(tok);
    info = r.info.complete ? r.info : info;
    if (!r.token) break;
    tokens.push({ dir: 'a->i', tok: r.token });
    tok = await ours.step(r.token);
  }
  assert.ok(ours.complete, 'our initiator completes');
  assert.ok(info?.complete, 'MIT acceptor completes');
  return { ours, mit, info: info!, tokens };
}

/** Per-message tokens both ways, with byte recomputation of MIT's MIC and integrity-only wrap. */
async function perMessage(ours: SecurityContext, mit: GssPeer, oursIsInitiator: boolean) {
  const key = { enctype: ours.info.sessionKey!.enctype, keyvalue: ours.info.sessionKey!.key };
  const msg = utf8.encode('per-message token, both ways');
  const m1 = ours.getMIC(msg);
  assert.deepEqual(await mit.verifyMic(msg, m1), { ok: true });
  const m2 = await mit.getMic(msg);
  ours.verifyMIC(msg, m2);
  // Recompute MIT's MIC token from the key and its header (read without verifying), compare bytes.
  const fromAcceptor = oursIsInitiator;
  const c = checkMic(key, fromAcceptor, msg, m2);
  assert.equal(toHex(c.recomputed), toHex(m2), c.note ?? `first difference at byte ${c.firstDifference}`);
  for (const conf of [true, false]) {
    const w = ours.wrap(msg, { encrypt: conf });
    const u = await mit.unwrap(w);
    assert.equal(u.error, undefined, String(u.error));
    assert.equal(u.msg, toHex(msg));
    assert.equal(u.conf, conf);
    const w2 = await mit.wrap(msg, conf);
    const back = ours.unwrap(w2);
    assert.deepEqual([toHex(back.message), back.encrypted], [toHex(msg), conf]);
    if (!conf && key.enctype !== 23) {
      // RFC 4121 integrity-only Wrap is deterministic: our bytes for MIT's sequence number must equal MIT's.
      const s = new DataView(w2.buffer, w2.byteOffset + 8, 8).getBigUint64(0);
      assert.equal(toHex(wrapToken({ key, seqNumber: s, fromAcceptor, acceptorSubkey: (w2[2]! & 0x04) !== 0 }, msg, { encrypt: false, rrc: new DataView(w2.buffer, w2.byteOffset + 6, 2).getUint16(0) })), toHex(w2));
    }
  }
  // A replayed MIT token is refused by us.
  assert.throws(() => ours.verifyMIC(msg, m2), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DUPLICATE_TOKEN');
}

for (const mech of ['spnego', 'kerberos'] as const) {
  test(`pure initiator -> MIT acceptor (${mech}, aes256-sha1): complete, same session key, per-message tokens both ways`, async (t) => {
    if (!ready(t)) return;
    const { ours, mit, info } = await ourInitiatorMitAcceptor({ mech });
    try {
      assert.equal(toHex(ours.info.sessionKey!.key), info.session_key);
      assert.equal(ours.info.sessionKey!.enctype, 18);
      assert.equal(info.initiator, kdc!.env.MITKDC_USER);
      await perMessage(ours, mit, true);
    } finally {
      mit.close();
    }
  });
}

test('pure SPNEGO initiator listing ntlm first -> MIT acceptor: request-mic flow, both mechListMICs recomputed byte for byte', async (t) => {
  if (!ready(t)) return;
  const { ours, mit, info, tokens } = await ourInitiatorMitAcceptor({ mech: 'spnego', mechs: ['ntlm', 'krb5'] });
  try {
    const key = { enctype: info.enctype!, keyvalue: fromHex(info.session_key!) };
    const sp = ours.info.spnego!;
    assert.ok(sp.micSent && sp.micReceived, 'MICs exchanged');
    const first = decodeNegotiationToken(tokens[1]!.tok);
    assert.ok(first.kind === 'resp' && first.negState === NegState.requestMic && first.supportedMech === MechOid.krb5);
    for (const [mic, fromAcceptor] of [[sp.micReceived!, true], [sp.micSent!, false]] as const) {
      const c = checkMic(key, fromAcceptor, sp.mechTypes, mic);
      assert.equal(toHex(c.recomputed), toHex(mic), c.note ?? `first difference at byte ${c.firstDifference}`);
      if (key.enctype !== 23) assert.equal(readMicHeader(mic, key).acceptorSubkey, true, 'MIT signs with the acceptor subkey');
    }
    await perMessage(ours, mit, true);
  } finally {
    mit.close();
  }
});

for (const [label, cfg, cc, spn, enctype] of [
  ['aes-sha2', 'MITKDC_KRB5_CONFIG_SHA2_ONLY', 'MITKDC_CCACHE_SHA2', 'MITKDC_SERVICE_SHA2', 20],
  ['rc4', 'MITKDC_KRB5_CONFIG_RC4_ONLY', 'MITKDC_CCACHE_RC4', 'MITKDC_SERVICE_RC4', 23],
] as const) {
  test(`pure initiator -> MIT acceptor, ${label} keys, SPNEGO with MICs`, async (t) => {
    if (!ready(t)) return;
    const { ours, mit, info } = await ourInitiatorMitAcceptor({
      mech: 'spnego', mechs: ['ntlm', 'krb5'], target: kdc!.env[spn]!, env: { KRB5_CONFIG: kdc!.env[cfg]! }, ccache: kdc!.env[cc]!,
    });
    try {
      assert.equal(info.enctype, enctype);
      assert.equal(ours.info.sessionKey!.enctype, enctype);
      await perMessage(ours, mit, true);
    } finally {
      mit.close();
    }
  });
}

/** MIT's initiator against our acceptor. */
async function mitInitiatorOurAcceptor(o: { mech: 'spnego' | 'kerberos'; policy?: 'rfc4178' | 'always'; cb?: Uint8Array; ourCb?: Uint8Array; flags?: string }) {
  const mit = new GssPeer('initiator', kdc!.env, { mech: o.mech === 'kerberos' ? 'krb5' : 'spnego', target: kdc!.env.MITKDC_SERVICE_HOSTBASED!, cb: o.cb, flags: o.flags });
  const ours = createPureAcceptor({ keytab: kdc!.env.KRB5_KTNAME!, mech: o.mech, krb5Config: kdc!.env.KRB5_CONFIG, spnego: { mechListMIC: o.policy }, channelBindings: o.ourCb });
  const tokens: { dir: string; tok: Uint8Array }[] = [];
  let r = await mit.step();
  let info = r.info;
  try {
    while (r.token) {
      tokens.push({ dir: 'i->a', tok: r.token });
      const back = await ours.step(r.token);
      if (!back) break;
      tokens.push({ dir: 'a->i', tok: back });
      r = await mit.step(back);
      info = r.info;
      if (info.complete && !r.token) break;
    }
  } catch (e) {
    mit.close();
    throw e;
  }
  return { ours, mit, info, tokens };
}

test('MIT initiator -> pure acceptor, SPNEGO, Windows policy: AP-REP + MIC accept-incomplete, MIT answers with its MIC', async (t) => {
  if (!ready(t)) return;
  const { ours, mit, info, tokens } = await mitInitiatorOurAcceptor({ mech: 'spnego', policy: 'always' });
  try {
    assert.ok(ours.complete && info.complete);
    assert.equal(tokens.length, 3);
    const t2 = decodeNegotiationToken(tokens[1]!.tok);
    assert.ok(t2.kind === 'resp' && t2.negState === NegState.acceptIncomplete && t2.mechListMIC);
    const t3 = decodeNegotiationToken(tokens[2]!.tok);
    assert.ok(t3.kind === 'resp' && t3.mechListMIC, 'MIT sent its mechListMIC');
    assert.equal(toHex(ours.info.sessionKey!.key), info.session_key);
    assert.equal(ours.info.initiatorName, kdc!.env.MITKDC_USER);
    await perMessage(ours, mit, false);
  } finally {
    mit.close();
  }
});

test('MIT initiator -> pure acceptor, raw Kerberos, and channel bindings (equal: ok; different: GSS_S_BAD_BINDINGS)', async (t) => {
  if (!ready(t)) return;
  const cb = utf8.encode('tls-server-end-point:0123');
  const ok = await mitInitiatorOurAcceptor({ mech: 'kerberos', cb, ourCb: cb });
  try {
    assert.ok(ok.ours.complete && ok.info.complete);
    await perMessage(ok.ours, ok.mit, false);
  } finally {
    ok.mit.close();
  }
  await assert.rejects(mitInitiatorOurAcceptor({ mech: 'kerberos', cb: utf8.encode('other'), ourCb: cb }), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_BINDINGS');
});

test('misconfiguration gives typed, readable errors: unknown SPN, missing keytab entry', async (t) => {
  if (!ready(t)) return;
  const bad = createPureInitiator({ target: 'HTTP@nowhere.example.test', krb5Config: kdc!.env.KRB5_CONFIG, credentials: { ccache: kdc!.env.KRB5CCNAME! } });
  await assert.rejects(bad.step(), (e: unknown) => e instanceof KerberosError && e.errorName === 'KDC_ERR_S_PRINCIPAL_UNKNOWN' && /HTTP\/nowhere.example.test/.test(e.message));
  // An acceptor limited to a principal the ticket is not for.
  const mit = new GssPeer('initiator', kdc!.env, { mech: 'krb5', target: kdc!.env.MITKDC_SERVICE_HOSTBASED! });
  try {
    const acc = createPureAcceptor({ keytab: kdc!.env.KRB5_KTNAME!, mech: 'kerberos', krb5Config: kdc!.env.KRB5_CONFIG, principal: kdc!.env.MITKDC_SERVICE_SHA2! });
    const { token } = await mit.step();
    await assert.rejects(acc.step(token!), (e: unknown) => e instanceof KerberosError && e.errorName === 'KRB_AP_ERR_NOT_US');
  } finally {
    mit.close();
  }
});
