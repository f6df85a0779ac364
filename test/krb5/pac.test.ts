// MS-PAC: the embedded KDC's signed PACs decoded, verified and refused when touched; MIT's acceptor
// (through the native backend) verifies the PACs our KDC signs and we decode the same SIDs; MIT's
// KDC's PACs verify with our code (test/interop); Samba AD's in test/interop/samba-ad.test.ts; fuzzed decoding
// gives only typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePac, encodeLogonInfo, encodePac, FILETIME_NEVER, PacBufferType, pacInfo, parseSid, SE_GROUP_DEFAULT, signPac, verifyPac, type KerbValidationInfo } from '../../lib/krb5/pac/index.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { DecodeError, GssError, KerberosError, SpnegoError } from '../../lib/errors.js';
import { AuthorizationDataType, ErrorCode } from '../../lib/krb5/constants.js';
import { encodeAdIfRelevant } from '../../lib/krb5/asn1/authdata.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { utf8 } from '../../lib/util/bytes.js';
import { startKdc } from '../../lib/kdc/index.js';
import { pacAuthorizationData } from '../../lib/kdc/pac.js';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import { createPureAcceptor } from '../../lib/pure/index.js';
import { exchange } from '../../lib/cli/pairings.js';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';
import { needNative, useEnv } from '../peers/harness.js';

const authtime = new Date('2026-11-25T10:00:00Z');
const logonInfo: KerbValidationInfo = {
  logonTime: 0n, logoffTime: FILETIME_NEVER, kickOffTime: FILETIME_NEVER, passwordLastSet: 0n, passwordCanChange: 0n, passwordMustChange: FILETIME_NEVER,
  effectiveName: 'alice', fullName: 'Alice Liddell', logonScript: '', profilePath: '', homeDirectory: '', homeDirectoryDrive: '',
  logonCount: 7, badPasswordCount: 0, userId: 1105, primaryGroupId: 513,
  groupIds: [513, 512, 1120].map((relativeId) => ({ relativeId, attributes: SE_GROUP_DEFAULT })),
  userFlags: 0x20, userSessionKey: new Uint8Array(16), logonServer: 'DC1', logonDomainName: 'EXAMPLE', logonDomainId: parseSid('S-1-5-21-1004336348-1177238915-682003330'),
  userAccountControl: 0x10, subAuthStatus: 0, lastSuccessfulILogon: 0n, lastFailedILogon: 0n, failedILogonCount: 0,
  extraSids: [{ sid: parseSid('S-1-18-1'), attributes: SE_GROUP_DEFAULT }, { sid: parseSid('S-1-5-21-9-9-9-777'), attributes: SE_GROUP_DEFAULT }],
  resourceGroupDomainSid: parseSid('S-1-5-21-5-6-7'), resourceGroupIds: [{ relativeId: 4000, attributes: SE_GROUP_DEFAULT }],
};

for (const enctype of [17, 18, 19, 20, 23]) {
  test(`encode, decode and verify a PAC signed with enctype ${enctype}; any change is refused`, () => {
    const serviceKey = generateKey(enctype, { allowWeak: true });
    const kdcKey = generateKey(18);
    const bytes = encodePac({ logonInfo, clientName: 'alice', authtime, upn: 'alice@example.test', dnsDomainName: 'example.test' }, serviceKey, kdcKey);
    const pac = decodePac(bytes);
    assert.deepEqual(pac.logonInfo, logonInfo);
    assert.equal(pac.clientInfo?.name, 'alice');
    assert.equal(pac.upnDnsInfo?.upn, 'alice@example.test');
    verifyPac(pac, serviceKey, { clientName: 'alice@EXAMPLE.TEST', authtime });
    assert.deepEqual(pacInfo(pac), {
      userSid: 'S-1-5-21-1004336348-1177238915-682003330-1105',
      groupSids: ['S-1-5-21-1004336348-1177238915-682003330-513', 'S-1-5-21-1004336348-1177238915-682003330-512', 'S-1-5-21-1004336348-1177238915-682003330-1120', 'S-1-18-1', 'S-1-5-21-9-9-9-777', 'S-1-5-21-5-6-7-4000'],
      logonName: 'alice', domainName: 'EXAMPLE', upn: 'alice@example.test',
    });
    const modified = (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_MODIFIED;
    // One group RID changed inside LOGON_INFO: the server signature no longer verifies.
    const logon = pac.buffers.find((b) => b.type === PacBufferType.LOGON_INFO)!;
    const touched = bytes.slice();
    touched[logon.offset + logon.data.length - 8]! ^= 0x01;
    assert.throws(() => verifyPac(decodePac(touched), serviceKey, { clientName: 'alice', authtime }), modified);
    assert.throws(() => verifyPac(pac, generateKey(enctype, { allowWeak: true }), { clientName: 'alice', authtime }), modified, 'another service key');
    assert.throws(() => verifyPac(pac, serviceKey, { clientName: 'mallory', authtime }), modified, 'PAC of another client');
    assert.throws(() => verifyPac(pac, serviceKey, { clientName: 'alice', authtime: new Date(authtime.getTime() + 1000) }), modified, 'PAC of another ticket');
  });
}

test('malformed PACs give DecodeError naming the field, never a crash', () => {
  const bytes = encodePac({ logonInfo, clientName: 'alice', authtime }, generateKey(18), generateKey(18));
  assert.throws(() => decodePac(bytes.subarray(0, 7)), (e: unknown) => e instanceof DecodeError && /PACTYPE/.test(e.message));
  const many = bytes.slice();
  new DataView(many.buffer).setUint32(0, 0xffff, true);
  assert.throws(() => decodePac(many), (e: unknown) => e instanceof DecodeError && /cBuffers/.test(e.message));
  const far = bytes.slice();
  new DataView(far.buffer).setUint32(16, 0x7ffffff8, true);
  assert.throws(() => decodePac(far), (e: unknown) => e instanceof DecodeError && /outside the PAC/.test(e.message));
  const li = decodePac(bytes).buffers[0]!;
  const count = bytes.slice();
  // GroupCount (fixed part: headers 16 + pointer 4 + 6 FILETIMEs 48 + 6 strings 48 + 2 USHORTs 4 + UserId, PrimaryGroupId = 128)
  new DataView(count.buffer).setUint32(li.offset + 128, 100000, true);
  assert.throws(() => decodePac(count), (e: unknown) => e instanceof DecodeError && /KERB_VALIDATION_INFO/.test(e.message));
});

test('fuzz: decodePac and pacInfo on mutated PACs give only typed errors', () => {
  const seeds = [17, 18, 23].map((e) => encodePac({ logonInfo, clientName: 'alice', authtime, upn: 'a@b' }, generateKey(e, { allowWeak: true }), generateKey(18)));
  const r = fuzzDecoder(seeds, (b) => void pacInfo(decodePac(b)), FUZZ_RUNS);
  assert.ok(r.accepted > 0 && r.rejected > 0, JSON.stringify(r));
});

test('embedded KDC PACs: MIT\'s acceptor (native) verifies the signatures and both backends decode the same SIDs; a touched PAC is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-pac-'));
  const principals = [{ name: 'alice', password: 'pw', pac: { userRid: 1105, groupRids: [512, 1120], extraSids: ['S-1-5-21-9-9-9-777'], domainSid: 'S-1-5-21-1-2-3' } }, { name: 'HTTP/web.pac.test' }];
  let touch = false;
  const kdc = await startKdc({
    realm: 'PAC.TEST', principals,
    pacFor: (client, name, serviceKey, krbtgtKey, at) => {
      const ad = pacAuthorizationData(client, name, serviceKey, krbtgtKey, at);
      if (touch && ad) {
        // One letter of the EffectiveName (UTF-16LE "alice") in LOGON_INFO: covered by the server signature.
        const d = ad[0]!.adData;
        const at = Buffer.from(d).indexOf(Buffer.from('alice', 'utf16le'));
        d[at]! ^= 0x20;
      }
      return ad;
    },
  });
  kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
  kdc.writeKeytab(join(dir, 'kt'), ['HTTP/web.pac.test']);
  const restoreEnv = useEnv({ KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5RCACHEDIR: dir });
  try {
    const run = async (backend: 'native' | 'pure') => {
      const i = createInitiator({ backend: 'pure', target: 'HTTP/web.pac.test@PAC.TEST', krb5Config: join(dir, 'krb5.conf'), credentials: { principal: 'alice@PAC.TEST', password: 'pw' } });
      const a = createAcceptor({ backend, gssapiLibrary: 'mit', keytab: join(dir, 'kt') });
      await exchange(i, a);
      return a.info.pac;
    };
    const want = {
      userSid: 'S-1-5-21-1-2-3-1105', groupSids: ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-512', 'S-1-5-21-1-2-3-1120', 'S-1-5-21-9-9-9-777'],
      logonName: 'alice', domainName: 'PAC', upn: 'alice@pac.test',
    };
    assert.deepEqual(await run('pure'), want);
    if (await needNative(t, 'mit')) assert.deepEqual(await run('native'), want, 'MIT verified the PAC (urn:mspac: authenticated) and we decoded it');
    touch = true;
    await assert.rejects(run('pure'), (e: unknown) => e instanceof SpnegoError && /KRB_AP_ERR_MODIFIED|PAC|DECODE/i.test(e.message));
    if (await needNative(t, 'mit')) assert.equal(await run('native').catch(() => undefined), undefined, 'MIT does not vouch for a touched PAC');
  } finally {
    restoreEnv();
    await kdc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The PAC of a real AD ticket (Samba AD) is checked in test/interop/samba-ad.test.ts: one file owns
// the AD DC (it binds fixed ports on 127.0.0.2).

test('a PAC without PAC_CLIENT_INFO is refused with KRB_AP_ERR_MODIFIED even when its signatures verify (as MIT does)', () => {
  const serviceKey = generateKey(18);
  const bytes = signPac([{ type: PacBufferType.LOGON_INFO, data: encodeLogonInfo(logonInfo) }], serviceKey, generateKey(18));
  const pac = decodePac(bytes);
  assert.equal(pac.clientInfo, undefined);
  assert.ok(pac.serverSignature);
  assert.throws(() => verifyPac(pac, serviceKey, { clientName: 'alice', authtime }), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_MODIFIED && /no PAC_CLIENT_INFO/.test(e.message));
});

test('a PAC that fails its check leaves the pure acceptor failed: not complete, no names or PAC, every later call throws', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-pacfail-'));
  let mode: 'good' | 'touched' | 'no-client-info' = 'good';
  const kdc = await startKdc({
    realm: 'PACFAIL.TEST', principals: [{ name: 'bob', password: 'pw', pac: { userRid: 1106 } }, { name: 'HTTP/web.pacfail.test' }],
    pacFor: (client, name, serviceKey, krbtgtKey, at) => {
      const ad = pacAuthorizationData(client, name, serviceKey, krbtgtKey, at)!;
      if (mode === 'touched') {
        // One bit of the EffectiveName in LOGON_INFO: the server signature no longer verifies.
        const d = ad[0]!.adData;
        d[Buffer.from(d).indexOf(Buffer.from('bob', 'utf16le'))]! ^= 0x20;
      }
      if (mode === 'no-client-info') {
        const pac = signPac([{ type: PacBufferType.LOGON_INFO, data: encodeLogonInfo({ ...logonInfo, effectiveName: 'bob' }) }], serviceKey, krbtgtKey);
        return [{ adType: AuthorizationDataType.AD_IF_RELEVANT, adData: encodeAdIfRelevant([{ adType: AuthorizationDataType.AD_WIN2K_PAC, adData: pac }]) }];
      }
      return ad;
    },
  });
  try {
    kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
    kdc.writeKeytab(join(dir, 'kt'), ['HTTP/web.pacfail.test']);
    const pair = () => ({
      i: createInitiator({ backend: 'pure', target: 'HTTP/web.pacfail.test@PACFAIL.TEST', krb5Config: join(dir, 'krb5.conf'), credentials: { principal: 'bob@PACFAIL.TEST', password: 'pw' } }),
      a: createPureAcceptor({ keytab: join(dir, 'kt'), krb5Config: join(dir, 'krb5.conf'), replayCache: new MemoryReplayCache() }),
    });
    const good = pair();
    await exchange(good.i, good.a);
    assert.ok(good.a.complete);
    assert.equal(good.a.info.pac?.logonName, 'bob');
    for (const [m, why] of [['touched', /server signature does not verify/], ['no-client-info', /no PAC_CLIENT_INFO/]] as const) {
      mode = m;
      const { i, a } = pair();
      const t1 = (await i.step())!;
      await assert.rejects(a.step(t1), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_MODIFIED && why.test(e.message), m);
      assert.equal(a.complete, false, `${m}: not complete`);
      const info = a.info;
      assert.equal(info.initiatorName, undefined, m);
      assert.equal(info.acceptorName, undefined, m);
      assert.equal(info.pac, undefined, m);
      assert.equal(info.sessionKey, undefined, m);
      assert.equal(info.spnego, undefined, m);
      const failed = (e: unknown) => e instanceof GssError && e.major === 'GSS_S_NO_CONTEXT' && e.message.includes('the context failed (KRB_AP_ERR_MODIFIED)');
      const msg = utf8.encode('x');
      assert.throws(() => a.getMIC(msg), failed, m);
      assert.throws(() => a.wrap(msg), failed, m);
      assert.throws(() => a.verifyMIC(msg, new Uint8Array(28)), failed, m);
      assert.throws(() => a.unwrap(new Uint8Array(60)), failed, m);
      await assert.rejects(a.step(t1), failed, m);
    }
  } finally {
    await kdc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
