// `spnego demo --pcap FILE`, run as a user runs it, then read by tshark: no malformed packet and no
// expert error or warning, one TCP stream per pairing, every SPNEGO token dissected (mechTypes,
// negResult, supportedMech, mechListMIC), the ticket, the authenticator and the AP-REP decrypted with
// FILE.keytab, the PAC dissected with the user's SIDs; and every value tshark reports equals what
// `spnego decode` (describeToken) says of the same token, and the MIC bytes the demo's table printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeToken, type Json } from '../../lib/cli/describe.js';
import { Keytab, readKeytab } from '../../lib/krb5/keytab.js';
import { needPeer } from '../peers/harness.js';
import { checkChecksums, decryptWith, fields, malformed, tshark } from './tshark.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spnego-demo-pcap-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = { ...process.env };
  for (const k of ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_KTNAME']) delete clean[k];
  return spawnSync(process.execPath, [join(root, 'bin/spnego.mjs'), ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
}

/** A value inside describeToken's JSON by a dotted path ('a.b.0.c'); undefined when absent. */
function at(j: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = j;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(k)] : cur[k];
  }
  return cur;
}
const str = (j: Json | undefined) => (j === undefined || j === null ? undefined : String(j));

const FIELDS = [
  'frame.number', 'tcp.stream', 'http.authorization', 'http.www_authenticate', 'http.response.code',
  'spnego.MechType', 'spnego.negResult', 'spnego.supportedMech', 'spnego.mechListMIC',
  'spnego.krb5.cfx_seq', 'spnego.krb5.send_by_acceptor', 'spnego.krb5.acceptor_subkey',
  'kerberos.msg_type', 'kerberos.etype', 'kerberos.keytype', 'kerberos.CNameString', 'kerberos.crealm', 'kerberos.SNameString',
  'kerberos.seq_number', 'kerberos.cksumtype', 'kerberos.ad_type',
  'kerberos.gssapi.checksum.flags.deleg', 'kerberos.gssapi.checksum.flags.mutual', 'kerberos.gssapi.checksum.flags.replay',
  'kerberos.gssapi.checksum.flags.sequence', 'kerberos.gssapi.checksum.flags.conf', 'kerberos.gssapi.checksum.flags.integ',
  'kerberos.pac.name', 'kerberos.pac.upn.upn_name', 'netlogon.acct_name', 'netlogon.rid', 'netlogon.group_rid', 'dcerpc.nt.domain_sid',
];

test('spnego demo --pcap: tshark dissects and decrypts every token, and agrees with spnego decode field by field', (t) => {
  if (!needPeer(t, 'tshark')) return;
  const file = join(dir, 'demo.pcap');
  const r = cli(['demo', '--brief', '--pcap', file]);
  assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr);
  const keytab = `${file}.keytab`;
  assert.match(r.stdout, new RegExp(`wireshark -o kerberos\\.decrypt:TRUE -o kerberos\\.file:${keytab.replace(/[.]/g, '\\.')} `));
  // Only the throwaway realm's keys: the service and krbtgt of SPNEGO.DEMO, nothing else.
  const entries = readKeytab(readFileSync(keytab));
  assert.deepEqual([...new Set(entries.map((e) => `${e.name.nameString.join('/')}@${e.realm}`))].sort(), ['HTTP/web.spnego.demo@SPNEGO.DEMO', 'krbtgt/SPNEGO.DEMO@SPNEGO.DEMO']);
  assert.equal(statSync(keytab).mode & 0o077, 0, 'the keytab is readable by its owner only');

  // The pairings the demo ran, in order, with the MIC bytes its table printed.
  const table = r.stdout.split('\n').map((l) => /^(\w+ -> \w+)\s+(acceptor|initiator) \(\w+\)\s+([0-9a-f]+)\s/.exec(l)).filter((m) => m !== null);
  const pairings = [...new Set(table.map((m) => m[1]!))];
  assert.ok(pairings.length === 1 || pairings.length === 4, pairings.join(', '));
  const micOf = (p: string, from: string) => table.find((m) => m[1] === p && m[2] === from)![3]!;

  const opts = [...decryptWith(keytab), ...checkChecksums];
  assert.equal(malformed(file, opts), '', 'no malformed packet');
  const expert = tshark(['-r', file, ...opts, '-q', '-z', 'expert,warn']);
  assert.doesNotMatch(expert, /Errors \(|Warns \(/, `no expert error or warning:\n${expert}`);
  const all = fields(file, 'tcp', ['tcp.stream', 'tcp.checksum.status', 'ip.checksum.status', 'tcp.analysis.flags'], opts);
  for (const row of all) {
    assert.deepEqual([row['tcp.checksum.status'], row['ip.checksum.status'], row['tcp.analysis.flags']], [['1'], ['1'], []], JSON.stringify(row));
  }
  assert.equal(new Set(all.map((row) => row['tcp.stream']![0])).size, pairings.length, 'one TCP stream per pairing');
  // Wireshark says it decrypted with the keytab (ticket, usage 2) and verified both PAC signatures.
  const chats = tshark(['-r', file, ...opts, '-q', '-z', 'expert,chat']);
  assert.match(chats, new RegExp(`${pairings.length}\\s+Security\\s+SPNEGO-KRB5\\s+Decrypted keytype 18 usage 2 using keytab principal HTTP/web\\.spnego\\.demo@SPNEGO\\.DEMO`));
  assert.match(chats, new RegExp(`${pairings.length}\\s+Security\\s+SPNEGO-KRB5\\s+Verified Server checksum 16`));
  assert.match(chats, new RegExp(`${pairings.length}\\s+Security\\s+SPNEGO-KRB5\\s+Verified KDC checksum 16`));

  const kt = new Keytab(entries);
  const rows = fields(file, 'spnego', FIELDS, opts);
  assert.equal(rows.length, 3 * pairings.length, 'three SPNEGO tokens per pairing (NegTokenInit, the acceptor\'s NegTokenResp, the initiator\'s)');
  for (const [n, pairing] of pairings.entries()) {
    const [init, resp, fin] = rows.filter((row) => row['tcp.stream']![0] === String(n));
    const what = (s: string) => `${pairing}: ${s}`;
    const tokenOf = (row: Record<string, string[]>, header: string) => new Uint8Array(Buffer.from(row[header]![0]!.replace(/^Negotiate /, ''), 'base64'));

    // 1. NegTokenInit + AP-REQ, in GET's Authorization header
    const d1 = describeToken(tokenOf(init!, 'http.authorization'), { keytab: kt });
    const it = at(d1, 'inner-token')!;
    const ap = at(it, 'mech-token.inner-token')!;
    assert.equal(str(at(ap, 'type')), 'AP-REQ');
    assert.deepEqual(init!['spnego.MechType'], (at(it, 'mech-types') as Json[]).map((m) => str(at(m, 'oid'))), what('mechTypes'));
    assert.deepEqual(init!['kerberos.msg_type'], ['14'], what('AP-REQ'));
    assert.deepEqual(init!['kerberos.SNameString'], at(ap, 'ticket.sname.name-string'), what('sname'));
    assert.deepEqual(init!['kerberos.etype'], [str(at(ap, 'ticket.enc-part.etype.value')), str(at(ap, 'authenticator.etype.value'))], what('enc-part enctypes'));
    // Decrypted: the ticket's session key type and the authenticator's subkey type
    assert.deepEqual(init!['kerberos.keytype'], [str(at(ap, 'ticket.enc-part-decrypted.key.etype.value')), str(at(ap, 'authenticator-decrypted.subkey.etype.value'))], what('session key and subkey types'));
    assert.deepEqual(init!['kerberos.CNameString'], [...(at(ap, 'ticket.enc-part-decrypted.cname.name-string') as string[]), ...(at(ap, 'authenticator-decrypted.cname.name-string') as string[])], what('client name (ticket, authenticator)'));
    assert.deepEqual(init!['kerberos.CNameString'], ['alice', 'alice']);
    assert.deepEqual(init!['kerberos.crealm'], [str(at(ap, 'ticket.enc-part-decrypted.crealm')), str(at(ap, 'authenticator-decrypted.crealm'))]);
    assert.deepEqual(init!['kerberos.seq_number'], [str(at(ap, 'authenticator-decrypted.seq-number'))], what('initiator sequence number'));
    assert.deepEqual(init!['kerberos.cksumtype'], [str(at(ap, 'authenticator-decrypted.cksum.cksumtype.value'))], what('0x8003 checksum type'));
    assert.deepEqual(init!['kerberos.cksumtype'], ['32771']);
    const flagNames = at(ap, 'authenticator-decrypted.cksum.checksum.Flags.names') as string[];
    for (const f of ['deleg', 'mutual', 'replay', 'sequence', 'conf', 'integ']) {
      assert.deepEqual(init![`kerberos.gssapi.checksum.flags.${f}`], [flagNames.includes(f) ? '1' : '0'], what(`0x8003 flag ${f}`));
    }
    // The PAC, inside the decrypted ticket: names, RIDs and the domain SID give the user's SIDs
    const pac = at(ap, 'ticket.enc-part-decrypted.authorization-data.0.ad-data.0.ad-data')!;
    assert.deepEqual(init!['netlogon.acct_name'].slice(0, 1), [str(at(pac, 'logon-info.effective-name'))]);
    assert.deepEqual(init!['kerberos.pac.name'], [str(at(pac, 'client-info.name'))]);
    assert.deepEqual(init!['kerberos.pac.upn.upn_name'], [str(at(pac, 'upn-dns-info.upn'))]);
    const [domainSid] = init!['dcerpc.nt.domain_sid'];
    const [userRid, primaryRid, ...groupRids] = [...init!['netlogon.rid'], ...init!['netlogon.group_rid']];
    assert.equal(`${domainSid}-${userRid}`, str(at(pac, 'logon-info.user-sid')), what('user SID'));
    assert.equal(primaryRid, str(at(pac, 'logon-info.primary-group-id')));
    assert.deepEqual(groupRids.map((g) => `${domainSid}-${g}`), at(pac, 'logon-info.group-sids'), what('group SIDs'));
    assert.deepEqual(groupRids, ['513', '1120'], 'the demo user\'s groups');

    // 2-4. NegTokenResp: supportedMech, AP-REP (decrypted), the acceptor's mechListMIC, accept-incomplete (401)
    assert.deepEqual(resp!['http.response.code'], ['401']);
    const d2 = describeToken(tokenOf(resp!, 'http.www_authenticate'), { keytab: kt });
    assert.deepEqual(resp!['spnego.negResult'], [str(at(d2, 'neg-state.value'))], what('negResult'));
    assert.deepEqual(resp!['spnego.negResult'], ['1'], 'accept-incomplete');
    assert.deepEqual(resp!['spnego.supportedMech'], [str(at(d2, 'supported-mech.oid'))], what('supportedMech'));
    assert.deepEqual(resp!['kerberos.msg_type'], ['15'], what('AP-REP'));
    assert.deepEqual(resp!['kerberos.etype'], [str(at(d2, 'response-token.inner-token.enc-part.etype.value'))]);
    assert.equal(resp!['kerberos.keytype'].length, 1, what('the AP-REP decrypted (its subkey type shown)'));
    assert.deepEqual(resp!['spnego.mechListMIC'], [micOf(pairing, 'acceptor')], what('acceptor mechListMIC = the demo table\'s bytes'));
    assert.deepEqual(resp!['spnego.krb5.cfx_seq'], [str(at(d2, 'mech-list-mic.snd-seq'))], what('acceptor MIC sequence number'));
    // RFC 4121 4.2.6.1 / 4.1.1: the acceptor's first sequence number is the AP-REP's (decrypted by tshark)
    assert.deepEqual(resp!['spnego.krb5.cfx_seq'], resp!['kerberos.seq_number']);
    const f2 = at(d2, 'mech-list-mic.flags.names') as string[];
    assert.deepEqual([resp!['spnego.krb5.send_by_acceptor'], resp!['spnego.krb5.acceptor_subkey']], [[f2.includes('SentByAcceptor') ? '1' : '0'], [f2.includes('AcceptorSubkey') ? '1' : '0']]);

    // 5. the initiator's mechListMIC, accept-completed; the server answers 200
    const d3 = describeToken(tokenOf(fin!, 'http.authorization'), { keytab: kt });
    assert.deepEqual(fin!['spnego.negResult'], [str(at(d3, 'neg-state.value'))]);
    assert.deepEqual(fin!['spnego.negResult'], ['0'], 'accept-completed');
    assert.deepEqual(fin!['spnego.mechListMIC'], [micOf(pairing, 'initiator')], what('initiator mechListMIC = the demo table\'s bytes'));
    assert.deepEqual(fin!['spnego.krb5.cfx_seq'], [str(at(d3, 'mech-list-mic.snd-seq'))]);
    assert.deepEqual(fin!['spnego.krb5.cfx_seq'], init!['kerberos.seq_number'], what('the initiator MIC carries the authenticator\'s sequence number'));
    assert.deepEqual(fin!['spnego.krb5.send_by_acceptor'], ['0']);
  }
  // 6. the first protected message: a POST body, the initiator's sealed Wrap token
  const bodies = fields(file, 'http.request.method == "POST"', ['tcp.stream', 'data.data']);
  assert.equal(bodies.length, pairings.length);
  for (const b of bodies) {
    const d = describeToken(Buffer.from(b['data.data']![0]!, 'hex'));
    assert.match(String(at(d, 'type')), /Wrap/, JSON.stringify(d));
  }
  const oks = fields(file, 'http.response.code == 200', ['tcp.stream']);
  assert.equal(oks.length, pairings.length, 'each negotiation ends with 200');
});
