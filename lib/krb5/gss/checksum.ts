/**
 * RFC 4121 section 4.1.1: the authenticator checksum of type 0x8003 that carries the GSS flags,
 * the channel-bindings hash and, with GSS_C_DELEG_FLAG, a KRB-CRED. Little-endian fields:
 *   Lgth(4) = 16 | Bnd(16) | Flags(4) | [DlgOpt(2) = 1 | Dlgth(2) | Deleg(Dlgth)] | [Exts]
 */
import { DecodeError } from '../../errors.js';

/** GSS context flags as they travel in Flags (RFC 4121 4.1.1.1; DCE style from MS-KILE 3.2.5.2). */
export const GssFlags = {
  deleg: 1, mutual: 2, replay: 4, sequence: 8, conf: 16, integ: 32, anon: 64, dceStyle: 0x1000,
  /** Return flag only (GSS_C_CHANNEL_BOUND_FLAG, MIT 1.19+): the initiator's bindings matched the acceptor's. */
  channelBound: 0x800,
} as const;

export interface AuthenticatorChecksum {
  /** MD5 of the channel bindings (RFC 4121 4.1.1.2), or 16 zero bytes without bindings. */
  bnd: Uint8Array;
  flags: number;
  /** The KRB-CRED (DER) when the deleg flag is set. */
  deleg?: Uint8Array;
  /** Bytes after the fixed fields (RFC 4121 extensions), kept as received. */
  exts?: Uint8Array;
}

export function encodeAuthenticatorChecksum(v: AuthenticatorChecksum): Uint8Array {
  if (v.bnd.length !== 16) throw new RangeError('Bnd must be 16 bytes');
  const delegLen = v.deleg ? 4 + v.deleg.length : 0;
  if (v.deleg && v.deleg.length > 0xffff) throw new RangeError('delegated credential too large for Dlgth');
  const out = new Uint8Array(24 + delegLen + (v.exts?.length ?? 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 16, true);
  out.set(v.bnd, 4);
  dv.setUint32(20, (v.flags | (v.deleg ? GssFlags.deleg : 0)) >>> 0, true);
  if (v.deleg) {
    dv.setUint16(24, 1, true);
    dv.setUint16(26, v.deleg.length, true);
    out.set(v.deleg, 28);
  }
  if (v.exts) out.set(v.exts, 24 + delegLen);
  return out;
}

/** Decodes the 0x8003 checksum value; never trusts Lgth or Dlgth beyond the buffer. */
export function decodeAuthenticatorChecksum(b: Uint8Array): AuthenticatorChecksum {
  const field = 'GSS authenticator checksum (0x8003)';
  if (b.length < 24) throw new DecodeError(field, `needs at least 24 bytes, got ${b.length}`, 0);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const lgth = dv.getUint32(0, true);
  if (lgth !== 16) throw new DecodeError(`${field}.Lgth`, `must be 16, got ${lgth}`, 0);
  const flags = dv.getUint32(20, true);
  const out: AuthenticatorChecksum = { bnd: b.slice(4, 20), flags };
  let off = 24;
  if (flags & GssFlags.deleg) {
    if (b.length < 28) throw new DecodeError(`${field}.DlgOpt`, 'deleg flag set but no delegation field', 24);
    const dlgOpt = dv.getUint16(24, true);
    if (dlgOpt !== 1) throw new DecodeError(`${field}.DlgOpt`, `must be 1, got ${dlgOpt}`, 24);
    const dlgth = dv.getUint16(26, true);
    if (28 + dlgth > b.length) throw new DecodeError(`${field}.Dlgth`, `${dlgth} runs past the end`, 26);
    out.deleg = b.slice(28, 28 + dlgth);
    off = 28 + dlgth;
  }
  if (off < b.length) out.exts = b.slice(off);
  return out;
}
