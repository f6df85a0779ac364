/**
 * The npm `kerberos` package (mongodb-js), the addon users have today, loaded for comparison only.
 * It is not a dependency of spnego: the bench installs it once into .tmp/bench-deps.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KerberosAddon {
  version?: string;
  GSS_MECH_OID_KRB5: unknown;
  GSS_MECH_OID_SPNEGO: unknown;
  initializeClient(service: string, opts: { mechOID?: unknown }): Promise<any>;
  initializeServer(service: string): Promise<any>;
}

export async function loadKerberosAddon(): Promise<KerberosAddon> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '.tmp', 'bench-deps');
  if (!existsSync(join(root, 'node_modules', 'kerberos', 'package.json'))) {
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'package.json'), '{ "name": "bench-deps", "private": true }\n');
    const prefix = dirname(dirname(process.execPath));
    const args = ['install', '--no-audit', '--no-fund', '--no-save', 'kerberos@7'];
    if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
    console.log('installing the npm kerberos addon into .tmp/bench-deps for the comparison...');
    execFileSync('npm', args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const req = createRequire(join(root, 'package.json'));
  const k = req('kerberos') as KerberosAddon;
  k.version = (req('kerberos/package.json') as { version: string }).version;
  return k;
}
