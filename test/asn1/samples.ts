/**
 * Sample values for every RFC 4120 codec, with their encoder and decoder, shared by the round-trip
 * tests and the fuzz tests. Values are built by hand from the RFC field lists; MIT captures live
 * in test/fixtures/asn1/.
 */
import { readFileSync } from 'node:fs';
import * as a from '../../lib/krb5/asn1/index.js';
import { fromHex } from '../../lib/util/bytes.js';

const fixtureDir = new URL('../fixtures/asn1/', import.meta.url);
export const mitKdc: { exchanges: { what: string; req: string; rep: string }[] } = JSON.parse(
  readFileSync(new URL('mit-kdc.json', fixtureDir), 'utf8'),
);
export const mitSpnego: {
  sessions: { what: string; tokens: { dir: string; hex: string }[]; mechTypesDer: string | null }[];
  negTokenInit2: { hex: string };
} = JSON.parse(readFileSync(new URL('mit-spnego.json', fixtureDir), 'utf8'));

const t0 = new Date(Date.UTC(2026, 10, 24, 19, 30, 5));
const t1 = new Date(Date.UTC(2026, 10, 25, 19, 30, 5));
const bytes = (n: number, fill = 0xa5) => new Uint8Array(n).fill(fill);

export const principal: a.PrincipalName = { nameType: 1, nameString: ['alice'] };
export const service: a.PrincipalName = { nameType: 2, nameString: ['HTTP', 'host.example.test'] };
export const encData: a.EncryptedData = { etype: 18, kvno: 2, cipher: bytes(40) };
export const key: a.Key = { enctype: 18, keyvalue: bytes(32, 0x11) };
export const ticket: a.Ticket = { realm: 'EXAMPLE.TEST', sname: service, encPart: encData };
export const hostAddr: a.HostAddress = { addrType: 2, address: Uint8Array.of(127, 0, 0, 1) };
export const authData: a.AuthorizationData = [
  { adType: 1, adData: a.encodeAdIfRelevant([{ adType: 128, adData: bytes(16, 0x50) }]) },
  ...a.kerbApOptionsCbtAuthData(),
];

export interface Codec {
  name: string;
  encode: (v: any) => Uint8Array;
  decode: (b: Uint8Array) => unknown;
  samples: unknown[];
}

export const codecs: Codec[] = [
  { name: 'PrincipalName', encode: a.encodePrincipalName, decode: a.decodePrincipalName, samples: [principal, service, { nameType: -128, nameString: [] }] },
  { name: 'KerberosTime', encode: a.encodeKerberosTime, decode: a.decodeKerberosTime, samples: [t0, new Date(Date.UTC(1970, 0, 1)), new Date(Date.UTC(9999, 11, 31, 23, 59, 59))] },
  { name: 'EncryptedData', encode: a.encodeEncryptedData, decode: a.decodeEncryptedData, samples: [encData, { etype: 23, cipher: new Uint8Array(0) }, { etype: 17, kvno: 0xffffffff, cipher: bytes(300) }] },
  { name: 'EncryptionKey', encode: a.encodeEncryptionKey, decode: a.decodeEncryptionKey, samples: [key] },
  { name: 'Checksum', encode: a.encodeChecksum, decode: a.decodeChecksum, samples: [{ cksumtype: 16, checksum: bytes(12) }, { cksumtype: -138, checksum: bytes(16) }] },
  { name: 'HostAddress', encode: a.encodeHostAddress, decode: a.decodeHostAddress, samples: [hostAddr] },
  { name: 'HostAddresses', encode: a.encodeHostAddresses, decode: a.decodeHostAddresses, samples: [[hostAddr, { addrType: 24, address: bytes(16, 0) }], []] },
  { name: 'AuthorizationData', encode: a.encodeAuthorizationData, decode: a.decodeAuthorizationData, samples: [authData] },
  { name: 'PA-DATA', encode: a.encodePaData, decode: a.decodePaData, samples: [{ padataType: 2, padataValue: bytes(10) }] },
  { name: 'METHOD-DATA', encode: a.encodeMethodData, decode: a.decodeMethodData, samples: [[{ padataType: 136, padataValue: new Uint8Array(0) }, { padataType: 19, padataValue: bytes(3) }]] },
  { name: 'Ticket', encode: a.encodeTicket, decode: a.decodeTicket, samples: [ticket] },
  {
    name: 'EncTicketPart',
    encode: a.encodeEncTicketPart,
    decode: a.decodeEncTicketPart,
    samples: [
      {
        flags: a.makeTicketFlags(['forwardable', 'renewable', 'initial', 'pre-authent']),
        key,
        crealm: 'EXAMPLE.TEST',
        cname: principal,
        transited: { trType: 1, contents: new Uint8Array(0) },
        authtime: t0,
        starttime: t0,
        endtime: t1,
        renewTill: t1,
        caddr: [hostAddr],
        authorizationData: authData,
      },
      { flags: 0, key, crealm: 'R', cname: principal, transited: { trType: 0, contents: Uint8Array.of(1) }, authtime: t0, endtime: t1 },
    ],
  },
  {
    name: 'KDC-REQ-BODY',
    encode: a.encodeKdcReqBody,
    decode: a.decodeKdcReqBody,
    samples: [
      { kdcOptions: a.makeKdcOptions(['forwardable', 'renewable', 'canonicalize']), cname: principal, realm: 'EXAMPLE.TEST', sname: service, till: t1, nonce: 0x7fffffff, etype: [18, 17, 20, 19, 23] },
    ],
  },
  {
    name: 'AS-REQ',
    encode: a.encodeAsReq,
    decode: a.decodeAsReq,
    samples: [
      {
        padata: [{ padataType: 128, padataValue: a.encodePaPacRequest({ includePac: true }) }],
        reqBody: { kdcOptions: a.makeKdcOptions(['forwardable']), cname: principal, realm: 'EXAMPLE.TEST', sname: { nameType: 2, nameString: ['krbtgt', 'EXAMPLE.TEST'] }, from: t0, till: t1, rtime: t1, nonce: 0xfffffffe, etype: [18], addresses: [hostAddr] },
      },
    ],
  },
  {
    name: 'TGS-REQ',
    encode: a.encodeTgsReq,
    decode: a.decodeTgsReq,
    samples: [
      {
        padata: [{ padataType: 1, padataValue: new Uint8Array(0) }],
        reqBody: { kdcOptions: 0, realm: 'EXAMPLE.TEST', sname: service, till: t1, nonce: 1, etype: [], encAuthorizationData: encData, additionalTickets: [ticket] },
      },
    ],
  },
  { name: 'AS-REP', encode: a.encodeAsRep, decode: a.decodeAsRep, samples: [{ padata: [{ padataType: 19, padataValue: bytes(2) }], crealm: 'EXAMPLE.TEST', cname: principal, ticket, encPart: encData }] },
  { name: 'TGS-REP', encode: a.encodeTgsRep, decode: a.decodeTgsRep, samples: [{ crealm: 'EXAMPLE.TEST', cname: principal, ticket, encPart: encData }] },
  {
    name: 'EncASRepPart',
    encode: a.encodeEncAsRepPart,
    decode: a.decodeEncAsRepPart,
    samples: [
      {
        key, lastReq: [{ lrType: 0, lrValue: t0 }], nonce: 0x80000000, keyExpiration: t1, flags: a.makeTicketFlags(['initial']), authtime: t0, starttime: t0, endtime: t1,
        renewTill: t1, srealm: 'EXAMPLE.TEST', sname: service, caddr: [hostAddr], encryptedPaData: [{ padataType: 165, padataValue: Uint8Array.of(0x1c, 0, 0, 0) }],
      },
    ],
  },
  { name: 'EncTGSRepPart', encode: a.encodeEncTgsRepPart, decode: a.decodeEncTgsRepPart, samples: [{ key, lastReq: [], nonce: 5, flags: 0, authtime: t0, endtime: t1, srealm: 'R', sname: service }] },
  { name: 'AP-REQ', encode: a.encodeApReq, decode: a.decodeApReq, samples: [{ apOptions: a.makeApOptions(['mutual-required']), ticket, authenticator: encData }] },
  {
    name: 'Authenticator',
    encode: a.encodeAuthenticator,
    decode: a.decodeAuthenticator,
    samples: [
      { crealm: 'EXAMPLE.TEST', cname: principal, cksum: { cksumtype: 0x8003, checksum: bytes(24) }, cusec: 999999, ctime: t0, subkey: key, seqNumber: 0xffffffff, authorizationData: authData },
      { crealm: 'EXAMPLE.TEST', cname: principal, cusec: 0, ctime: t0 },
    ],
  },
  { name: 'AP-REP', encode: a.encodeApRep, decode: a.decodeApRep, samples: [{ encPart: { etype: 18, cipher: bytes(30) } }] },
  { name: 'EncAPRepPart', encode: a.encodeEncApRepPart, decode: a.decodeEncApRepPart, samples: [{ ctime: t0, cusec: 12, subkey: key, seqNumber: 123456 }, { ctime: t0, cusec: 0 }] },
  {
    name: 'KRB-ERROR',
    encode: a.encodeKrbError,
    decode: a.decodeKrbError,
    samples: [
      { ctime: t0, cusec: 1, stime: t1, susec: 2, errorCode: 25, crealm: 'EXAMPLE.TEST', cname: principal, realm: 'EXAMPLE.TEST', sname: service, eText: 'Additional pre-authentication required', eData: bytes(5) },
      { stime: t1, susec: 0, errorCode: 37, realm: 'R', sname: service },
    ],
  },
  { name: 'KRB-CRED', encode: a.encodeKrbCred, decode: a.decodeKrbCred, samples: [{ tickets: [ticket, ticket], encPart: { etype: 0, cipher: bytes(8) } }] },
  {
    name: 'EncKrbCredPart',
    encode: a.encodeEncKrbCredPart,
    decode: a.decodeEncKrbCredPart,
    samples: [
      {
        ticketInfo: [
          { key, prealm: 'EXAMPLE.TEST', pname: principal, flags: a.makeTicketFlags(['forwarded']), authtime: t0, starttime: t0, endtime: t1, renewTill: t1, srealm: 'EXAMPLE.TEST', sname: service, caddr: [hostAddr] },
          { key },
        ],
        nonce: 42, timestamp: t0, usec: 7, sAddress: hostAddr, rAddress: hostAddr,
      },
    ],
  },
  { name: 'PA-ENC-TIMESTAMP', encode: a.encodePaEncTimestamp, decode: a.decodePaEncTimestamp, samples: [encData] },
  { name: 'PA-ENC-TS-ENC', encode: a.encodePaEncTsEnc, decode: a.decodePaEncTsEnc, samples: [{ patimestamp: t0, pausec: 123 }, { patimestamp: t0 }] },
  { name: 'ETYPE-INFO2', encode: a.encodeETypeInfo2, decode: a.decodeETypeInfo2, samples: [[{ etype: 18, salt: 'EXAMPLE.TESTalice', s2kparams: Uint8Array.of(0, 0, 0x10, 0) }, { etype: 23 }]] },
  { name: 'ETYPE-INFO', encode: a.encodeETypeInfo, decode: a.decodeETypeInfo, samples: [[{ etype: 23, salt: bytes(4, 0x41) }, { etype: 3 }]] },
  { name: 'PA-PAC-REQUEST', encode: a.encodePaPacRequest, decode: a.decodePaPacRequest, samples: [{ includePac: true }, { includePac: false }] },
  { name: 'AD-IF-RELEVANT', encode: a.encodeAdIfRelevant, decode: a.decodeAdIfRelevant, samples: [[{ adType: 143, adData: Uint8Array.of(0, 0x40, 0, 0) }]] },
  { name: 'AD-ETYPE-NEGOTIATION', encode: a.encodeAdEtypeNegotiation, decode: a.decodeAdEtypeNegotiation, samples: [[18, 17, 23]] },
];

/** Valid DER inputs for each decoder, by codec name: encodings of the samples plus MIT captures. */
export function validInputs(): Map<string, Uint8Array[]> {
  const m = new Map<string, Uint8Array[]>();
  for (const c of codecs) m.set(c.name, c.samples.map((s) => c.encode(s)));
  for (const e of mitKdc.exchanges)
    for (const h of [e.req, e.rep]) {
      const b = fromHex(h);
      const t = a.decodeKrb5Message(b).type;
      m.get(t)?.push(b);
    }
  return m;
}
