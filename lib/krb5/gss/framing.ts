/**
 * Kerberos mechanism context tokens, RFC 4121 section 4.1 (RFC 1964 section 1.1):
 *   0x60 len | OID 1.2.840.113554.1.2.2 | TOK_ID (2 bytes) | KRB_AP_REQ / KRB_AP_REP / KRB_ERROR
 * Windows frames with the standard OID even when it negotiated the MS OID (checklist 1.3); both
 * are accepted on input, and a bare AP-REQ/AP-REP/KRB-ERROR (no framing) too, as MIT does for AP-REP.
 */
import { GssError } from '../../errors.js';
import { frameToken, unframeToken } from '../../gssapi/token.js';
import { Krb5MechOid, MessageType } from '../constants.js';

export const TokId = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

const KRB5_OIDS: string[] = [Krb5MechOid.krb5, Krb5MechOid.msKrb5, Krb5MechOid.krb5Old];

export function frameKrb5Token(tokId: number, body: Uint8Array): Uint8Array {
  const inner = new Uint8Array(2 + body.length);
  inner[0] = tokId >> 8;
  inner[1] = tokId & 0xff;
  inner.set(body, 2);
  return frameToken(KRB5_OIDS[0]!, inner);
}

/** Bare Kerberos message -> the TOK_ID it would carry. */
const BARE: Record<number, number> = {
  [0x60 | MessageType.KRB_AP_REQ]: TokId.AP_REQ,
  [0x60 | MessageType.KRB_AP_REP]: TokId.AP_REP,
  [0x60 | MessageType.KRB_ERROR]: TokId.KRB_ERROR,
};

export function unframeKrb5Token(bytes: Uint8Array): { tokId: number; body: Uint8Array } {
  if (bytes.length > 0 && bytes[0] !== 0x60 && BARE[bytes[0]!] !== undefined) return { tokId: BARE[bytes[0]!]!, body: bytes };
  const f = unframeToken(bytes, 'krb5 context token');
  if (!KRB5_OIDS.includes(f.mech)) throw new GssError('GSS_S_BAD_MECH', `not a Kerberos token (mechanism ${f.mech})`);
  if (f.inner.length < 2) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'Kerberos token without TOK_ID');
  return { tokId: (f.inner[0]! << 8) | f.inner[1]!, body: f.inner.subarray(2) };
}
