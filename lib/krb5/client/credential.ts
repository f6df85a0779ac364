/** A ticket with its session key and times: what a KDC reply gives and a ccache stores. */
import type { Ticket } from '../asn1/index.js';
import type { Key, PrincipalName } from '../types.js';

export interface RealmName {
  realm: string;
  name: PrincipalName;
}

export interface Credential {
  client: RealmName;
  server: RealmName;
  key: Key;
  /** TicketFlags bits (RFC 4120 5.3, bit 0 = MSB). */
  flags: number;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  ticket: Ticket;
}

/** The TGS principal krbtgt/REALM@REALM (RFC 4120 section 7.3). */
export function krbtgt(realm: string, issuingRealm = realm): RealmName {
  return { realm: issuingRealm, name: { nameType: 2, nameString: ['krbtgt', realm] } };
}

export function isTgt(p: RealmName): boolean {
  return p.name.nameString.length === 2 && p.name.nameString[0] === 'krbtgt';
}
