/**
 * `spnego compare --target SPN [--keytab FILE] [--mechs ms-krb5,krb5,ntlm]`: the negotiation of
 * `spnego demo`, in the user's own realm (KRB5_CONFIG, the default ccache or KRB5CCNAME), with every
 * available backend pairing; prints each mechListMIC, its bytes and whether the other
 * implementation computes the same bytes. Exit status 1 on any mismatch.
 * With SSPI as the native library: its acceptor takes no keytab (the logon session's, or under
 * Wine KRB5_KTNAME of the start environment) and its initiator no ccache (the logon session's);
 * SSPI -> SSPI is not run, as in the demo (under Wine neither side reports the session key).
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { Backend } from '../context.js';
import { nativeInfo } from '../native/index.js';
import type { Command } from './main.js';
import { NegotiationRecorder } from '../capture/recorder.js';
import { Keytab, openKeytab, type KeytabEntry } from '../krb5/keytab.js';
import { micTable, pairingOk, runPairing, type PairingResult } from './pairings.js';

/**
 * The keytab entries of the target service: 'svc@host' (host-based, any realm) or 'svc/host@REALM'
 * (that realm); host compared without case. Only these are ever exported.
 */
export function serviceEntries(entries: KeytabEntry[], target: string): KeytabEntry[] {
  const m = /^([^@/]+)[@/]([^@]+)(?:@(.+))?$/.exec(target);
  if (!m) throw new UsageError(`--target ${target} is neither svc@host nor svc/host@REALM`);
  const [, svc, host, realm] = m;
  return entries.filter((e) => e.name.nameString.length === 2 && e.name.nameString[0] === svc && e.name.nameString[1]!.toLowerCase() === host!.toLowerCase()
    && (realm === undefined || e.realm === realm));
}

export const compareCommand: Command = {
  summary: 'negotiate with each backend pairing and compare the mechListMIC bytes',
  usage: [
    'usage: spnego compare --target SPN [--keytab FILE] [--mechs ms-krb5,krb5,ntlm] [--ccache NAME] [--krb5-config FILE] [--pcap FILE [--export-keys]]',
    '',
    '--target   the service: HTTP@host (host-based) or HTTP/host@REALM',
    '--keytab   the service keytab (default KRB5_KTNAME, then the library default)',
    '--mechs    the initiator mechanism list, in preference order (default ms-krb5,krb5,ntlm)',
    '--ccache   the initiator credentials (default KRB5CCNAME, then the default ccache)',
    '--pcap     write the tokens of every pairing as HTTP Negotiate over TCP on loopback to FILE (tokens only, no keys)',
    '--export-keys  with --pcap: ALSO copy the target service\'s keys from the keytab to FILE.keytab, so Wireshark',
    '           decrypts tickets, PACs and authenticators. These are the long-term secrets of a service in YOUR',
    '           realm: anyone holding them can forge tickets to it. Never share them; delete them when done.',
    'Exit status 1 when a pairing fails or a mechListMIC differs from its recomputation.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv, allowPositionals: false,
      options: {
        target: { type: 'string' }, keytab: { type: 'string' }, mechs: { type: 'string' }, ccache: { type: 'string' }, 'krb5-config': { type: 'string' },
        pcap: { type: 'string' }, 'export-keys': { type: 'boolean' },
      },
    });
    if (!values.target) throw new UsageError('--target is required (e.g. HTTP@web.example.test)');
    if (values['export-keys'] && !values.pcap) throw new UsageError('--export-keys goes with --pcap FILE (the keys are written to FILE.keytab)');
    const exportKeys = values['export-keys'] === true;
    // The user's real realm: the capture holds tokens only; keys are written only with --export-keys.
    const recorder = values.pcap ? new NegotiationRecorder({ host: values.target.replace(/^[^@/]*[@/]/, '').replace(/@.*$/, '') }) : undefined;
    const mechs = (values.mechs ?? 'ms-krb5,krb5,ntlm').split(',').map((m) => m.trim()).filter(Boolean);
    const backends: Backend[] = ['pure'];
    const native = nativeInfo();
    if (native.loaded) backends.unshift('native');
    else console.log(`native backend absent, comparing pure only: ${native.error}`);
    const ccache = values.ccache ?? process.env.KRB5CCNAME;
    const sspi = native.loaded && native.library === 'SSPI';
    const results: PairingResult[] = [];
    for (const ib of backends) {
      for (const ab of backends) {
        if (sspi && ib === 'native' && ab === 'native') {
          console.log('native (SSPI) -> native (SSPI): not run (under Wine SSPI reports no session key: nothing to recompute the MICs from)');
          continue;
        }
        results.push(await runPairing(ib, ab, {
          target: values.target, keytab: values.keytab ?? process.env.KRB5_KTNAME, mechs,
          credentials: ccache ? { ccache } : undefined, krb5Config: values['krb5-config'], recorder,
          nativeAcceptorWithoutKeytab: sspi, nativeInitiatorWithoutCcache: sspi,
        }));
      }
    }
    console.log(micTable(results));
    const ok = results.every(pairingOk);
    if (recorder && values.pcap) {
      recorder.writePcap(values.pcap);
      console.log(`\ncapture: ${values.pcap} (${recorder.exchanges.length} TCP stream(s), tokens only)`);
      if (exportKeys) {
        const keytab = openKeytab(values.keytab);
        const entries = serviceEntries(keytab.entries, values.target);
        if (!entries.length) throw new UsageError(`--export-keys: ${keytab.path} has no key for ${values.target}; nothing written`);
        new Keytab(entries, `${values.pcap}.keytab`).save();
        const names = [...new Set(entries.map((e) => `${e.name.nameString.join('/')}@${e.realm}`))].join(', ');
        const warning = [
          `WARNING: --export-keys copied ${entries.length} LONG-TERM KEY(S) of ${names}, a service of your real realm, to ${values.pcap}.keytab.`,
          'WARNING: whoever holds this file can forge tickets to that service and read its traffic.',
          'WARNING: keep it private, delete it when done; never attach it to a bug report.',
        ].join('\n');
        console.error(warning);
        console.log(warning);
        console.log(`  wireshark -o kerberos.decrypt:TRUE -o kerberos.file:${values.pcap}.keytab ${values.pcap}`);
      } else {
        console.log(`  no keys written (your realm): Wireshark shows the tokens, not their encrypted parts; open it with the service keytab you have:\n  wireshark -o kerberos.decrypt:TRUE -o kerberos.file:/path/to/service.keytab ${values.pcap}`);
      }
    }
    console.log(`\n${ok ? 'OK' : 'MISMATCH'}: ${results.length} pairing(s)`);
    return ok ? 0 : 1;
  },
};
