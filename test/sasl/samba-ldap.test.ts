// LDAP SASL binds against the Samba AD DC ("ldap server require strong auth" at its default, yes):
// a simple bind and a SASL bind without a layer on ldap:// are refused; GSSAPI and GSS-SPNEGO with
// integrity and with confidentiality bind and search (the user's SID and tokenGroups), from the
// pure and the native initiator; and NTLM alone under GSS-SPNEGO, checked by the DC itself (its mechListMIC
// recomputed, a wrong password refused). What crosses the socket is checked: sealed means no plaintext.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { needNative } from '../peers/harness.js';
import { DC_HOST, ldapDcForFile } from './ldap-dc.js';
import type { Backend } from '../../lib/context.js';
import { LdapConnection, LdapResultError, SaslClient, createSaslInitiator, LDAP_RESULT, type SaslMechanism, type SecurityLayer } from '../../lib/sasl/index.js';
import { checkNtlmMics, type CrossedToken } from '../smb2/ntlm-mics.js';

// Its own loopback address: the DC's ports (88, 389, 445...) then never collide with
// test/interop/samba-ad.test.ts (127.0.0.2) when test files run in parallel.
const AD_ADDR = '127.0.0.12';
const dc = ldapDcForFile(AD_ADDR);

interface Wire {
  received: Buffer[];
  sent: Buffer[];
}

async function connect(): Promise<{ conn: LdapConnection; wire: Wire }> {
  const sock = net.connect(389, AD_ADDR);
  await once(sock, 'connect');
  const wire: Wire = { received: [], sent: [] };
  sock.on('data', (b: Buffer) => wire.received.push(b));
  const write = sock.write.bind(sock) as (...a: unknown[]) => boolean;
  (sock as unknown as { write: (...a: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
    wire.sent.push(Buffer.from(chunk as Uint8Array));
    return write(chunk, ...rest);
  };
  return { conn: new LdapConnection(sock), wire };
}

function bindWith(backend: Backend, mechanism: SaslMechanism, layer: SecurityLayer) {
  const e = dc.ad!.env;
  const context = createSaslInitiator(mechanism, layer, {
    backend, target: `ldap/${DC_HOST}.${e.AD_REALM!.toLowerCase()}@${e.AD_REALM}`, krb5Config: e.KRB5_CONFIG,
    credentials: { principal: e.AD_USER!, password: e.AD_PASSWORD! },
  });
  return new SaslClient({ mechanism, context, layer });
}

/** MS-DTYP 2.4.2.2: a binary SID to S-1-... form. */
function sidString(b: Uint8Array): string {
  assert.ok(b.length >= 8 && b.length === 8 + 4 * b[1]!, 'a well-formed binary SID');
  let auth = 0;
  for (let i = 2; i < 8; i++) auth = auth * 256 + b[i]!;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const subs = Array.from({ length: b[1]! }, (_, i) => dv.getUint32(8 + 4 * i, true));
  return `S-${b[0]}-${auth}${subs.map((s) => `-${s}`).join('')}`;
}

const ready = dc.ready;

test('Samba AD: a simple bind on ldap:// is refused (strong auth required), and so is a SASL bind with no layer', async (t) => {
  if (!ready(t)) return;
  const e = dc.ad!.env;
  const { conn } = await connect();
  await assert.rejects(conn.simpleBind(`CN=Ad User,CN=Users,${e.AD_BASE_DN}`, e.AD_PASSWORD!), (err: unknown) => {
    assert.ok(err instanceof LdapResultError);
    assert.equal(err.resultCode, LDAP_RESULT.strongerAuthRequired);
    return true;
  });
  conn.close();
  for (const mech of ['GSSAPI', 'GSS-SPNEGO'] as SaslMechanism[]) {
    const c = await connect();
    await assert.rejects(c.conn.saslBind(bindWith('pure', mech, 'none')), (err: unknown) => {
      assert.ok(err instanceof LdapResultError, String(err));
      assert.equal(err.resultCode, LDAP_RESULT.strongerAuthRequired, `${mech}: ${err.diagnosticMessage}`);
      return true;
    });
    c.conn.close();
  }
});

for (const backend of ['pure', 'native'] as Backend[]) {
  test(`Samba AD: ${backend} initiator, GSSAPI and GSS-SPNEGO binds with integrity and with confidentiality, then the user's SID and tokenGroups`, async (t) => {
    if (!ready(t)) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const e = dc.ad!.env;
    const user = e.AD_USER!.split('@')[0]!;
    for (const mech of ['GSSAPI', 'GSS-SPNEGO'] as SaslMechanism[]) {
      for (const layer of ['integrity', 'confidentiality'] as SecurityLayer[]) {
        const what = `${backend} ${mech} ${layer}`;
        const { conn, wire } = await connect();
        await conn.saslBind(bindWith(backend, mech, layer));
        // MIT's initiator always puts CONF in the 0x8003 checksum, so Samba seals GSS-SPNEGO even
        // when only integrity was asked for: the layer follows what the DC does, never weaker.
        const expected = backend === 'native' && mech === 'GSS-SPNEGO' ? 'confidentiality' : layer;
        assert.equal(conn.layer, expected, what);
        const bindBytes = Buffer.concat(wire.received).length;
        const found = await conn.search({ base: e.AD_BASE_DN!, filter: { and: [{ equals: ['sAMAccountName', user] }, { present: 'objectSid' }] }, attributes: ['objectSid', 'memberOf'] });
        assert.equal(found.length, 1, what);
        const dn = found[0]!.dn;
        assert.match(dn, /^CN=Ad User,CN=Users,DC=/i);
        const userSid = sidString(found[0]!.attributes.objectSid![0]!);
        assert.match(userSid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
        // tokenGroups: only on a base search of the user (MS-ADA3); the primary group Domain Users is there
        const tg = await conn.search({ base: dn, scope: 'base', attributes: ['tokenGroups'] });
        const groups = (tg[0]?.attributes.tokenGroups ?? []).map(sidString);
        assert.ok(groups.includes(userSid.replace(/-\d+$/, '-513')), `${what}: Domain Users in ${groups.join(', ')}`);
        // On the wire after the bind: signed frames show the DN, sealed ones do not.
        const after = Buffer.concat(wire.received).subarray(bindBytes);
        assert.ok(after.length > 0);
        assert.equal(after.includes(Buffer.from(dn)), expected === 'integrity', `${what}: DN in clear on the wire iff integrity only`);
        const sentAfter = Buffer.concat(wire.sent.slice(-1));
        assert.equal(sentAfter.includes(Buffer.from('tokenGroups')), expected === 'integrity', `${what}: our request in clear iff integrity only`);
        assert.equal(new DataView(sentAfter.buffer, sentAfter.byteOffset).getUint32(0), sentAfter.length - 4, 'one SASL frame: 4-octet length + Wrap token');
        await conn.unbind();
      }
    }
  });
}

/** NTLM only under GSS-SPNEGO (spnego.mechs ['ntlm']), 'DOMAIN\\user': Samba checks the NTLMv2 response against its SAM. */
function ntlmBind(layer: SecurityLayer, password = dc.ad!.env.AD_PASSWORD!) {
  const e = dc.ad!.env;
  const context = createSaslInitiator('GSS-SPNEGO', layer, {
    backend: 'pure', target: `ldap/${DC_HOST}.${e.AD_REALM!.toLowerCase()}@${e.AD_REALM}`,
    ntlm: { credentials: { principal: `${e.AD_DOMAIN}\\${e.AD_USER!.split('@')[0]}`, password } },
    spnego: { mechs: ['ntlm'] },
  });
  // Every SPNEGO token as it crossed, to recompute Samba's mechListMIC afterwards.
  const tokens: CrossedToken[] = [];
  const step = context.step.bind(context);
  context.step = async (input?: Uint8Array) => {
    if (input?.length) tokens.push({ from: 'server', bytes: input });
    const out = await step(input);
    if (out?.length) tokens.push({ from: 'client', bytes: out });
    return out;
  };
  return { sasl: new SaslClient({ mechanism: 'GSS-SPNEGO', context, layer }), context, tokens };
}

test('Samba AD: pure initiator, NTLM only under GSS-SPNEGO (DOMAIN\\user), validated by the DC: sealed binds (integrity and confidentiality asked), search, both mechListMICs recomputed', async (t) => {
  if (!ready(t)) return;
  const e = dc.ad!.env;
  const user = e.AD_USER!.split('@')[0]!;
  for (const layer of ['integrity', 'confidentiality'] as SecurityLayer[]) {
    const { conn, wire } = await connect();
    const { sasl, context, tokens } = ntlmBind(layer);
    await conn.saslBind(sasl);
    // Our NTLM always negotiates SEAL (INITIATOR_FLAGS), and Samba's LDAP server seals NTLM even
    // when only SIGN is negotiated (gensec's "LDAP style", as Windows does): the layer is sealed.
    assert.equal(conn.layer, 'confidentiality', layer);
    assert.equal(context.info.flags.confidentiality, true);
    checkNtlmMics(context, tokens);
    const bindBytes = Buffer.concat(wire.received).length;
    const found = await conn.search({ base: e.AD_BASE_DN!, filter: { and: [{ equals: ['sAMAccountName', user] }, { present: 'objectSid' }] }, attributes: ['objectSid', 'memberOf'] });
    assert.equal(found.length, 1, layer);
    const dn = found[0]!.dn;
    assert.match(dn, /^CN=Ad User,CN=Users,DC=/i);
    const userSid = sidString(found[0]!.attributes.objectSid![0]!);
    // tokenGroups of the NTLM-authenticated user: Domain Users is there
    const tg = await conn.search({ base: dn, scope: 'base', attributes: ['tokenGroups'] });
    const groups = (tg[0]?.attributes.tokenGroups ?? []).map(sidString);
    assert.ok(groups.includes(userSid.replace(/-\d+$/, '-513')), `${layer}: Domain Users in ${groups.join(', ')}`);
    // Sealed: neither the DN nor our request in clear on the wire; one SASL frame (length + NTLM wrap token).
    const after = Buffer.concat(wire.received).subarray(bindBytes);
    assert.ok(after.length > 0 && !after.includes(Buffer.from(dn)), `${layer}: the DN is not in clear`);
    const sentAfter = Buffer.concat(wire.sent.slice(-1));
    assert.ok(!sentAfter.includes(Buffer.from('tokenGroups')), `${layer}: our request is not in clear`);
    assert.equal(new DataView(sentAfter.buffer, sentAfter.byteOffset).getUint32(0), sentAfter.length - 4, 'one SASL frame');
    // MS-NLMP 2.2.2.9.1: the frame is an NTLMSSP_MESSAGE_SIGNATURE (version 1) then the sealed request.
    assert.equal(sentAfter.readUInt32LE(4), 1, 'NTLM signature version 1');
    await conn.unbind();
  }
});

test('Samba AD: NTLM under GSS-SPNEGO with a wrong password: the DC answers invalidCredentials (its 52e), typed', async (t) => {
  if (!ready(t)) return;
  const { conn } = await connect();
  const { sasl, context } = ntlmBind('confidentiality', 'not-the-Passw0rd');
  await assert.rejects(conn.saslBind(sasl), (err: unknown) => {
    assert.ok(err instanceof LdapResultError, String(err));
    assert.equal(err.resultCode, LDAP_RESULT.invalidCredentials, err.diagnosticMessage);
    // AD's diagnostic form, which Samba mirrors: SEC_E_LOGON_DENIED (8009030C), "data 52e" (ERROR_LOGON_FAILURE).
    assert.match(err.diagnosticMessage, /^8009030C: .*AcceptSecurityContext error, data 52e/);
    assert.ok(!err.message.includes('not-the-Passw0rd'));
    return true;
  });
  assert.equal(context.complete, false);
  conn.close();
});
