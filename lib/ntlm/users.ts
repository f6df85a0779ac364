/**
 * The acceptor's user store: a callback returning the NT hash (MD4 of the UTF-16LE password) for
 * (user, domain), and parsers of the two formats gss-ntlmssp reads from NTLM_USER_FILE:
 *   DOMAIN:USER:PASSWORD             (an empty DOMAIN matches any domain)
 *   smbpasswd: USER:UID:LMHASH:NTHASH:[FLAGS]:LCT-XXXXXXXX:   (no domain: matches any)
 * Names compare case-insensitively, as Windows account names do.
 */
import { DecodeError } from '../errors.js';
import { fromHex } from '../util/bytes.js';
import { ntHash } from './crypto.js';

/** Returns the user's 16-byte NT hash, or undefined when the user is unknown. */
export type NtlmUserStore = (user: string, domain: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface NtlmUserEntry {
  /** '' matches any domain */
  domain: string;
  user: string;
  ntHash: Uint8Array;
}

const fold = (s: string) => s.toUpperCase();

/** Parses an NTLM_USER_FILE (either format, line by line; '#' comments and blank lines skipped). */
export function parseNtlmUserFile(text: string): NtlmUserEntry[] {
  if (typeof text !== 'string') throw new DecodeError('NTLM_USER_FILE', 'not text');
  const out: NtlmUserEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = `NTLM_USER_FILE line ${i + 1}`;
    const parts = line.split(':');
    // smbpasswd: at least 6 fields, the 2nd a numeric UID, the 4th 32 hex digits or the X/NO PASSWORD marks.
    if (parts.length >= 6 && /^\d+$/.test(parts[1]!) && /^([0-9A-Fa-f]{32}|X{32}|NO PASSWORDX{21})$/.test(parts[3]!)) {
      const [user, , , nt, flags] = parts as [string, string, string, string, string];
      if (!user) throw new DecodeError(f, 'smbpasswd line without a user name');
      if (/^X+$|^NO PASSWORD/.test(nt)) return; // disabled or password-less: never matches
      if (/^\[[^\]]*D[^\]]*\]$/.test(flags.trim())) return; // [D] account disabled
      out.push({ domain: '', user, ntHash: fromHex(nt) });
      return;
    }
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) throw new DecodeError(f, 'expected DOMAIN:USER:PASSWORD or an smbpasswd line');
    const user = line.slice(a + 1, b);
    if (!user) throw new DecodeError(f, 'empty user name');
    // the password is everything after the second colon (it may itself hold colons)
    out.push({ domain: line.slice(0, a), user, ntHash: ntHash(raw.trimStart().slice(b + 1)) });
  });
  return out;
}

/** A user store over parsed entries: the first entry whose user (and domain, unless empty) match. */
export function userStoreFromEntries(entries: NtlmUserEntry[]): NtlmUserStore {
  return (user, domain) => {
    const u = fold(user);
    const d = fold(domain);
    const e = entries.find((x) => fold(x.user) === u && (x.domain === '' || fold(x.domain) === d));
    return e?.ntHash;
  };
}

export function userStoreFromFile(text: string): NtlmUserStore {
  return userStoreFromEntries(parseNtlmUserFile(text));
}
