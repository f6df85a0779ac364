/**
 * tshark (Wireshark's dissectors: an implementation of SPNEGO, Kerberos, GSS and the PAC nobody
 * here wrote) run on a capture file; fields read with -T fields. tshark is a harness peer: missing,
 * a test skips with the reason, and fails under SPNEGO_REQUIRE_PEERS=1.
 */
import { execFileSync } from 'node:child_process';

export const TSHARK = '/usr/bin/tshark';

/** Runs tshark; its stderr (the "running as root" warning) is dropped, a non-zero exit throws with it. */
export function tshark(args: string[]): string {
  return execFileSync(TSHARK, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** The options that make Wireshark decrypt Kerberos with a keytab. */
export const decryptWith = (keytab: string) => ['-o', 'kerberos.decrypt:TRUE', '-o', `kerberos.file:${keytab}`];
export const checkChecksums = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'];

/** One row per packet matching `filter`: each field's occurrences (empty array when absent). */
export function fields(file: string, filter: string, names: string[], extra: string[] = []): Record<string, string[]>[] {
  const out = tshark(['-r', file, ...extra, '-Y', filter, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=;', ...names.flatMap((n) => ['-e', n])]);
  return out.split('\n').filter((l) => l.length).map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(names.map((n, i) => [n, cells[i] ? cells[i]!.split(';') : []]));
  });
}

/** Packets tshark marks malformed (must be none). */
export function malformed(file: string, extra: string[] = []): string {
  return tshark(['-r', file, ...extra, '-Y', '_ws.malformed']).trim();
}

/** The expert info of severity error, as `-z expert,error` prints it (empty when there is none). */
export function expertErrors(file: string, extra: string[] = []): string {
  const out = tshark(['-r', file, ...extra, '-q', '-z', 'expert,error']);
  const m = /Errors \(\d+\)[\s\S]*?(?=\n\n|$)/.exec(out);
  return m ? m[0] : '';
}
