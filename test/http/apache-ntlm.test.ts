// Our NTLM client against Apache httpd + mod_auth_gssapi with gss-ntlmssp (GssapiAllowedMech
// ntlmssp, NTLM users from NTLM_USER_FILE in Apache's environment; test/peers/apache-ntlm.sh):
// negotiateFetch with the pure NTLM initiator inside SPNEGO, three legs on one keep-alive
// connection (GssapiConnectionBound On), Apache's final token (its mechListMIC) verified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needPeer, peerForFile } from '../peers/harness.js';
import { negotiateFetch, createNegotiateFetch } from '../../lib/http/index.js';

const apache = peerForFile('apache-ntlm');

test('pure NTLM initiator -> Apache mod_auth_gssapi (gss-ntlmssp) over Negotiate: 200, user seen, final token verified', async (t) => {
  if (!needPeer(t, 'apache-ntlm') || !apache.current) return;
  const env = apache.current.env;
  const credentials = { principal: env.NTLM_APACHE_USER!, password: env.NTLM_APACHE_PASSWORD! };
  // A 'DOMAIN\\user' principal is NTLM only: SPNEGO lists NTLM alone, no KDC is asked.
  const res = await negotiateFetch(env.APACHE_URL!, {}, { backend: 'pure', target: 'HTTP@localhost', credentials, ntlm: true });
  assert.equal(res.status, 200);
  assert.equal((await res.text()).trim(), 'private ok');
  assert.equal(res.headers.get('x-remote-user'), env.NTLM_APACHE_USER);
  // The 200 carried Apache's accept-completed NegTokenResp (with the NTLM mechListMIC), which
  // negotiateFetch verified: a wrong one would have thrown.
  assert.match(res.headers.get('www-authenticate') ?? '', /^Negotiate [A-Za-z0-9+/=]+$/);

  // Reused across calls, and refused with a wrong password.
  const f = createNegotiateFetch({ backend: 'pure', target: 'HTTP@localhost', credentials, ntlm: true });
  for (let i = 0; i < 2; i++) assert.equal((await f(env.APACHE_URL!)).status, 200);
  // Apache answers a wrong password with a SPNEGO reject (negState reject in the 401's token).
  await assert.rejects(
    negotiateFetch(env.APACHE_URL!, {}, { backend: 'pure', target: 'HTTP@localhost', credentials: { ...credentials, password: 'wrong' }, ntlm: true }),
    (e: Error & { major?: string }) => e.major === 'GSS_S_BAD_MECH' && /rejected/.test(e.message),
  );
});
