/**
 * Pre-authentication data values (the padata-value octets of PA-DATA):
 * PA-ENC-TIMESTAMP / PA-ENC-TS-ENC (RFC 4120 section 5.2.7.2), ETYPE-INFO (5.2.7.4),
 * ETYPE-INFO2 (5.2.7.5), PA-PAC-REQUEST (MS-KILE 2.2.3).
 */
import { DecodeError } from '../../errors.js';
import {
  type Node, SeqReader, seqOf, readOptional as optional, readRequired as required, compact, decInt32,
  decMicroseconds, decKerberosTime, decKerberosString, decOctets, decBoolean, encSeq, encSeqOf, explicit, opt, encInt32,
  encMicroseconds, encKerberosTime, encKerberosString, encOctets, encBoolean,
} from './der.js';
import { type EncryptedData, topSeq, decEncryptedData, encEncryptedData } from './basic.js';

/** PA-ENC-TIMESTAMP ::= EncryptedData -- PA-ENC-TS-ENC, key usage 1 */
export const encodePaEncTimestamp = (v: EncryptedData) => encEncryptedData(v);
export const decodePaEncTimestamp = (b: Uint8Array) => topSeq(b, 'PA-ENC-TIMESTAMP', decEncryptedData);

export interface PaEncTsEnc {
  patimestamp: Date;
  pausec?: number;
}
// PA-ENC-TS-ENC ::= SEQUENCE { patimestamp [0] KerberosTime, pausec [1] Microseconds OPTIONAL }
function decPaEncTsEnc(n: Node, path: string): PaEncTsEnc {
  const r = new SeqReader(n, path);
  const v: PaEncTsEnc = {
    patimestamp: required(r, 0, 'patimestamp', decKerberosTime),
    pausec: optional(r, 1, 'pausec', decMicroseconds),
  };
  r.end();
  return compact(v);
}
export const encodePaEncTsEnc = (v: PaEncTsEnc) =>
  encSeq(explicit(0, encKerberosTime(v.patimestamp)), opt(1, v.pausec, (u) => encMicroseconds(u, 'pausec')));
export const decodePaEncTsEnc = (b: Uint8Array) => topSeq(b, 'PA-ENC-TS-ENC', decPaEncTsEnc);

export interface ETypeInfo2Entry {
  etype: number;
  salt?: string;
  s2kparams?: Uint8Array;
}
// ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY
// ETYPE-INFO2-ENTRY ::= SEQUENCE { etype [0] Int32, salt [1] KerberosString OPTIONAL, s2kparams [2] OCTET STRING OPTIONAL }
function decETypeInfo2Entry(n: Node, path: string): ETypeInfo2Entry {
  const r = new SeqReader(n, path);
  const v: ETypeInfo2Entry = {
    etype: required(r, 0, 'etype', decInt32),
    salt: optional(r, 1, 'salt', decKerberosString),
    s2kparams: optional(r, 2, 's2kparams', decOctets),
  };
  r.end();
  return compact(v);
}
function nonEmpty<T>(list: T[], n: Node, path: string): T[] {
  if (list.length === 0) throw new DecodeError(path, 'SEQUENCE SIZE (1..MAX) is empty', n.start);
  return list;
}
export const encodeETypeInfo2 = (v: ETypeInfo2Entry[]) =>
  encSeqOf(v, (e) => encSeq(explicit(0, encInt32(e.etype, 'etype')), opt(1, e.salt, encKerberosString), opt(2, e.s2kparams, encOctets)));
export const decodeETypeInfo2 = (b: Uint8Array) => topSeq(b, 'ETYPE-INFO2', (n, p) => nonEmpty(seqOf(n, p, decETypeInfo2Entry), n, p));

export interface ETypeInfoEntry {
  etype: number;
  /** OCTET STRING in ETYPE-INFO (not a KerberosString). */
  salt?: Uint8Array;
}
// ETYPE-INFO ::= SEQUENCE OF ETYPE-INFO-ENTRY; ETYPE-INFO-ENTRY ::= SEQUENCE { etype [0] Int32, salt [1] OCTET STRING OPTIONAL }
function decETypeInfoEntry(n: Node, path: string): ETypeInfoEntry {
  const r = new SeqReader(n, path);
  const v: ETypeInfoEntry = { etype: required(r, 0, 'etype', decInt32), salt: optional(r, 1, 'salt', decOctets) };
  r.end();
  return compact(v);
}
export const encodeETypeInfo = (v: ETypeInfoEntry[]) =>
  encSeqOf(v, (e) => encSeq(explicit(0, encInt32(e.etype, 'etype')), opt(1, e.salt, encOctets)));
export const decodeETypeInfo = (b: Uint8Array) => topSeq(b, 'ETYPE-INFO', (n, p) => seqOf(n, p, decETypeInfoEntry));

export interface PaPacRequest {
  includePac: boolean;
}
// KERB-PA-PAC-REQUEST ::= SEQUENCE { include-pac [0] BOOLEAN } -- MS-KILE 2.2.3, padata-type 128
export const encodePaPacRequest = (v: PaPacRequest) => encSeq(explicit(0, encBoolean(v.includePac)));
export const decodePaPacRequest = (b: Uint8Array): PaPacRequest =>
  topSeq(b, 'PA-PAC-REQUEST', (n, p) => {
    const r = new SeqReader(n, p);
    const includePac = required(r, 0, 'include-pac', decBoolean);
    r.end();
    return { includePac };
  });
