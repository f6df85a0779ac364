/**
 * `spnego compare --target SPN [--keytab FILE] [--mechs ms-krb5,krb5,ntlm]`: the negotiation of
 * `spnego demo`, in the user's own realm (KRB5_CONFIG, the default ccache or KRB5CCNAME), with every
 * available backend pairing; prints each mechListMIC, its bytes and whether the other
 * implementation computes the same bytes. Exit status 1 on any mismatch.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { Backend } from '../context.js';
import { nativeInfo } from '../native/index.js';
import type { Command } from './main.js';
import { micTable, pairingOk, runPairing, type PairingResult } from './pairings.js';

export const compareCommand: Command = {
  summary: 'negotiate with each backend pairing and compare the mechListMIC bytes',
  usage: [
    'usage: spnego compare --target SPN [--keytab FILE] [--mechs ms-krb5,krb5,ntlm] [--ccache NAME] [--krb5-config FILE]',
    '',
    '--target   the service: HTTP@host (host-based) or HTTP/host@REALM',
    '--keytab   the service keytab (default KRB5_KTNAME, then the library default)',
    '--mechs    the initiator mechanism list, in preference order (default ms-krb5,krb5,ntlm)',
    '--ccache   the initiator credentials (default KRB5CCNAME, then the default ccache)',
    'Exit status 1 when a pairing fails or a mechListMIC differs from its recomputation.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv, allowPositionals: false,
      options: { target: { type: 'string' }, keytab: { type: 'string' }, mechs: { type: 'string' }, ccache: { type: 'string' }, 'krb5-config': { type: 'string' } },
    });
    if (!values.target) throw new UsageError('--target is required (e.g. HTTP@web.example.test)');
    const mechs = (values.mechs ?? 'ms-krb5,krb5,ntlm').split(',').map((m) => m.trim()).filter(Boolean);
    const backends: Backend[] = ['pure'];
    const native = nativeInfo();
    if (native.loaded) backends.unshift('native');
    else console.log(`native backend absent, comparing pure only: ${native.error}`);
    const ccache = values.ccache ?? process.env.KRB5CCNAME;
    const results: PairingResult[] = [];
    for (const ib of backends) {
      for (const ab of backends) {
        results.push(await runPairing(ib, ab, {
          target: values.target, keytab: values.keytab ?? process.env.KRB5_KTNAME, mechs,
          credentials: ccache ? { ccache } : undefined, krb5Config: values['krb5-config'],
        }));
      }
    }
    console.log(micTable(results));
    const ok = results.every(pairingOk);
    console.log(`\n${ok ? 'OK' : 'MISMATCH'}: ${results.length} pairing(s)`);
    return ok ? 0 : 1;
  },
};
