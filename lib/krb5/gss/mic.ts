/**
 * GSS MIC tokens of the Kerberos mechanism:
 * - RFC 4121 section 4.2.6.1 (every enctype but rc4): TOK_ID 04 04, Flags, FF x5, SND_SEQ (BE64),
 *   SGN_CKSUM = checksum(key, usage 23 acceptor / 25 initiator, message || header).
 * - RFC 4757 section 7.2 (rc4-hmac): framed with the krb5 OID, TOK_ID 01 01, SGN_ALG 11 00 (HMAC MD5),
 *   FF x4, SND_SEQ encrypted with RC4, 8-byte SGN_CKSUM.
 * The mechListMIC of RFC 4178 is exactly such a token over the MechTypeList DER.
 */
import { GssError } from '../../errors.js';
import { concatBytes, constantTimeEqual, readUint32BE } from '../../util/bytes.js';
import { KeyUsage, Krb5MechOid } from '../constants.js';
import type { Key } from '../types.js';
import { makeChecksum, makeChecksumOf, getCryptoProvider, rc4 } from '../crypto/index.js';
import { frameToken, unframeToken } from '../../gssapi/token.js';

/** RFC 4121 section 4.2.2 flag bits. */
export const CfxFlags = { SentByAcceptor: 0x01, Sealed: 0x02, AcceptorSubkey: 0x04 } as const;

export interface MicParams {
  /** The context key (RFC 4121 section 2: acceptor subkey, else initiator subkey, else session key). */
  key: Key;
  /** The sender's sequence number for this token. */
  seqNumber: bigint | number;
  /** True when the acceptor sends the token. */
  fromAcceptor: boolean;
  /** RFC 4121: set when the key is the acceptor's subkey. */
  acceptorSubkey: boolean;
}

const KRB5_OID = Krb5MechOid.krb5;

/** The 16 header bytes of a MIC token (RFC 4121 4.2.6.1), written into one scratch array (calls are synchronous). */
const HEADER = new Uint8Array(16);
const HEADER_VIEW = new DataView(HEADER.buffer);
HEADER.set([0x04, 0x04, 0, 0xff, 0xff, 0xff, 0xff, 0xff]);

function cfxHeader(p: MicParams): Uint8Array {
  HEADER[2] = (p.fromAcceptor ? CfxFlags.SentByAcceptor : 0) | (p.acceptorSubkey ? CfxFlags.AcceptorSubkey : 0);
  setSeq64(HEADER_VIEW, 8, p.seqNumber);
  return HEADER;
}

/** SND_SEQ as 64 bits big-endian; a number (the usual case) is written without BigInt arithmetic. */
export function setSeq64(dv: DataView, at: number, seq: bigint | number): void {
  if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) {
    dv.setUint32(at, Math.floor(seq / 0x100000000));
    dv.setUint32(at + 4, seq >>> 0);
  } else dv.setBigUint64(at, BigInt(seq) & 0xffffffffffffffffn);
}

/** RFC 4757 section 7.2: Kseq = HMAC(HMAC(K, 0), cksum); SND_SEQ = RC4(Kseq, seq(BE32) || direction x4). */
function rc4Mic(p: MicParams, message: Uint8Array): Uint8Array {
  const c = getCryptoProvider();
  const header = Uint8Array.of(0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff);
  // hmac-md5 checksum (key usage 15 = KRB_SAFE_CKSUM, as MIT and Windows use) over header || message
  const cksum = makeChecksum(p.key, KeyUsage.KRB_SAFE_CKSUM, concatBytes(header, message), undefined, { allowWeak: true }).subarray(0, 8);
  const seq = new Uint8Array(8);
  new DataView(seq.buffer).setUint32(0, Number(BigInt(p.seqNumber) & 0xffffffffn));
  seq.fill(p.fromAcceptor ? 0xff : 0x00, 4, 8);
  const kseq = c.hmac('md5', c.hmac('md5', p.key.keyvalue, new Uint8Array(4)), cksum);
  return frameToken(KRB5_OID, concatBytes(header, rc4(kseq, seq), cksum));
}

/** GSS_GetMIC for the krb5 mechanism. */
export function getMic(p: MicParams, message: Uint8Array): Uint8Array {
  if (p.key.enctype === 23) return rc4Mic(p, message);
  const header = cfxHeader(p);
  const usage = p.fromAcceptor ? KeyUsage.KG_USAGE_ACCEPTOR_SIGN : KeyUsage.KG_USAGE_INITIATOR_SIGN;
  const cksum = makeChecksumOf(p.key, usage, [message, header]);
  const token = new Uint8Array(16 + cksum.length);
  token.set(header);
  token.set(cksum, 16);
  return token;
}

/**
 * GSS_VerifyMIC: recomputes the token for the sequence number it carries and compares in constant
 * time. Returns that sequence number (the caller's replay/sequence checks use it).
 */
export function verifyMic(p: Omit<MicParams, 'seqNumber'>, message: Uint8Array, token: Uint8Array): bigint {
  let seq: bigint | number;
  if (p.key.enctype === 23) {
    const { inner } = unframeToken(token, 'RFC 4757 MIC token');
    if (inner.length !== 24 || inner[0] !== 0x01 || inner[1] !== 0x01) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'not an RFC 4757 MIC token');
    const c = getCryptoProvider();
    const kseq = c.hmac('md5', c.hmac('md5', p.key.keyvalue, new Uint8Array(4)), inner.subarray(16, 24));
    const plainSeq = rc4(kseq, inner.subarray(8, 16));
    // RFC 4757 7.2: the last 4 bytes say who sent it (00 initiator, FF acceptor). The sequence number
    // is encrypted but not covered by the checksum: only the context's sequence checks catch an edit.
    const dir = p.fromAcceptor ? 0xff : 0x00;
    if (plainSeq.subarray(4, 8).some((x) => x !== dir)) throw new GssError('GSS_S_BAD_MIC', 'MIC token direction bytes do not match the sender');
    seq = BigInt(new DataView(plainSeq.buffer, plainSeq.byteOffset, 8).getUint32(0));
  } else {
    if (token.length < 16 || token[0] !== 0x04 || token[1] !== 0x04) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'not an RFC 4121 MIC token (TOK_ID 04 04)');
    const sentByAcceptor = (token[2]! & CfxFlags.SentByAcceptor) !== 0;
    if (sentByAcceptor !== p.fromAcceptor) throw new GssError('GSS_S_BAD_MIC', 'MIC token direction flag does not match the sender');
    // SND_SEQ as a number while it is one (the usual case: getMic then writes it without BigInt).
    const hi = readUint32BE(token, 8);
    seq = hi < 0x200000 ? hi * 0x100000000 + readUint32BE(token, 12) : new DataView(token.buffer, token.byteOffset, 16).getBigUint64(8);
  }
  const expected = getMic({ key: p.key, fromAcceptor: p.fromAcceptor, acceptorSubkey: p.acceptorSubkey, seqNumber: seq }, message);
  if (!constantTimeEqual(expected, token)) throw new GssError('GSS_S_BAD_MIC', 'MIC does not verify');
  return BigInt(seq);
}

/** What a MIC token's header says, read without checking its checksum. */
export interface MicHeader {
  /** SND_SEQ: RFC 4121 the 64-bit field; RFC 4757 the first 4 bytes of the decrypted SND_SEQ. */
  seqNumber: bigint;
  /** RFC 4121 flag SentByAcceptor; RFC 4757 direction bytes FF FF FF FF (00 x4 is the initiator). */
  sentByAcceptor: boolean;
  /** RFC 4121 flag AcceptorSubkey; always false for RFC 4757, which has no such flag. */
  acceptorSubkey: boolean;
}

/**
 * Reads a MIC token's header WITHOUT verifying it, so that a cross-check can recompute the token
 * from the key and the header's own fields and compare bytes (verifyMic would echo the token).
 * - RFC 4121 4.2.6.1: TOK_ID 04 04, Flags, filler, SND_SEQ (BE64) in the clear.
 * - RFC 4757 7.2: SND_SEQ is RC4-encrypted with Kseq = HMAC(HMAC(K, 0), SGN_CKSUM). By default the
 *   token's own SGN_CKSUM (what a receiver has); `rc4Checksum` substitutes another, e.g. the one a
 *   cross-check recomputed, so a wrong checksum byte shows as itself rather than as a garbled SND_SEQ.
 * Throws GSS_S_DEFECTIVE_TOKEN when the token is not a MIC token of the key's format.
 */
export function readMicHeader(token: Uint8Array, key: Key, opts: { rc4Checksum?: Uint8Array } = {}): MicHeader {
  if (key.enctype === 23) {
    const { inner } = unframeToken(token, 'RFC 4757 MIC token');
    if (inner.length !== 24 || inner[0] !== 0x01 || inner[1] !== 0x01) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'not an RFC 4757 MIC token (TOK_ID 01 01, 24 bytes)');
    const cksum = opts.rc4Checksum ?? inner.subarray(16, 24);
    if (cksum.length !== 8) throw new GssError('GSS_S_FAILURE', 'an RFC 4757 MIC checksum is 8 bytes');
    const c = getCryptoProvider();
    const kseq = c.hmac('md5', c.hmac('md5', key.keyvalue, new Uint8Array(4)), cksum);
    const plainSeq = rc4(kseq, inner.subarray(8, 16));
    return {
      seqNumber: BigInt(new DataView(plainSeq.buffer, plainSeq.byteOffset, 8).getUint32(0)),
      sentByAcceptor: plainSeq.subarray(4, 8).every((x) => x === 0xff),
      acceptorSubkey: false,
    };
  }
  if (token.length < 16 || token[0] !== 0x04 || token[1] !== 0x04) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'not an RFC 4121 MIC token (TOK_ID 04 04, 16-byte header)');
  return {
    seqNumber: new DataView(token.buffer, token.byteOffset, 16).getBigUint64(8),
    sentByAcceptor: (token[2]! & CfxFlags.SentByAcceptor) !== 0,
    acceptorSubkey: (token[2]! & CfxFlags.AcceptorSubkey) !== 0,
  };
}
