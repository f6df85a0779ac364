// Imported FIRST by the test files that run gss-ntlmssp inside this process through the native
// addon: MIT's mechglue reads its mechanism list on the first GSSAPI call, so GSS_MECH_CONFIG must
// name gss-ntlmssp's mech.d file before any (scripts/run-tests.mjs pins it to /dev/null for the rest
// of the suite). Also a user file for gss-ntlmssp's acceptor (NTLM_USER_FILE, read per logon), no
// keytab (the library's SPNEGO acceptor then holds NTLM alone) and a krb5.conf whose KDC refuses
// connections (a native initiator's Kerberos element cannot start: NTLM alone is offered).
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NTLM_OID = '1.3.6.1.4.1.311.2.2.10';
export const USERS = 'EXAMPLE:alice:s3cret\n';

function mechConfig(): string | undefined {
  const mechd = '/etc/gss/mech.d';
  if (!existsSync(mechd)) return undefined;
  const f = readdirSync(mechd).find((n) => readFileSync(join(mechd, n), 'utf8').includes(NTLM_OID));
  return f ? join(mechd, f) : undefined;
}

export const ntlmsspMechConfig = mechConfig();
export const envDir = mkdtempSync(join(tmpdir(), 'ntlmssp-env-'));
if (ntlmsspMechConfig) {
  process.env.GSS_MECH_CONFIG = ntlmsspMechConfig;
  writeFileSync(join(envDir, 'users'), USERS);
  process.env.NTLM_USER_FILE = join(envDir, 'users');
  process.env.KRB5_KTNAME = `FILE:${join(envDir, 'no.keytab')}`;
  writeFileSync(join(envDir, 'krb5.conf'), '[libdefaults]\n default_realm = EXAMPLE\n dns_lookup_kdc = false\n dns_lookup_realm = false\n[realms]\n EXAMPLE = {\n  kdc = tcp/127.0.0.1:1\n }\n');
  process.env.KRB5_CONFIG = join(envDir, 'krb5.conf');
  process.env.KRB5CCNAME = `FILE:${join(envDir, 'ccache')}`;
}
