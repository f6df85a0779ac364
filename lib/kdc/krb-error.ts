/** KRB-ERROR replies of the embedded KDC (RFC 4120 section 5.9.1), shaped as MIT's clients expect. */
import { encodeKrbError, type KdcReqBody } from '../krb5/asn1/index.js';
import type { PrincipalName } from '../krb5/types.js';

export class KdcReplyError extends Error {
  constructor(readonly code: number, readonly eText: string, readonly eData?: Uint8Array) {
    super(eText);
  }
}

export function krbErrorReply(e: KdcReplyError, realm: string, body: KdcReqBody | undefined, now: Date): Uint8Array {
  const sname: PrincipalName = body?.sname ?? { nameType: 2, nameString: ['krbtgt', realm] };
  return encodeKrbError({
    stime: new Date(Math.floor(now.getTime() / 1000) * 1000),
    susec: (now.getTime() % 1000) * 1000,
    errorCode: e.code,
    crealm: body?.cname ? body.realm : undefined,
    cname: body?.cname,
    realm,
    sname,
    eText: e.eText,
    eData: e.eData,
  });
}
