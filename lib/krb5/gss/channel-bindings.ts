/**
 * Channel bindings (RFC 2744 section 3.11, hashed as RFC 4121 section 4.1.1.2 says):
 *   Bnd = MD5( initiator_addrtype(LE32) | len(LE32) | addr | acceptor_addrtype | len | addr | len | application_data )
 * and the RFC 5929 TLS bindings used for HTTP (Extended Protection): tls-server-end-point.
 */
import { DecodeError } from '../../errors.js';
import { readDerLength, decodeOid } from '../../gssapi/token.js';
import { concatBytes, utf8, le32 } from '../../util/bytes.js';
import { getCryptoProvider } from '../crypto/index.js';

export interface ChannelBindings {
  initiatorAddrType?: number;
  initiatorAddress?: Uint8Array;
  acceptorAddrType?: number;
  acceptorAddress?: Uint8Array;
  applicationData?: Uint8Array;
}

/** The 16-byte Bnd field; all zeros when there are no bindings (RFC 4121 4.1.1.2). */
export function channelBindingsHash(cb: ChannelBindings | undefined): Uint8Array {
  if (!cb) return new Uint8Array(16);
  const ia = cb.initiatorAddress ?? new Uint8Array(0);
  const aa = cb.acceptorAddress ?? new Uint8Array(0);
  const app = cb.applicationData ?? new Uint8Array(0);
  const msg = concatBytes(le32(cb.initiatorAddrType ?? 0), le32(ia.length), ia, le32(cb.acceptorAddrType ?? 0), le32(aa.length), aa, le32(app.length), app);
  return getCryptoProvider().hash('md5', msg);
}

/** Signature algorithm OIDs whose hash is not SHA-256 for tls-server-end-point (RFC 5929 4.1). */
const SIG_HASH: Record<string, 'sha384' | 'sha512'> = {
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4': 'sha512', // ecdsa-with-SHA512
};

/** The certificate's signatureAlgorithm OID: Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }. */
function signatureAlgorithmOid(der: Uint8Array): string {
  const f = 'Certificate';
  if (der[0] !== 0x30) throw new DecodeError(f, 'not a SEQUENCE', 0);
  const cert = readDerLength(der, 1, der.length, f);
  if (der[cert.start] !== 0x30) throw new DecodeError(`${f}.tbsCertificate`, 'not a SEQUENCE', cert.start);
  const tbs = readDerLength(der, cert.start + 1, der.length, `${f}.tbsCertificate`);
  const algAt = tbs.start + tbs.length;
  if (der[algAt] !== 0x30) throw new DecodeError(`${f}.signatureAlgorithm`, 'not a SEQUENCE', algAt);
  const alg = readDerLength(der, algAt + 1, der.length, `${f}.signatureAlgorithm`);
  if (der[alg.start] !== 0x06) throw new DecodeError(`${f}.signatureAlgorithm.algorithm`, 'not an OID', alg.start);
  const oid = readDerLength(der, alg.start + 1, der.length, `${f}.signatureAlgorithm.algorithm`);
  return decodeOid(der.subarray(oid.start, oid.start + oid.length));
}

/**
 * RFC 5929 section 4.1: "tls-server-end-point:" | hash(server certificate DER), where the hash is
 * the certificate's signature hash, except MD5 and SHA-1 which become SHA-256. (RSASSA-PSS certificates,
 * whose hash sits in the parameters, are hashed with SHA-256 here.)
 */
export function tlsServerEndPoint(certDer: Uint8Array): ChannelBindings {
  const hash = SIG_HASH[signatureAlgorithmOid(certDer)] ?? 'sha256';
  const digest = getCryptoProvider().hash(hash, certDer);
  return { applicationData: concatBytes(utf8.encode('tls-server-end-point:'), digest) };
}
