// Builds a service ticket by hand (what a KDC would issue) so the AP exchange can be tested with no
// KDC: EncTicketPart encrypted in a service key we choose.
import { encodeEncTicketPart, makeTicketFlags, type Ticket } from '../../lib/krb5/asn1/index.js';
import { encrypt, generateKey } from '../../lib/krb5/crypto/index.js';
import { KeyUsage } from '../../lib/krb5/constants.js';
import type { Key } from '../../lib/krb5/types.js';

export const REALM = 'EXAMPLE.TEST';
export const client = { realm: REALM, name: { nameType: 1, nameString: ['alice'] } };
export const service = { realm: REALM, name: { nameType: 3, nameString: ['HTTP', 'web.example.test'] } };

export function makeServiceTicket(o: { serviceKey: Key; sessionEnctype?: number; kvno?: number; start?: Date; end?: Date; authorizationData?: { adType: number; adData: Uint8Array }[] }) {
  const now = new Date();
  const sessionKey = generateKey(o.sessionEnctype ?? o.serviceKey.enctype, { allowWeak: true });
  const enc = encodeEncTicketPart({
    flags: makeTicketFlags(['forwardable', 'pre-authent']),
    key: sessionKey,
    crealm: client.realm,
    cname: client.name,
    transited: { trType: 1, contents: new Uint8Array(0) },
    authtime: new Date(Math.floor(now.getTime() / 1000) * 1000),
    starttime: o.start,
    endtime: o.end ?? new Date(Math.floor(now.getTime() / 1000) * 1000 + 3600_000),
    authorizationData: o.authorizationData,
  });
  const ticket: Ticket = {
    realm: service.realm,
    sname: service.name,
    encPart: { etype: o.serviceKey.enctype, kvno: o.kvno ?? 2, cipher: encrypt(o.serviceKey, KeyUsage.KDC_REP_TICKET, enc, { allowWeak: true }) },
  };
  return { ticket, sessionKey };
}
