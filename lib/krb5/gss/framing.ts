/**
 * Kerberos mechanism context tokens, RFC 4121 section 4.1 (RFC 1964 section 1.1):
 *   0x60 len | OID 1.2.840.113554.1.2.2 | TOK_ID (2 bytes) | KRB_AP_REQ / KRB_AP_REP / KRB_ERROR
 * Windows frames with the standard OID even when it negotiated the MS OID (checklist 1.3); both
 * are accepted on input, and a bare AP-REQ/AP-REP/KRB-ERROR (no framing) too, as MIT does for AP-REP.
 */
import { GssError } from '../../errors.js';
import { derLength, encodeOid, readDerLength, unframeToken } from '../../gssapi/token.js';
import { bytesEqual } from '../../util/bytes.js';
import { Krb5MechOid, MessageType } from '../constants.js';
import { DerNode } from '../asn1/der.js';

export const TokId = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

const KRB5_OIDS: string[] = [Krb5MechOid.krb5, Krb5MechOid.msKrb5, Krb5MechOid.krb5Old];
/** The same OIDs' DER contents, encoded once (framing is on every handshake). */
const KRB5_OID_BYTES = KRB5_OIDS.map((o) => encodeOid(o));

/**
 * RFC 2743 3.1: 0x60 len | 06 len OID | TOK_ID | body, written in one allocation (a DerNode body
 * is written straight into it).
 */
export function frameKrb5Token(tokId: number, body: Uint8Array | DerNode): Uint8Array {
  const oid = KRB5_OID_BYTES[0]!;
  const bodyLen = body instanceof DerNode ? body.size : body.length;
  const innerLen = 2 + oid.length + 2 + bodyLen;
  const len = derLength(innerLen);
  const out = new Uint8Array(1 + len.length + innerLen);
  out[0] = 0x60;
  out.set(len, 1);
  let o = 1 + len.length;
  out[o++] = 0x06;
  out[o++] = oid.length;
  out.set(oid, o);
  o += oid.length;
  out[o++] = tokId >> 8;
  out[o++] = tokId & 0xff;
  if (body instanceof DerNode) body.writeTo(out, o);
  else out.set(body, o);
  return out;
}

/**
 * The body after a known Kerberos OID when the framing is well formed (the same checks as
 * unframeToken: definite minimal lengths, the outer length covering the input exactly); undefined
 * otherwise, and unframeToken then gives the precise error.
 */
function fastUnframe(bytes: Uint8Array): Uint8Array | undefined {
  try {
    const outer = readDerLength(bytes, 1, bytes.length, 'krb5 context token');
    if (outer.start + outer.length !== bytes.length || bytes[outer.start] !== 0x06) return undefined;
    const oid = readDerLength(bytes, outer.start + 1, bytes.length, 'krb5 context token');
    const oidBytes = bytes.subarray(oid.start, oid.start + oid.length);
    return KRB5_OID_BYTES.some((k) => bytesEqual(k, oidBytes)) ? bytes.subarray(oid.start + oid.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Bare Kerberos message -> the TOK_ID it would carry. */
const BARE: Record<number, number> = {
  [0x60 | MessageType.KRB_AP_REQ]: TokId.AP_REQ,
  [0x60 | MessageType.KRB_AP_REP]: TokId.AP_REP,
  [0x60 | MessageType.KRB_ERROR]: TokId.KRB_ERROR,
};

export function unframeKrb5Token(bytes: Uint8Array): { tokId: number; body: Uint8Array } {
  if (bytes.length > 0 && bytes[0] !== 0x60 && BARE[bytes[0]!] !== undefined) return { tokId: BARE[bytes[0]!]!, body: bytes };
  const fast = bytes.length > 0 && bytes[0] === 0x60 ? fastUnframe(bytes) : undefined;
  const f = fast ? { inner: fast } : unframeToken(bytes, 'krb5 context token');
  if ('mech' in f && !KRB5_OIDS.includes(f.mech)) throw new GssError('GSS_S_BAD_MECH', `not a Kerberos token (mechanism ${f.mech})`);
  if (f.inner.length < 2) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'Kerberos token without TOK_ID');
  return { tokId: (f.inner[0]! << 8) | f.inner[1]!, body: f.inner.subarray(2) };
}
