// Run by node.exe under Wine (test/windows/sspi.test.ts): an SSPI context with no credentials given
// and none to be found (KRB5CCNAME / KRB5_KTNAME of this process point at files that do not exist),
// so that AcquireCredentialsHandleW fails. Prints one JSON line per role: the typed error as thrown.
//   usage: node.exe no-credentials.mjs <dist-entry> <target>
import { pathToFileURL } from 'node:url';

const [entry, target] = process.argv.slice(2);
const api = await import(pathToFileURL(entry).href);
for (const role of ['initiator', 'acceptor']) {
  let out;
  try {
    const ctx = role === 'initiator'
      ? api.createInitiator({ backend: 'native', mech: 'kerberos', target })
      : api.createAcceptor({ backend: 'native', mech: 'kerberos' });
    // The acceptor's credential is acquired at its first step: any bytes will do, it never reads them.
    await ctx.step(role === 'initiator' ? undefined : Uint8Array.of(0x60, 0x00));
    out = { role, ok: true };
  } catch (e) {
    out = { role, name: e?.name, major: e?.major, minorName: e?.minorName, message: String(e?.message ?? e) };
  }
  console.log(JSON.stringify(out));
}
