/**
 * GSS Wrap tokens of the Kerberos mechanism:
 * - RFC 4121 section 4.2.6.2 (every enctype but rc4): TOK_ID 05 04 | Flags | FF | EC | RRC | SND_SEQ,
 *   then, sealed: E(Ke, {data | EC filler | header with RRC 0}), or integrity only: data | checksum
 *   (EC = checksum length, checksum over data | header with EC = RRC = 0). The body may be rotated
 *   right by RRC bytes (Windows sends RRC 28 sealed / 12 not, MS-KILE 3.4.5.4.1).
 * - RFC 4757 section 7.3 (rc4-hmac): framed, TOK_ID 02 01 | SGN_ALG 11 00 | SEAL_ALG 10 00 or FF FF |
 *   FF FF | SND_SEQ | SGN_CKSUM | Confounder | data | pad 01, with Kseq and Kcrypt as the RFC says.
 */
import { GssError } from '../../errors.js';
import { bytesEqual, concatBytes, constantTimeEqual } from '../../util/bytes.js';
import { KeyUsage, Krb5MechOid } from '../constants.js';
import type { Key } from '../types.js';
import { decrypt, encrypt, getCryptoProvider, getEncType, makeChecksum, makeChecksumOf, rc4 } from '../crypto/index.js';
import { frameToken, unframeToken } from '../../gssapi/token.js';
import { CfxFlags, setSeq64 } from './mic.js';

export interface WrapParams {
  key: Key;
  fromAcceptor: boolean;
  acceptorSubkey: boolean;
  seqNumber: bigint | number;
}

export interface UnwrapResult {
  message: Uint8Array;
  encrypted: boolean;
  seqNumber: bigint;
}

const KRB5_OID = Krb5MechOid.krb5;

function header(p: WrapParams, sealed: boolean, ec: number, rrc: number): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  h[0] = 0x05;
  h[1] = 0x04;
  h[2] = (p.fromAcceptor ? CfxFlags.SentByAcceptor : 0) | (sealed ? CfxFlags.Sealed : 0) | (p.acceptorSubkey ? CfxFlags.AcceptorSubkey : 0);
  h[3] = 0xff;
  dv.setUint16(4, ec);
  dv.setUint16(6, rrc);
  setSeq64(dv, 8, p.seqNumber);
  return h;
}

/** Rotate right by n (RFC 4121 4.2.5); rotateLeft undoes it. */
function rotateLeft(b: Uint8Array, n: number): Uint8Array {
  if (b.length === 0) return b;
  const k = n % b.length;
  return k === 0 ? b : concatBytes(b.subarray(k), b.subarray(0, k));
}
function rotateRight(b: Uint8Array, n: number): Uint8Array {
  if (b.length === 0) return b;
  return rotateLeft(b, b.length - (n % b.length));
}

const sealUsage = (fromAcceptor: boolean) => (fromAcceptor ? KeyUsage.KG_USAGE_ACCEPTOR_SEAL : KeyUsage.KG_USAGE_INITIATOR_SEAL);

/** GSS_Wrap. `rrc` rotates the body (default 0, as MIT and Heimdal send). */
export function wrapToken(p: WrapParams, message: Uint8Array, opts: { encrypt?: boolean; rrc?: number } = {}): Uint8Array {
  const sealed = opts.encrypt ?? true;
  if (p.key.enctype === 23) return rc4Wrap(p, message, sealed);
  const rrc = opts.rrc ?? 0;
  const usage = sealUsage(p.fromAcceptor);
  if (sealed) {
    // EC = 0: CTS needs no padding (MIT k5sealv3 does the same for AES).
    const h = header(p, true, 0, 0);
    const body = encrypt(p.key, usage, concatBytes(message, h));
    return concatBytes(header(p, true, 0, rrc), rotateRight(body, rrc));
  }
  const cksumLen = getEncType(p.key.enctype).checksumBytes;
  const cksum = makeChecksumOf(p.key, usage, [message, header(p, false, 0, 0)]);
  return concatBytes(header(p, false, cksumLen, rrc), rotateRight(concatBytes(message, cksum), rrc));
}

/** GSS_Unwrap: checks direction, flags, EC/RRC bounds and integrity; returns the message and its SND_SEQ. */
export function unwrapToken(p: Omit<WrapParams, 'seqNumber'>, token: Uint8Array): UnwrapResult {
  if (p.key.enctype === 23) return rc4Unwrap(p, token);
  if (token.length < 16 || token[0] !== 0x05 || token[1] !== 0x04) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'not an RFC 4121 Wrap token (TOK_ID 05 04)');
  const flags = token[2]!;
  if (token[3] !== 0xff) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'Wrap token filler byte is not FF');
  if (((flags & CfxFlags.SentByAcceptor) !== 0) !== p.fromAcceptor) throw new GssError('GSS_S_BAD_MIC', 'Wrap token direction flag does not match the sender (reflected token?)');
  if ((flags & CfxFlags.AcceptorSubkey) !== 0 && !p.acceptorSubkey) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'Wrap token claims an acceptor subkey this context does not have');
  const dv = new DataView(token.buffer, token.byteOffset, 16);
  const ec = dv.getUint16(4);
  const rrc = dv.getUint16(6);
  const seqNumber = dv.getBigUint64(8);
  const body = rotateLeft(token.subarray(16), rrc);
  const sealed = (flags & CfxFlags.Sealed) !== 0;
  const usage = sealUsage(p.fromAcceptor);
  if (sealed) {
    let pt: Uint8Array;
    try {
      pt = decrypt(p.key, usage, body);
    } catch {
      throw new GssError('GSS_S_BAD_MIC', 'Wrap token does not decrypt (wrong key or tampered)');
    }
    if (pt.length < ec + 16) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `Wrap token EC ${ec} runs past the plaintext`);
    // The encrypted header copy must equal the clear one with RRC = 0 (RFC 4121 4.2.4).
    const inner = pt.subarray(pt.length - 16);
    const outer = token.slice(0, 16);
    outer[6] = 0;
    outer[7] = 0;
    if (!constantTimeEqual(inner, outer)) throw new GssError('GSS_S_BAD_MIC', 'Wrap token header does not match its encrypted copy');
    return { message: pt.slice(0, pt.length - ec - 16), encrypted: true, seqNumber };
  }
  const cksumLen = getEncType(p.key.enctype).checksumBytes;
  if (ec !== cksumLen) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `integrity-only Wrap token EC ${ec} is not the checksum length ${cksumLen}`);
  if (body.length < cksumLen) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'Wrap token shorter than its checksum');
  const message = body.slice(0, body.length - cksumLen);
  const h = token.slice(0, 16);
  h[4] = h[5] = h[6] = h[7] = 0;
  const want = makeChecksumOf(p.key, usage, [message, h]);
  if (!constantTimeEqual(want, body.subarray(body.length - cksumLen))) throw new GssError('GSS_S_BAD_MIC', 'Wrap token checksum does not verify');
  return { message, encrypted: false, seqNumber };
}

// ---- RFC 4757 section 7.3 -------------------------------------------------------------------

function hmacMd5(k: Uint8Array, d: Uint8Array): Uint8Array {
  return getCryptoProvider().hmac('md5', k, d);
}
/** K' = HMAC-MD5(HMAC-MD5(K, LE32(0)), data): Kseq (data = SGN_CKSUM) and Kcrypt (data = BE32 seq). */
const derive = (k: Uint8Array, data: Uint8Array) => hmacMd5(hmacMd5(k, new Uint8Array(4)), data);
const xorF0 = (k: Uint8Array) => k.map((b) => b ^ 0xf0);

function rc4Checksum(key: Key, hdr: Uint8Array, confounderAndData: Uint8Array): Uint8Array {
  // hmac-md5 (-138) with the wrap usage 13 over header | confounder | data | pad.
  return makeChecksum(key, KeyUsage.KRB_PRIV_ENCPART, concatBytes(hdr, confounderAndData), undefined, { allowWeak: true }).subarray(0, 8);
}

function rc4Wrap(p: WrapParams, message: Uint8Array, sealed: boolean): Uint8Array {
  const hdr = Uint8Array.of(0x02, 0x01, 0x11, 0x00, sealed ? 0x10 : 0xff, sealed ? 0x00 : 0xff, 0xff, 0xff);
  const seq = Number(BigInt(p.seqNumber) & 0xffffffffn);
  const seqPlain = new Uint8Array(8);
  new DataView(seqPlain.buffer).setUint32(0, seq);
  seqPlain.fill(p.fromAcceptor ? 0xff : 0x00, 4, 8);
  const confounder = getCryptoProvider().randomBytes(8);
  // One pad byte 01: RC4 is a stream cipher (block size 1), RFC 1964 1.2.2.3 padding.
  const data = concatBytes(message, Uint8Array.of(1));
  const cksum = rc4Checksum(p.key, hdr, concatBytes(confounder, data));
  let body = concatBytes(confounder, data);
  if (sealed) body = rc4(derive(xorF0(p.key.keyvalue), seqPlain.subarray(0, 4)), body);
  const sndSeq = rc4(derive(p.key.keyvalue, cksum), seqPlain);
  return frameToken(KRB5_OID, concatBytes(hdr, sndSeq, cksum, body));
}

function rc4Unwrap(p: Omit<WrapParams, 'seqNumber'>, token: Uint8Array): UnwrapResult {
  const { inner } = unframeToken(token, 'RFC 4757 Wrap token');
  // The framing (RFC 2743 3.1) is outside the checksum: it must be exactly the krb5 OID's, in DER,
  // or a token relabelled with another (or a non-minimally encoded) mechanism would unwrap.
  if (!bytesEqual(frameToken(KRB5_OID, inner), token)) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'RFC 4757 Wrap token is not framed with the Kerberos mechanism OID');
  if (inner.length < 32 + 1 || inner[0] !== 0x02 || inner[1] !== 0x01 || inner[2] !== 0x11 || inner[3] !== 0x00 || inner[6] !== 0xff || inner[7] !== 0xff) {
    throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'not an RFC 4757 Wrap token');
  }
  const sealed = inner[4] === 0x10 && inner[5] === 0x00;
  if (!sealed && !(inner[4] === 0xff && inner[5] === 0xff)) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'unknown RFC 4757 SEAL_ALG');
  const hdr = inner.subarray(0, 8);
  const cksum = inner.subarray(16, 24);
  const seqPlain = rc4(derive(p.key.keyvalue, cksum), inner.subarray(8, 16));
  const dir = p.fromAcceptor ? 0xff : 0x00;
  if (seqPlain.subarray(4, 8).some((x) => x !== dir)) throw new GssError('GSS_S_BAD_MIC', 'Wrap token direction bytes do not match the sender');
  let body = inner.subarray(24);
  if (sealed) body = rc4(derive(xorF0(p.key.keyvalue), seqPlain.subarray(0, 4)), body);
  if (!constantTimeEqual(rc4Checksum(p.key, hdr, body), cksum)) throw new GssError('GSS_S_BAD_MIC', 'Wrap token checksum does not verify');
  const pad = body[body.length - 1]!;
  if (pad < 1 || pad > 8 || body.length < 8 + pad) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'bad RFC 4757 padding');
  const seqNumber = BigInt(new DataView(seqPlain.buffer, seqPlain.byteOffset, 4).getUint32(0));
  return { message: body.slice(8, body.length - pad), encrypted: sealed, seqNumber };
}
