/**
 * Authorization data element contents (RFC 4120 section 5.2.6 and extensions):
 * AD-IF-RELEVANT (5.2.6.1), AD-WIN2K-PAC (MS-PAC, the PAC octets), AD-ETYPE-NEGOTIATION (RFC 4537),
 * KERB-AP-OPTIONS (MS-KILE 2.2.10, ad-type 143 with KERB_AP_OPTIONS_CBT).
 */
import { AuthorizationDataType } from '../constants.js';
import { DecodeError } from '../../errors.js';
import { seqOf, decInt32, encSeqOf, encInt32 } from './der.js';
import { type AuthorizationData, topSeq, encAuthorizationData, decodeAuthorizationData } from './basic.js';

/** AD-IF-RELEVANT ::= AuthorizationData */
export const encodeAdIfRelevant = (v: AuthorizationData) => encAuthorizationData(v);
export const decodeAdIfRelevant = (b: Uint8Array): AuthorizationData => decodeAuthorizationData(b);

/** AD-ETYPE-NEGOTIATION ::= SEQUENCE SIZE (1..MAX) OF Int32 (RFC 4537 section 5), ad-type 129. */
export const encodeAdEtypeNegotiation = (etypes: number[]) => encSeqOf(etypes, (e) => encInt32(e, 'etype'));
export const decodeAdEtypeNegotiation = (b: Uint8Array): number[] =>
  topSeq(b, 'AD-ETYPE-NEGOTIATION', (n, p) => {
    const l = seqOf(n, p, decInt32);
    if (l.length === 0) throw new DecodeError(p, 'SEQUENCE SIZE (1..MAX) is empty', n.start);
    return l;
  });

/** MS-KILE 2.2.10: KERB_AP_OPTIONS_CBT, "the client supports channel binding". */
export const KERB_AP_OPTIONS_CBT = 0x4000;

/** ad-data of ad-type 143 (AD-AUTH-DATA-AP-OPTIONS): a 32-bit little-endian options value. */
export function encodeKerbApOptions(options: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, options >>> 0, true);
  return out;
}
export function decodeKerbApOptions(b: Uint8Array): number {
  if (b.length !== 4) throw new DecodeError('KERB-AP-OPTIONS', `expected 4 octets, got ${b.length}`, 0);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

/**
 * The AuthorizationData element Windows clients put in the Authenticator to say they support
 * channel bindings: AD-IF-RELEVANT { { ad-type 143, ad-data 00 40 00 00 } } (MS-KILE 3.2.5.8).
 */
export function kerbApOptionsCbtAuthData(): AuthorizationData {
  return [
    {
      adType: AuthorizationDataType.AD_IF_RELEVANT,
      adData: encodeAdIfRelevant([{ adType: AuthorizationDataType.AD_AUTH_DATA_AP_OPTIONS, adData: encodeKerbApOptions(KERB_AP_OPTIONS_CBT) }]),
    },
  ];
}

/**
 * Walks authorization data, descending into AD-IF-RELEVANT containers, and returns every element
 * of type `adType` (e.g. AD_WIN2K_PAC: the PAC octets are the `adData`). Malformed nested
 * containers are DecodeErrors.
 */
export function findAuthorizationData(ad: AuthorizationData, adType: number, depth = 0): Uint8Array[] {
  if (depth > 8) throw new DecodeError('AuthorizationData', 'AD-IF-RELEVANT nested too deeply');
  const out: Uint8Array[] = [];
  for (const e of ad) {
    if (e.adType === adType) out.push(e.adData);
    if (e.adType === AuthorizationDataType.AD_IF_RELEVANT && adType !== AuthorizationDataType.AD_IF_RELEVANT)
      out.push(...findAuthorizationData(decodeAdIfRelevant(e.adData), adType, depth + 1));
  }
  return out;
}

/** AD-WIN2K-PAC (ad-type 128): the PAC octets (MS-PAC 2.3), usually inside AD-IF-RELEVANT; undefined when absent. */
export function findWin2kPac(ad: AuthorizationData): Uint8Array | undefined {
  return findAuthorizationData(ad, AuthorizationDataType.AD_WIN2K_PAC)[0];
}
