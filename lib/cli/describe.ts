/**
 * Turns any SPNEGO, Kerberos or GSS token into a JSON-ready tree for `spnego decode` (and the demo):
 * nested (the AP-REQ inside the NegTokenInit, the ticket inside the AP-REQ), field names as the
 * RFCs spell them (enc-part, seq-number...), OIDs, enctypes, checksum types and flags named,
 * times in ISO 8601, bytes in hex.
 */
import { DecodeError, IntegrityError, SpnegoError } from '../errors.js';
import {
  AuthorizationDataType, ChecksumType, EncType, ErrorCode, KeyUsage, NameType, PaDataType, constantName,
} from '../krb5/constants.js';
import { type Key, formatPrincipal, Principal } from '../krb5/types.js';
import {
  decodeKrb5Message, apOptionNames, kdcOptionNames,
  ticketFlagNames, decodeAdIfRelevant, decodeAdEtypeNegotiation, decodeKerbApOptions, decodeMethodData,
  decodeETypeInfo2, decodePaEncTimestamp, decodePaPacRequest, decodeEncTicketPart, decodeAuthenticator,
  type Krb5Message, type Ticket, type ApReq, type EncTicketPart, type Authenticator,
} from '../krb5/asn1/index.js';
import { decrypt } from '../krb5/crypto/index.js';
import { GssFlags, decodeAuthenticatorChecksum } from '../krb5/gss/checksum.js';
import type { Keytab } from '../krb5/keytab.js';
import { PacBufferType, decodePac, pacInfo, formatSid, fromFiletime, type Pac } from '../krb5/pac/index.js';
import { decodeNegotiationToken, negStateName } from '../spnego/codec.js';
import { mechName, MechOid } from '../spnego/oids.js';
import { unframeToken } from '../gssapi/token.js';
import { toHex } from '../util/bytes.js';
import { AV_ID_NAMES, AvId, MsvAvFlagBits, flagNames } from '../ntlm/constants.js';
import { decodeNtlmMessage, decodeNtlmV2Response, fromUtf16le, isNtlmMessage, msFromFileTime, type AvPair } from '../ntlm/messages.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };


/** What decrypts tickets while describing (`spnego decode --keytab`). */
export interface DescribeOptions {
  /** Service keys: tickets found in the token are decrypted with them (key usage 2). */
  keytab?: Keytab;
}

/** Walk state: the keytab, and the tickets decrypted so far (their session keys open authenticators). */
interface State {
  keytab?: Keytab;
  tickets: WeakMap<Ticket, EncTicketPart>;
}

const enctypeName = (n: number) => constantName(EncType, n)?.replace(/_/g, '-') ?? `unknown(${n})`;
const named = (value: number, name: string | undefined): Json => ({ value, name: name ?? 'unknown' });

/** camelCase -> the RFC's hyphenated field names (encPart -> enc-part, seqNumber -> seq-number). */
const rfcName = (k: string) => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function oidJson(oid: string): Json {
  return { oid, name: mechName(oid) ?? 'unknown' };
}

function describeAuthData(list: { adType: number; adData: Uint8Array }[], st: State, depth = 0): Json {
  return list.map((e) => {
    const out: Record<string, Json> = { 'ad-type': named(e.adType, constantName(AuthorizationDataType, e.adType)) };
    try {
      if (e.adType === AuthorizationDataType.AD_IF_RELEVANT && depth < 8) out['ad-data'] = describeAuthData(decodeAdIfRelevant(e.adData), st, depth + 1);
      else if (e.adType === AuthorizationDataType.AD_WIN2K_PAC) out['ad-data'] = describePac(decodePac(e.adData));
      else if (e.adType === AuthorizationDataType.AD_ETYPE_NEGOTIATION) out['ad-data'] = decodeAdEtypeNegotiation(e.adData).map((x) => named(x, enctypeName(x)));
      else if (e.adType === AuthorizationDataType.AD_AUTH_DATA_AP_OPTIONS) {
        const v = decodeKerbApOptions(e.adData);
        out['ad-data'] = { value: v, names: v & 0x4000 ? ['KERB_AP_OPTIONS_CBT'] : [] };
      } else out['ad-data'] = toHex(e.adData);
    } catch (err) {
      out['ad-data'] = toHex(e.adData);
      out['decode-error'] = errorText(err);
    }
    return out;
  });
}

function describePaData(list: { padataType: number; padataValue: Uint8Array }[], st: State): Json {
  return list.map((p) => {
    const out: Record<string, Json> = { 'padata-type': named(p.padataType, constantName(PaDataType, p.padataType)) };
    try {
      switch (p.padataType) {
        case PaDataType.PA_TGS_REQ:
          out['padata-value'] = describeKrb5(decodeKrb5Message(p.padataValue), st, KeyUsage.TGS_REQ_AUTH);
          break;
        case PaDataType.PA_ETYPE_INFO2:
          out['padata-value'] = toJson(decodeETypeInfo2(p.padataValue), st);
          break;
        case PaDataType.PA_ENC_TIMESTAMP:
          out['padata-value'] = toJson(decodePaEncTimestamp(p.padataValue), st);
          break;
        case PaDataType.PA_PAC_REQUEST:
          out['padata-value'] = toJson(decodePaPacRequest(p.padataValue), st);
          break;
        default:
          out['padata-value'] = toHex(p.padataValue);
      }
    } catch (err) {
      out['padata-value'] = toHex(p.padataValue);
      out['decode-error'] = errorText(err);
    }
    return out;
  });
}

/** Generic conversion with the field-specific naming rules. */
function toJson(v: unknown, st: State, key = ''): Json {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    switch (key) {
      case 'etype':
      case 'enctype':
      case 'keytype':
        return named(v, enctypeName(v));
      case 'cksumtype':
        return named(v, constantName(ChecksumType, v)?.replace(/_/g, '-'));
      case 'nameType':
        return named(v, constantName(NameType, v));
      case 'errorCode':
        return named(v, constantName(ErrorCode, v));
      case 'apOptions':
        return { value: v, names: apOptionNames(v) };
      case 'kdcOptions':
        return { value: v, names: kdcOptionNames(v) };
      case 'flags':
        return { value: v, names: ticketFlagNames(v) };
    }
    return v;
  }
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    if (key === 'authorizationData') return describeAuthData(v, st);
    if (key === 'padata') return describePaData(v, st);
    if (key === 'etype') return v.map((x) => (typeof x === 'number' ? named(x, enctypeName(x)) : toJson(x, st)));
    return v.map((x) => toJson(x, st, key));
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // EncryptionKey: never print key material, only its type and size.
    if (typeof o.enctype === 'number' && o.keyvalue instanceof Uint8Array) return hiddenKey(o as unknown as Key);
    // PrincipalName: add the printable form next to the parts.
    const out: Record<string, Json> = {};
    if (Array.isArray(o.nameString) && typeof o.nameType === 'number') out['principal'] = formatPrincipal(o as never);
    for (const [k, x] of Object.entries(o)) {
      if (x === undefined || k === 'reqBodyDer') continue;
      if (k === 'ticket' && isTicket(x)) out['ticket'] = describeTicket(x, st);
      else out[rfcName(k)] = toJson(x, st, k);
    }
    return out;
  }
  return String(v);
}

function isTicket(x: unknown): x is Ticket {
  return typeof x === 'object' && x !== null && 'sname' in x && 'encPart' in x && 'realm' in x;
}

function describeTicket(t: Ticket, st: State): Json {
  const out = toJson({ ...t, ticket: undefined }, st) as Record<string, Json>;
  if (st.keytab) out['enc-part-decrypted'] = decryptTicket(t, st);
  return out;
}

const hiddenKey = (k: Key): Json => ({ etype: named(k.enctype, enctypeName(k.enctype)), keyvalue: `(${k.keyvalue.length} bytes)` });

/** RFC 4120 5.3: the EncTicketPart, decrypted with the keytab's key for sname/kvno/etype (key usage 2). */
function decryptTicket(t: Ticket, st: State): Json {
  const { etype, kvno } = t.encPart;
  const principal = Principal.toString({ realm: t.realm, name: t.sname });
  const what = `${principal} kvno ${kvno ?? '(none)'} enctype ${enctypeName(etype)} (${etype})`;
  let key: Key;
  try {
    key = st.keytab!.findKey({ realm: t.realm, name: t.sname }, kvno, etype);
  } catch (err) {
    return { error: `no key for ${what}: ${errorText(err)}` };
  }
  let part: EncTicketPart;
  try {
    part = decodeEncTicketPart(decrypt(key, KeyUsage.KDC_REP_TICKET, t.encPart.cipher, { allowWeak: true }));
  } catch (err) {
    if (err instanceof IntegrityError) {
      return { error: `integrity check failed: wrong key (the keytab key for ${what} does not decrypt the ticket: stale keytab, changed password or tampered ticket)` };
    }
    return { error: `cannot decrypt the ticket for ${what}: ${errorText(err)}` };
  }
  st.tickets.set(t, part);
  return toJson(part, st) as Record<string, Json>;
}

/** RFC 4120 5.5.1: the Authenticator, decrypted with the ticket session key (key usage 11, or 7 in a TGS-REQ). */
function decryptAuthenticator(ap: ApReq, st: State, usage: number): Json {
  const ticket = st.tickets.get(ap.ticket);
  if (!ticket) return { error: 'the ticket was not decrypted, so its session key is unknown' };
  let auth: Authenticator;
  try {
    auth = decodeAuthenticator(decrypt(ticket.key, usage, ap.authenticator.cipher, { allowWeak: true }));
  } catch (err) {
    if (err instanceof IntegrityError) {
      return { error: `integrity check failed: wrong key (the ticket session key, ${enctypeName(ticket.key.enctype)}, does not decrypt the authenticator)` };
    }
    return { error: `cannot decrypt the authenticator: ${errorText(err)}` };
  }
  const out = toJson({ ...auth, cksum: undefined, subkey: undefined }, st) as Record<string, Json>;
  if (auth.subkey) out['subkey'] = { etype: named(auth.subkey.enctype, enctypeName(auth.subkey.enctype)) };
  if (auth.cksum) out['cksum'] = describeAuthCksum(auth.cksum, st);
  return out;
}

const gssFlagNames = (f: number) => Object.entries(GssFlags).filter(([, bit]) => f & bit).map(([n]) => n);

/** The authenticator checksum; 0x8003 decoded as RFC 4121 4.1.1 (Lgth, Bnd, Flags, Deleg). */
function describeAuthCksum(c: { cksumtype: number; checksum: Uint8Array }, st: State): Json {
  const out: Record<string, Json> = { cksumtype: toJson(c.cksumtype, st, 'cksumtype') };
  if (c.cksumtype !== ChecksumType.gss_krb5_authenticator) {
    out['checksum'] = toHex(c.checksum);
    return out;
  }
  try {
    const g = decodeAuthenticatorChecksum(c.checksum);
    out['checksum'] = {
      Lgth: new DataView(c.checksum.buffer, c.checksum.byteOffset, 4).getUint32(0, true),
      Bnd: toHex(g.bnd),
      Flags: { value: g.flags, names: gssFlagNames(g.flags) },
      Deleg: g.deleg ? { present: true, length: g.deleg.length } : { present: false },
      ...(g.exts ? { Exts: toHex(g.exts) } : {}),
    };
  } catch (err) {
    out['checksum'] = toHex(c.checksum);
    out['decode-error'] = errorText(err);
  }
  return out;
}

const pacBufferName = (t: number) => Object.entries(PacBufferType).find(([, v]) => v === t)?.[0];
const filetime = (f: bigint): Json => fromFiletime(f)?.toISOString() ?? null;
const signatureJson = (s: Pac['serverSignature']): Json =>
  s ? { 'signature-type': named(s.signatureType, constantName(ChecksumType, s.signatureType)?.replace(/_/g, '-')) } : null;

/** MS-PAC: buffer types, logon info (names, SIDs), client info, UPN, signature types. No session keys, no signatures. */
function describePac(pac: Pac): Json {
  const out: Record<string, Json> = {
    buffers: pac.buffers.map((b) => ({ type: named(b.type, pacBufferName(b.type)), size: b.data.length })),
  };
  const li = pac.logonInfo;
  const info = pacInfo(pac);
  if (li) {
    out['logon-info'] = {
      'effective-name': li.effectiveName,
      'full-name': li.fullName,
      'logon-domain-name': li.logonDomainName,
      'logon-server': li.logonServer,
      'logon-domain-id': li.logonDomainId ? formatSid(li.logonDomainId) : null,
      'user-id': li.userId,
      'primary-group-id': li.primaryGroupId,
      'user-sid': info?.userSid ?? null,
      'group-ids': li.groupIds.map((g) => ({ 'relative-id': g.relativeId, attributes: g.attributes })),
      'group-sids': info?.groupSids ?? [],
      'extra-sids': li.extraSids.map((e) => ({ sid: formatSid(e.sid), attributes: e.attributes })),
      'user-flags': li.userFlags,
      'user-account-control': li.userAccountControl,
      'logon-time': filetime(li.logonTime),
      'logon-count': li.logonCount,
    };
  }
  if (pac.clientInfo) out['client-info'] = { 'client-id': filetime(pac.clientInfo.clientId), name: pac.clientInfo.name };
  if (pac.upnDnsInfo) {
    const u = pac.upnDnsInfo;
    out['upn-dns-info'] = {
      upn: u.upn, 'dns-domain-name': u.dnsDomainName, flags: u.flags,
      ...(u.samName !== undefined ? { 'sam-name': u.samName } : {}),
      ...(u.sid ? { sid: formatSid(u.sid) } : {}),
    };
  }
  out['server-signature'] = signatureJson(pac.serverSignature);
  out['kdc-signature'] = signatureJson(pac.kdcSignature);
  return out;
}

function describeKrb5(m: Krb5Message, st: State, authUsage: number = KeyUsage.AP_REQ_AUTH): Json {
  const body = toJson(m.value, st) as Record<string, Json>;
  if (m.type === 'AP-REQ' && st.keytab) body['authenticator-decrypted'] = decryptAuthenticator(m.value, st, authUsage);
  if (m.type === 'KRB-ERROR' && m.value.eData) {
    try {
      body['e-data-decoded'] = describePaData(decodeMethodData(m.value.eData), st);
    } catch {
      /* e-data is not always METHOD-DATA (RFC 4120 5.9.1); the hex stays */
    }
  }
  return { type: m.type, ...body };
}

const KRB5_TOK_IDS: Record<string, string> = { '0100': 'AP-REQ', '0200': 'AP-REP', '0300': 'KRB-ERROR', '0101': 'MIC (RFC 4757)', '0201': 'Wrap (RFC 4757)' };

function describeAny(bytes: Uint8Array, st: State, depth = 0): Json {
  if (depth > 6) throw new DecodeError('token', 'nested too deeply');
  if (bytes.length === 0) throw new DecodeError('token', 'empty input');
  if (isNtlmMessage(bytes)) return describeNtlm(bytes);
  const b0 = bytes[0]!;
  if (b0 === 0x60) {
    const f = unframeToken(bytes);
    if (f.mech === MechOid.spnego) {
      return { type: 'SPNEGO InitialContextToken', 'this-mech': oidJson(f.mech), 'inner-token': describeNego(bytes, st, depth) };
    }
    if (f.mech === MechOid.krb5 || f.mech === MechOid['ms-krb5'] || f.mech === MechOid['krb5-old']) {
      if (f.inner.length < 2) throw new DecodeError('krb5 token', 'TOK_ID missing');
      const tokId = toHex(f.inner.subarray(0, 2));
      const what = KRB5_TOK_IDS[tokId];
      if (!what) throw new DecodeError('krb5 token', `unknown TOK_ID ${tokId}`);
      if (tokId === '0101' || tokId === '0201') return { type: `krb5 ${what}`, 'this-mech': oidJson(f.mech), ...rc4Header(f.inner) };
      return { type: `krb5 ${what} token`, 'this-mech': oidJson(f.mech), 'tok-id': tokId, 'inner-token': describeKrb5(decodeKrb5Message(f.inner.subarray(2)), st) };
    }
    return { type: 'GSS InitialContextToken', 'this-mech': oidJson(f.mech), 'inner-token': toHex(f.inner) };
  }
  if (b0 === 0xa0 || b0 === 0xa1) return describeNego(bytes, st, depth);
  if ((b0 === 0x04 || b0 === 0x05) && bytes[1] === 0x04) return cfxHeader(bytes);
  if ((b0 & 0xe0) === 0x60) return describeKrb5(decodeKrb5Message(bytes), st);
  throw new DecodeError('token', `not a SPNEGO, Kerberos or GSS token (first byte 0x${b0.toString(16).padStart(2, '0')})`, 0);
}

function describeNego(bytes: Uint8Array, st: State, depth: number): Json {
  const t = decodeNegotiationToken(bytes);
  const inner = (b: Uint8Array | undefined): Json => {
    if (!b) return null;
    try {
      return describeAny(b, st, depth + 1);
    } catch (err) {
      return { hex: toHex(b), 'decode-error': errorText(err) };
    }
  };
  if (t.kind === 'resp') {
    return {
      choice: 'negTokenResp',
      framed: t.framed,
      'neg-state': t.negState === undefined ? null : { value: t.negState, name: negStateName(t.negState) },
      'supported-mech': t.supportedMech ? oidJson(t.supportedMech) : null,
      'response-token': inner(t.responseToken),
      'mech-list-mic': inner(t.mechListMIC),
    };
  }
  return {
    choice: t.kind === 'init' ? 'negTokenInit' : 'negTokenInit2',
    framed: t.framed,
    'mech-types': t.mechTypes ? t.mechTypes.map(oidJson) : null,
    'mech-types-der': t.mechTypesDer ? toHex(t.mechTypesDer) : null,
    'req-flags': t.reqFlags ?? null,
    'mech-token': inner(t.mechToken),
    ...(t.kind === 'init2' ? { 'neg-hints': toJson(t.negHints, st) } : {}),
    'mech-list-mic': inner(t.mechListMIC),
  };
}

const CFX_FLAGS = ['SentByAcceptor', 'Sealed', 'AcceptorSubkey'];

/** RFC 4121 4.2.6: the 16-byte header of a MIC (04 04) or Wrap (05 04) token; the rest is checksum or ciphertext. */
function cfxHeader(b: Uint8Array): Json {
  if (b.length < 16) throw new DecodeError('RFC 4121 token', `header needs 16 bytes, got ${b.length}`, 0);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const flags = b[2]!;
  const mic = b[0] === 0x04;
  if (flags & 0xf8) throw new DecodeError('RFC 4121 token.Flags', `undefined flag bits 0x${flags.toString(16)}`, 2);
  const filler = mic ? b.subarray(3, 8) : b.subarray(3, 4);
  if (filler.some((x) => x !== 0xff)) throw new DecodeError('RFC 4121 token.Filler', 'filler is not 0xFF', 3);
  const seq = (BigInt(dv.getUint32(8)) << 32n) | BigInt(dv.getUint32(12));
  const flagNames = CFX_FLAGS.filter((_, i) => flags & (1 << i));
  if (mic) {
    return { type: 'MIC token (RFC 4121 4.2.6.1)', 'tok-id': '0404', flags: { value: flags, names: flagNames }, 'snd-seq': seq.toString(), sgn_cksum: toHex(b.subarray(16)) };
  }
  return {
    type: 'Wrap token (RFC 4121 4.2.6.2)', 'tok-id': '0504', flags: { value: flags, names: flagNames },
    ec: dv.getUint16(4), rrc: dv.getUint16(6), 'snd-seq': seq.toString(), data: toHex(b.subarray(16)),
  };
}

/** RFC 4757 section 7.2 / 7.3: the header fields of an rc4-hmac MIC (01 01) or Wrap (02 01) token. */
function rc4Header(inner: Uint8Array): Record<string, Json> {
  const wrap = inner[0] === 0x02;
  const need = wrap ? 32 : 24;
  if (inner.length < need) throw new DecodeError('RFC 4757 token', `needs ${need} bytes, got ${inner.length}`, 0);
  return {
    'tok-id': toHex(inner.subarray(0, 2)),
    'sgn-alg': toHex(inner.subarray(2, 4)),
    'seal-alg': toHex(inner.subarray(4, 6)),
    filler: toHex(inner.subarray(6, 8)),
    'snd-seq-encrypted': toHex(inner.subarray(8, 16)),
    'sgn-cksum': toHex(inner.subarray(16, 24)),
    ...(wrap ? { confounder: toHex(inner.subarray(24, 32)), data: toHex(inner.subarray(32)) } : {}),
  };
}

/** MS-NLMP 2.2.1: an NTLM message with its flags by name and its AV pairs (and the NTLMv2 response's). */
function describeNtlm(bytes: Uint8Array): Json {
  const m = decodeNtlmMessage(bytes);
  const flags = { value: `0x${m.flags.toString(16).padStart(8, '0')}`, names: flagNames(m.flags) };
  const version = m.version ? `${m.version.major}.${m.version.minor}.${m.version.build} rev ${m.version.revision}` : null;
  if (m.type === 1) return { type: 'NTLM NEGOTIATE_MESSAGE', flags, domain: m.domain, workstation: m.workstation, version };
  if (m.type === 2) {
    return { type: 'NTLM CHALLENGE_MESSAGE', flags, 'target-name': m.targetName, 'server-challenge': toHex(m.serverChallenge), 'target-info': avPairsJson(m.avPairs), version };
  }
  let nt: Json = toHex(m.ntChallengeResponse);
  if (m.ntChallengeResponse.length > 24) {
    try {
      const r = decodeNtlmV2Response(m.ntChallengeResponse);
      nt = { 'nt-proof-str': toHex(r.ntProofStr), timestamp: fileTimeJson(r.timestamp), 'client-challenge': toHex(r.clientChallenge), 'av-pairs': avPairsJson(r.avPairs) };
    } catch (err) {
      nt = { hex: toHex(m.ntChallengeResponse), 'decode-error': errorText(err) };
    }
  }
  return {
    type: 'NTLM AUTHENTICATE_MESSAGE', flags, domain: m.domain, user: m.user, workstation: m.workstation,
    'lm-challenge-response': toHex(m.lmChallengeResponse), 'nt-challenge-response': nt,
    'encrypted-random-session-key': toHex(m.encryptedRandomSessionKey), mic: m.mic ? toHex(m.mic) : null, version,
  };
}

function fileTimeJson(ft: bigint): Json {
  const ms = msFromFileTime(ft);
  return { filetime: ft.toString(), iso: Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : null };
}

function avPairsJson(pairs: AvPair[]): Json {
  return pairs.map((p): Json => {
    const name = AV_ID_NAMES[p.id] ?? `AvId ${p.id}`;
    let value: Json = toHex(p.value);
    if (p.id >= AvId.MsvAvNbComputerName && p.id <= AvId.MsvAvDnsTreeName || p.id === AvId.MsvAvTargetName) {
      try { value = fromUtf16le(p.value, name); } catch { /* odd length: the hex stays */ }
    } else if (p.id === AvId.MsvAvFlags) {
      const f = new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0, true);
      value = { value: f, names: Object.entries(MsvAvFlagBits).filter(([, b]) => f & b).map(([n]) => n) };
    } else if (p.id === AvId.MsvAvTimestamp) {
      value = fileTimeJson(new DataView(p.value.buffer, p.value.byteOffset, 8).getBigUint64(0, true));
    }
    return { id: p.id, name, value };
  });
}

function errorText(err: unknown): string {
  return err instanceof SpnegoError || err instanceof Error ? err.message : String(err);
}

/** Describes a token. Throws DecodeError when the outermost structure cannot be parsed. */
export function describeToken(bytes: Uint8Array, opts: DescribeOptions = {}): Json {
  return describeAny(bytes, { keytab: opts.keytab, tickets: new WeakMap() });
}
