// Our AS and TGS client against MIT's krb5kdc: TGTs with a password (pre-auth with the salt from
// ETYPE-INFO2) for aes-sha1, aes-sha2 and rc4 accounts, service tickets, and each typed error a user
// meets: bad password, unknown client, unknown service, clock skew, dead KDC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { needPeer, startPeer, type RunningPeer } from '../peers/harness.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { requestServiceTicket } from '../../lib/krb5/client/tgs.js';
import { sendToKdc, parseKdcAddress } from '../../lib/krb5/client/transport.js';
import { KerberosError } from '../../lib/errors.js';
import { parsePrincipal, formatPrincipal } from '../../lib/krb5/types.js';
import { ErrorCode } from '../../lib/krb5/constants.js';

let kdc: RunningPeer | undefined;
const skipReason = () => (kdc ? false : 'MIT KDC not available');

before(() => {
  try {
    kdc = startPeer('mit-kdc');
  } catch (e) {
    if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw e;
  }
});
after(() => kdc?.stop());

const target = () => ({ kdcs: [{ host: kdc!.env.MITKDC_KDC_ADDR!, port: Number(kdc!.env.MITKDC_KDC_PORT) }], transport: { timeoutMs: 5000 } });
const who = (p: string) => {
  const x = parsePrincipal(p);
  return { realm: x.realm, name: { nameType: x.nameType, nameString: x.nameString } };
};

async function tgtFor(user: string, password: string, etypes: number[], extra: object = {}) {
  return requestInitialTicket({ ...target(), client: who(user), secret: { password }, etypes, allowWeak: true, ...extra });
}

for (const [label, userVar, pwVar, etypes, want] of [
  ['aes256-sha1', 'MITKDC_USER', 'MITKDC_PASSWORD', [18, 17], 18],
  ['aes-sha2', 'MITKDC_USER_SHA2', 'MITKDC_PASSWORD_SHA2', [20, 19], 20],
  ['rc4', 'MITKDC_USER_RC4', 'MITKDC_PASSWORD_RC4', [23], 23],
] as const) {
  test(`AS exchange with a password against MIT (${label})`, async (t) => {
    if (!needPeer(t, 'mit-kdc')) return;
    const cred = await tgtFor(kdc!.env[userVar]!, kdc!.env[pwVar]!, [...etypes]);
    assert.equal(formatPrincipal({ ...cred.server.name, realm: cred.server.realm }), `krbtgt/${kdc!.env.MITKDC_REALM}@${kdc!.env.MITKDC_REALM}`);
    assert.equal(formatPrincipal({ ...cred.client.name, realm: cred.client.realm }), kdc!.env[userVar]);
    assert.equal(cred.ticket.encPart.etype > 0, true);
    assert.ok(cred.endtime.getTime() > Date.now());
    // MIT picks the TGT session key as the first of our enctypes the krbtgt key supports.
    assert.equal(cred.key.enctype, want);
  });
}

test('TGS exchange against MIT: a service ticket for HTTP/localhost', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const tgt = await tgtFor(kdc!.env.MITKDC_USER!, kdc!.env.MITKDC_PASSWORD!, [18, 17]);
  const svc = await requestServiceTicket({ tgt, server: who(kdc!.env.MITKDC_SERVICE!), kdcsFor: () => target(), etypes: [18, 17] });
  assert.equal(formatPrincipal({ ...svc.server.name, realm: svc.server.realm }), kdc!.env.MITKDC_SERVICE);
  assert.equal(svc.key.enctype, 18);
  assert.equal(svc.ticket.encPart.etype, 18);
});

test('typed errors from MIT: bad password, unknown client, unknown service, clock skew', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const realm = kdc!.env.MITKDC_REALM!;
  await assert.rejects(tgtFor(kdc!.env.MITKDC_USER!, 'wrong-password', [18, 17]), (e: unknown) => {
    assert.ok(e instanceof KerberosError);
    assert.ok([ErrorCode.KDC_ERR_PREAUTH_FAILED, ErrorCode.KRB_AP_ERR_BAD_INTEGRITY].includes(e.errorCode as 24 | 31), e.message);
    assert.match(e.message, /password/);
    assert.doesNotMatch(e.message, /wrong-password/);
    return true;
  });
  await assert.rejects(tgtFor(`nobody@${realm}`, 'x', [18]), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN && /not found/.test(e.message));
  const tgt = await tgtFor(kdc!.env.MITKDC_USER!, kdc!.env.MITKDC_PASSWORD!, [18, 17]);
  await assert.rejects(
    requestServiceTicket({ tgt, server: who(`HTTP/nowhere.example.test@${realm}`), kdcsFor: () => target(), etypes: [18] }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN && /SPN/.test(e.message),
  );
  // A client clock one hour ahead: the KDC refuses the pre-authentication timestamp.
  await assert.rejects(
    tgtFor(kdc!.env.MITKDC_USER!, kdc!.env.MITKDC_PASSWORD!, [18, 17], { now: () => new Date(Date.now() + 3600_000) }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_SKEW && /clock/.test(e.message),
  );
});

test('a silent KDC gives a typed error within the timeout, and failover reaches the next KDC', async (t) => {
  // A TCP server that accepts and never answers, on loopback.
  const silent: Server = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    await assert.rejects(
      sendToKdc('EXAMPLE.TEST', [{ host: '127.0.0.1', port, transport: 'tcp' }], new Uint8Array(10), { timeoutMs: 200 }),
      (e: unknown) => e instanceof KerberosError && e.errorName === 'KDC_UNREACHABLE' && /within 200 ms/.test(e.message),
    );
    if (skipReason()) return;
    const kdcs = [{ host: '127.0.0.1', port, transport: 'tcp' as const }, ...target().kdcs];
    const cred = await requestInitialTicket({ kdcs, transport: { timeoutMs: 300 }, client: who(kdc!.env.MITKDC_USER!), secret: { password: kdc!.env.MITKDC_PASSWORD! }, etypes: [18] });
    assert.equal(cred.key.enctype, 18);
  } finally {
    silent.close();
  }
});

test('parseKdcAddress reads krb5.conf kdc forms', () => {
  assert.deepEqual(parseKdcAddress('kdc.example.test'), { host: 'kdc.example.test', port: 88, transport: undefined });
  assert.deepEqual(parseKdcAddress('127.0.0.1:61088'), { host: '127.0.0.1', port: 61088, transport: undefined });
  assert.deepEqual(parseKdcAddress('tcp/[::1]:750'), { host: '::1', port: 750, transport: 'tcp' });
  assert.throws(() => parseKdcAddress('host:99999'), RangeError);
});
