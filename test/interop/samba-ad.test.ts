// Active Directory (Samba 4 AD DC, its Heimdal-based KDC) as the realm: the user logs on with a
// password through each backend, and the Windows-style SPNEGO seed flow runs in all four pairings
// with the AD service keytab; every mechListMIC is recomputed byte for byte, and both acceptors
// read the user's SIDs from the AD PAC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KRB5_ENV, needNative, needPeer, peerForFile } from '../peers/harness.js';
import { exchange, runPairing, pairingOk } from '../../lib/cli/pairings.js';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import type { Backend } from '../../lib/context.js';

const ad = peerForFile('samba-ad', KRB5_ENV);

test('Samba AD: password logon, seed SPNEGO flow in all four pairings, MICs recomputed', async (t) => {
  if (!needPeer(t, 'samba-ad') || !ad.current || !(await needNative(t, 'mit'))) return;
  const e = ad.current.env;
  for (const ib of ['pure', 'native'] as Backend[]) {
    for (const ab of ['pure', 'native'] as Backend[]) {
      const r = await runPairing(ib, ab, {
        target: e.AD_SERVICE!, keytab: e.AD_KEYTAB, mechs: ['ms-krb5', 'krb5', 'ntlm'], krb5Config: e.KRB5_CONFIG,
        credentials: { principal: e.AD_USER!, password: e.AD_PASSWORD! },
      });
      assert.ok(pairingOk(r), `${ib} -> ${ab}: ${r.error ?? JSON.stringify(r.mics.map((m) => m.equal))}`);
      assert.equal(r.enctype, 18, 'AES with AD (msDS-SupportedEncryptionTypes 28)');
    }
  }
});

test('Samba AD: the real AD PAC verifies and decodes, and both acceptors expose the same SIDs (native: as MIT verified it)', async (t) => {
  if (!needPeer(t, 'samba-ad') || !ad.current || !(await needNative(t, 'mit'))) return;
  const e = ad.current.env;
  const pacs = [];
  for (const ab of ['pure', 'native'] as Backend[]) {
    const i = createInitiator({ backend: 'pure', target: e.AD_SERVICE!, krb5Config: e.KRB5_CONFIG, credentials: { principal: e.AD_USER!, password: e.AD_PASSWORD! } });
    const a = createAcceptor({ backend: ab, keytab: e.AD_KEYTAB });
    await exchange(i, a);
    assert.ok(a.info.pac, `${ab}: the PAC`);
    pacs.push(a.info.pac);
  }
  assert.deepEqual(pacs[1], pacs[0], 'native and pure agree on the PAC');
  // A real KERB_VALIDATION_INFO (NDR) and UPN_DNS_INFO: the user, Domain Users, the domain, the UPN.
  const pac = pacs[0]!;
  assert.match(pac.userSid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
  const domain = pac.userSid.replace(/-\d+$/, '');
  assert.ok(pac.groupSids.includes(`${domain}-513`), 'Domain Users');
  const user = e.AD_USER!.split('@')[0]!;
  assert.equal(pac.logonName.toLowerCase(), user.toLowerCase());
  assert.equal(pac.domainName.toUpperCase(), e.AD_DOMAIN!.toUpperCase());
  assert.match(pac.upn ?? '', new RegExp(`^${user}@`, 'i'));
});
