/** Security identifiers (MS-DTYP 2.4.2): "S-1-5-21-x-y-z-rid" <-> the RPC_SID / binary forms. */
import { DecodeError, UsageError } from '../../errors.js';

export interface Sid {
  revision: number;
  authority: bigint; // 48-bit IdentifierAuthority
  subAuthorities: number[];
}

export function parseSid(s: string): Sid {
  const m = /^S-(\d+)-(\d+)((?:-\d+)*)$/i.exec(s.trim());
  if (!m) throw new UsageError(`not a SID: "${s}" (expected S-1-5-21-...)`);
  const subs = m[3] ? m[3].slice(1).split('-').map(Number) : [];
  if (subs.length > 15 || subs.some((x) => x > 0xffffffff)) throw new UsageError(`not a SID: "${s}"`);
  return { revision: Number(m[1]), authority: BigInt(m[2]!), subAuthorities: subs };
}

export function formatSid(sid: Sid): string {
  // One join: a flat string, where concatenation leaves a chain of pieces that an established
  // context would keep for each SID of its PAC.
  return ['S', sid.revision, sid.authority, ...sid.subAuthorities].join('-');
}

/** A SID with one more RID (a domain SID + a user or group RID). */
export function sidWithRid(domain: Sid, rid: number): Sid {
  return { ...domain, subAuthorities: [...domain.subAuthorities, rid >>> 0] };
}

/** The binary form (MS-DTYP 2.4.2.2), as in UPN_DNS_INFO's SID. */
export function decodeSidBytes(b: Uint8Array, field: string): Sid {
  if (b.length < 8) throw new DecodeError(field, 'SID shorter than 8 bytes', 0);
  const n = b[1]!;
  if (n > 15 || b.length < 8 + 4 * n) throw new DecodeError(field, `SID with ${n} sub-authorities does not fit`, 1);
  let authority = 0n;
  for (let i = 2; i < 8; i++) authority = (authority << 8n) | BigInt(b[i]!);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { revision: b[0]!, authority, subAuthorities: Array.from({ length: n }, (_, i) => dv.getUint32(8 + 4 * i, true)) };
}
