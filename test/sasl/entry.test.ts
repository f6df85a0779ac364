// 'spnego/sasl' is a published entry point: it loads from CommonJS and ESM (the built dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();

test("'spnego/sasl' loads from CommonJS and ESM, encodes an LDAP SASL bind and has the ldapts hooks", () => {
  const code = "console.log(typeof SaslClient, typeof SaslStream, Buffer.from(encodeBindRequest(1, { sasl: { mechanism: 'GSSAPI' } })).toString('hex'), saslInitiatorOptions('GSSAPI', 'integrity').mech, typeof ldaptsSasl({ mechanism: 'GSSAPI', initiator: { target: 'ldap/dc' } }).createConnection)";
  const cjs = run(['-e', `const { SaslClient, SaslStream, encodeBindRequest, saslInitiatorOptions, ldaptsSasl } = require('spnego/sasl'); ${code}`]);
  const esm = run(['--input-type=module', '-e', `import { SaslClient, SaslStream, encodeBindRequest, saslInitiatorOptions, ldaptsSasl } from 'spnego/sasl'; ${code}`]);
  // RFC 4511: LDAPMessage { 1, BindRequest { 3, "", sasl { "GSSAPI" } } }
  const bind = HEX();
  assert.equal(cjs, `function function ${bind} kerberos function`);
  assert.equal(esm, cjs);
});

/** The expected BindRequest, built field by field from RFC 4511 4.2. */
function HEX(): string {
  const sasl = '0406' + Buffer.from('GSSAPI').toString('hex'); // mechanism
  const a3 = 'a3' + (sasl.length / 2).toString(16).padStart(2, '0') + sasl;
  const body = '020103' + '0400' + a3; // version 3, name ""
  const op = '60' + (body.length / 2).toString(16).padStart(2, '0') + body;
  const msg = '020101' + op;
  return '30' + (msg.length / 2).toString(16).padStart(2, '0') + msg;
}
