// The pure SPNEGO negotiation, initiator against acceptor in process (tickets made by hand), in every
// mechListMIC flow of RFC 4178 section 5, and against a man in the middle that edits the mechanism list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpnegoAcceptor, SpnegoInitiator } from '../../lib/spnego/negotiator.js';
import { Krb5AcceptorMech, Krb5InitiatorMech } from '../../lib/pure/krb5-mech.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { readMicHeader } from '../../lib/krb5/gss/mic.js';
import { checkMic } from '../../lib/cli/pairings.js';
import { toHex } from '../../lib/util/bytes.js';
import { decodeNegotiationToken, encodeNegTokenInit, NegState } from '../../lib/spnego/codec.js';
import { MechOid } from '../../lib/spnego/oids.js';
import { GssError } from '../../lib/errors.js';
import { client, makeServiceTicket } from '../krb5/ticket-fixture.js';

const FLAGS = GssFlags.mutual | GssFlags.replay | GssFlags.sequence | GssFlags.conf | GssFlags.integ;

function setup(o: { enctype?: number; flags?: number; mechs?: string[]; policy?: 'rfc4178' | 'always'; acceptorMechs?: string[] } = {}) {
  const serviceKey = generateKey(o.enctype ?? 18, { allowWeak: true });
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey });
  const im = new Krb5InitiatorMech(async () => ({ client, ticket, sessionKey, flags: o.flags ?? FLAGS, allowWeak: true }));
  const am = new Krb5AcceptorMech({ keyFor: () => serviceKey, replayCache: new MemoryReplayCache(), allowWeak: true });
  return {
    im, am,
    init: new SpnegoInitiator(im, { mechs: o.mechs }),
    acc: new SpnegoAcceptor(am, { mechListMIC: o.policy, mechs: o.acceptorMechs }),
  };
}

/** Runs the exchange to the end; returns every token that crossed, with its direction. */
async function run(init: SpnegoInitiator, acc: SpnegoAcceptor, tamper?: (dir: string, tok: Uint8Array, n: number) => Uint8Array) {
  const log: { dir: string; tok: Uint8Array }[] = [];
  let n = 0;
  let tok: Uint8Array | undefined = await init.step();
  while (tok) {
    if (tamper) tok = tamper('i->a', tok, n++);
    log.push({ dir: 'i->a', tok });
    const back: Uint8Array | undefined = await acc.step(tok);
    if (!back) break;
    log.push({ dir: 'a->i', tok: back });
    tok = await init.step(tamper ? tamper('a->i', back, n++) : back);
  }
  return log;
}

test('seed flow, Windows policy: MS-KRB5 chosen, AP-REP + MIC with accept-incomplete, client MIC with accept-completed', async () => {
  const { init, acc, im, am } = setup({ mechs: ['ms-krb5', 'krb5', 'ntlm'], policy: 'always' });
  const log = await run(init, acc);
  assert.equal(log.length, 3);
  const [t1, t2, t3] = log.map((l) => decodeNegotiationToken(l.tok));
  assert.equal(t1!.kind, 'init');
  assert.equal(t1!.framed, true);
  assert.deepEqual((t1 as { mechTypes: string[] }).mechTypes, [MechOid['ms-krb5'], MechOid.krb5, MechOid.ntlm]);
  assert.ok(t2!.kind === 'resp' && t2!.negState === NegState.acceptIncomplete && t2!.supportedMech === MechOid['ms-krb5'] && t2!.responseToken && t2!.mechListMIC);
  assert.ok(t3!.kind === 'resp' && t3!.negState === NegState.acceptCompleted && !t3!.responseToken && t3!.mechListMIC);
  assert.ok(init.complete && acc.complete);
  // The MICs are RFC 4121 tokens over the exact MechTypeList DER, recomputable from the key.
  const key = im.session!.key;
  const der = init.state.mechTypesDer;
  assert.deepEqual(acc.state!.mechTypesDer, der);
  for (const [mic, fromAcceptor] of [[t2!.mechListMIC!, true], [t3!.mechListMIC!, false]] as const) {
    const c = checkMic(key, fromAcceptor, der, mic);
    assert.equal(toHex(c.recomputed), toHex(mic), `first difference at byte ${c.firstDifference}`);
    assert.equal(readMicHeader(mic, key).acceptorSubkey, true, 'the acceptor subkey (RFC 4121 4.2.2 AcceptorSubkey)');
  }
  assert.deepEqual(init.state.micSent, acc.state!.micReceived);
  assert.deepEqual(init.state.micReceived, acc.state!.micSent);
  // Sequence numbers were consumed by the MICs, as MIT does: application tokens still verify.
  const m = new TextEncoder().encode('app');
  am.session!.verifyMIC(m, im.session!.getMIC(m));
});

test('RFC 4178 policy (MIT, IIS): first choice taken, one round trip, no MIC', async () => {
  const { init, acc } = setup();
  const log = await run(init, acc);
  assert.equal(log.length, 2);
  const t2 = decodeNegotiationToken(log[1]!.tok);
  assert.ok(t2.kind === 'resp' && t2.negState === NegState.acceptCompleted && !t2.mechListMIC);
  assert.ok(init.complete && acc.complete);
  assert.equal(init.state.micSent, undefined);
});

test('krb5 not first (ntlm, krb5): request-mic, then AP-REQ, AP-REP + MIC, client MIC', async () => {
  const { init, acc } = setup({ mechs: ['ntlm', 'krb5'] });
  const log = await run(init, acc);
  const toks = log.map((l) => decodeNegotiationToken(l.tok));
  assert.ok(toks[0]!.kind === 'init' && !toks[0]!.mechToken, 'no optimistic token for ntlm');
  assert.ok(toks[1]!.kind === 'resp' && toks[1]!.negState === NegState.requestMic && toks[1]!.supportedMech === MechOid.krb5);
  assert.ok(init.complete && acc.complete);
  assert.ok(init.state.micSent && init.state.micReceived);
});

test('no mutual authentication (odd tokens) with a MIC required: the initiator sends MIC with its token', async () => {
  const { init, acc } = setup({ mechs: ['ntlm', 'krb5'], flags: GssFlags.integ | GssFlags.conf });
  await run(init, acc);
  assert.ok(init.complete && acc.complete);
  assert.ok(init.state.micSent && acc.state!.micReceived && acc.state!.micSent && init.state.micReceived);
});

for (const enctype of [17, 18, 19, 20, 23]) {
  test(`the mechListMIC cross-check can say no (enctype ${enctype}): every checksum byte flipped is found at its index, header edits too`, async () => {
    // request-mic flow (krb5 not first): a MIC each way for every enctype, rc4 included
    const { init, acc, im } = setup({ enctype, mechs: ['ntlm', 'krb5'] });
    await run(init, acc);
    assert.ok(init.complete && acc.complete);
    const key = im.session!.key;
    const der = init.state.mechTypesDer;
    for (const [mic, fromAcceptor] of [[init.state.micReceived!, true], [init.state.micSent!, false]] as const) {
      const good = checkMic(key, fromAcceptor, der, mic);
      assert.equal(toHex(good.recomputed), toHex(mic));
      assert.deepEqual([good.equal, good.firstDifference], [true, -1]);
      // the other direction's key usage and flag: not this token
      assert.equal(checkMic(key, !fromAcceptor, der, mic).equal, false);
      // RFC 4121: 16-byte header then SGN_CKSUM; RFC 4757: framing (13 bytes), 8-byte header, SND_SEQ, SGN_CKSUM (last 8)
      const cksumStart = enctype === 23 ? mic.length - 8 : 16;
      const seqStart = enctype === 23 ? mic.length - 16 : 8;
      for (let n = 0; n < mic.length; n++) {
        const bad = Uint8Array.from(mic);
        bad[n]! ^= 0x01;
        const c = checkMic(key, fromAcceptor, der, bad);
        if (enctype === 23 && n >= seqStart && n < seqStart + 4) {
          // RFC 4757 7.2: the sequence number is encrypted but covered by no checksum, so any 4 bytes
          // there decrypt to some sequence number (verifyMic accepts them too; the context's
          // sequence checks are what catch it). The direction bytes after it are checked.
          assert.equal(c.equal, true, `byte ${n}`);
          continue;
        }
        assert.equal(c.equal, false, `byte ${n} flipped must not match`);
        if (n >= cksumStart) {
          assert.equal(c.firstDifference, n, `a flipped checksum byte ${n} is pointed at`);
          assert.equal(c.recomputed.length, mic.length);
          assert.equal(c.recomputed[n], mic[n], 'the recomputation is the original checksum byte');
        } else if (enctype !== 23 && n >= seqStart) {
          // the flipped SND_SEQ is read as such and recomputed into the header: the checksum differs
          assert.ok(c.firstDifference >= cksumStart, `seq byte ${n}: first difference ${c.firstDifference}`);
        }
      }
    }
  });
}

test('rc4: the Windows policy keeps the RFC rule (MS-SPNG <7>), no MIC when the first choice is taken', async () => {
  const { init, acc } = setup({ enctype: 23, policy: 'always' });
  const log = await run(init, acc);
  assert.equal(log.length, 2);
  assert.ok(init.complete && acc.complete);
});

for (const edit of ['drop', 'reorder', 'replace'] as const) {
  test(`a man in the middle who edits the mech list (${edit}) is caught by the MIC`, async () => {
    const { init, acc } = setup({ mechs: ['ms-krb5', 'krb5', 'ntlm'], policy: 'always' });
    const tamper = (dir: string, tok: Uint8Array, n: number) => {
      if (n !== 0) return tok;
      const t = decodeNegotiationToken(tok);
      assert.equal(t.kind, 'init');
      const list = (t as { mechTypes: string[] }).mechTypes;
      const edited = edit === 'drop' ? list.slice(0, 2) : edit === 'reorder' ? [list[0]!, list[2]!, list[1]!] : [list[0]!, list[1]!, '1.2.3.4'];
      return encodeNegTokenInit({ mechTypes: edited, mechToken: (t as { mechToken?: Uint8Array }).mechToken }).token;
    };
    await assert.rejects(run(init, acc, tamper), (e: unknown) => e instanceof GssError && /mechListMIC does not verify/.test(e.message));
    assert.equal(init.complete, false);
  });
}

test('a tampered acceptor MIC fails the initiator; a tampered initiator MIC fails the acceptor', async () => {
  for (const which of [1, 2]) {
    const { init, acc } = setup({ policy: 'always' });
    const tamper = (_dir: string, tok: Uint8Array, n: number) => {
      if (n !== which) return tok;
      const bad = tok.slice();
      bad[bad.length - 1]! ^= 0x80; // last byte: inside the mechListMIC checksum
      return bad;
    };
    await assert.rejects(run(init, acc, tamper), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DEFECTIVE_TOKEN');
  }
});

test('an acceptor that completes without the required MIC is refused (downgrade)', async () => {
  const { init, acc } = setup({ mechs: ['ntlm', 'krb5'] });
  const t1 = await init.step();
  const t2 = await acc.step(t1);
  const t3 = await init.step(t2);
  const t4 = await acc.step(t3);
  // Strip the MIC and claim completion.
  const r = decodeNegotiationToken(t4!);
  assert.ok(r.kind === 'resp');
  const { encodeNegTokenResp } = await import('../../lib/spnego/codec.js');
  const stripped = encodeNegTokenResp({ negState: NegState.acceptCompleted, responseToken: r.responseToken });
  await assert.rejects(init.step(stripped), (e: unknown) => e instanceof GssError && /downgrade/.test(e.message));
});

test('a replayed final token is rejected by the acceptor', async () => {
  const { init, acc } = setup({ policy: 'always' });
  const log = await run(init, acc);
  await assert.rejects(acc.step(log[2]!.tok), (e: unknown) => e instanceof GssError);
});

test('Windows 2000 quirk: a mechListMIC byte-equal to the responseToken is ignored', async () => {
  const { init, acc } = setup();
  const t1 = await init.step();
  const t2 = decodeNegotiationToken((await acc.step(t1))!);
  assert.ok(t2.kind === 'resp');
  const { encodeNegTokenResp } = await import('../../lib/spnego/codec.js');
  const dup = encodeNegTokenResp({ negState: NegState.acceptCompleted, supportedMech: t2.supportedMech, responseToken: t2.responseToken, mechListMIC: t2.responseToken });
  assert.equal(await init.step(dup), undefined);
  assert.ok(init.complete);
});

test('no mechanism in common: GSS_S_BAD_MECH', async () => {
  const { acc } = setup();
  const { token } = encodeNegTokenInit({ mechTypes: ['ntlm'] });
  await assert.rejects(acc.step(token), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_MECH');
});

test('server first (MS-SPNG 3.2.5.2): the acceptor opens with a NegTokenInit2 + negHints; the MIC still covers the initiator list', async () => {
  const { init, acc } = setup({ mechs: ['ms-krb5', 'krb5', 'ntlm'], policy: 'always' });
  const hello = await acc.step();
  const t0 = decodeNegotiationToken(hello!);
  assert.equal(t0.kind, 'init2');
  assert.ok(t0.kind === 'init2');
  assert.deepEqual(t0.mechTypes, [MechOid['ms-krb5'], MechOid.krb5]);
  assert.equal(t0.negHints?.hintName, 'not_defined_in_RFC4178@please_ignore');
  const first = await init.step(hello);
  const t1 = decodeNegotiationToken(first!);
  assert.equal(t1.kind, 'init');
  let back = await acc.step(first);
  const t2 = decodeNegotiationToken(back!);
  assert.ok(t2.kind === 'resp' && t2.mechListMIC);
  back = await init.step(back);
  await acc.step(back);
  assert.ok(init.complete && acc.complete);
  assert.deepEqual(acc.state!.mechTypesDer, init.state.mechTypesDer, 'the MIC covers the initiator NegTokenInit list');
  // A server that offers no Kerberos mechanism is refused by the initiator with the OIDs named.
  const { init: i2 } = setup();
  const { encodeNegTokenInit2 } = await import('../../lib/spnego/codec.js');
  await assert.rejects(i2.step(encodeNegTokenInit2({ mechTypes: [MechOid.ntlm] }).token), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_MECH' && /1\.3\.6\.1\.4\.1\.311\.2\.2\.10/.test(e.message));
});

// Samba's gensec repeats supportedMech in its later NegTokenResps after a counter-proposal (seen
// against smbd 4.17, test/smb2/samba-smb.test.ts): the same OID again is tolerated, another is refused.
for (const [what, repeat, ok] of [['the same supportedMech repeated (Samba)', 'same', true], ['a different supportedMech in a later reply', 'other', false]] as const) {
  test(`counter-proposal flow: ${what} ${ok ? 'completes' : 'is GSS_S_DEFECTIVE_TOKEN'}`, async () => {
    const { encodeNegTokenResp } = await import('../../lib/spnego/codec.js');
    const { init, acc } = setup({ mechs: ['ntlm', 'krb5'] });
    let chosen: string | undefined;
    let replies = 0;
    const run2 = run(init, acc, (dir, tok) => {
      if (dir !== 'a->i') return tok;
      const t = decodeNegotiationToken(tok);
      assert.ok(t.kind === 'resp');
      if (replies++ === 0) {
        chosen = t.supportedMech;
        return tok;
      }
      const mech = repeat === 'same' ? chosen : chosen === MechOid.krb5 ? MechOid['ms-krb5'] : MechOid.krb5;
      return encodeNegTokenResp({ negState: t.negState, supportedMech: mech, responseToken: t.responseToken, mechListMIC: t.mechListMIC });
    });
    if (ok) {
      await run2;
      assert.ok(init.complete && acc.complete);
      assert.ok(replies >= 2, 'the flow had a second acceptor reply to carry the repeat');
    } else {
      await assert.rejects(run2, (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DEFECTIVE_TOKEN' && /switched supportedMech/.test(e.message));
    }
  });
}
