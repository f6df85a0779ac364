/**
 * KERB_VALIDATION_INFO (MS-PAC 2.5), the PAC's LOGON_INFO buffer, in NDR. The fixed part holds
 * the scalars and the pointers; the pointed-to data (strings, group arrays, SIDs) follow it in the
 * order the pointers appear (deferred pointers, MS-RPCE 2.2.5). Names are the MS-PAC field names.
 */
import { DecodeError } from '../../errors.js';
import { NdrReader, NdrWriter, unwrapTypeSerialization, wrapTypeSerialization } from './ndr.js';
import type { Sid } from './sid.js';

/** One decoder for every string (building one per string showed in the acceptor's profile). */
const utf16le = new TextDecoder('utf-16le');

export interface GroupMembership {
  relativeId: number;
  attributes: number;
}
export interface SidAndAttributes {
  sid: Sid;
  attributes: number;
}

/** SE_GROUP_* attributes (MS-PAC 2.2.1): mandatory | enabled by default | enabled. */
export const SE_GROUP_DEFAULT = 0x00000007;
/** UserFlags (MS-PAC 2.5): ExtraSids present; ResourceGroupIds present. */
export const LOGON_EXTRA_SIDS = 0x20;
export const LOGON_RESOURCE_GROUPS = 0x200;

export interface KerbValidationInfo {
  logonTime: bigint;
  logoffTime: bigint;
  kickOffTime: bigint;
  passwordLastSet: bigint;
  passwordCanChange: bigint;
  passwordMustChange: bigint;
  effectiveName: string;
  fullName: string;
  logonScript: string;
  profilePath: string;
  homeDirectory: string;
  homeDirectoryDrive: string;
  logonCount: number;
  badPasswordCount: number;
  userId: number;
  primaryGroupId: number;
  groupIds: GroupMembership[];
  userFlags: number;
  userSessionKey: Uint8Array;
  logonServer: string;
  logonDomainName: string;
  logonDomainId?: Sid;
  userAccountControl: number;
  subAuthStatus: number;
  lastSuccessfulILogon: bigint;
  lastFailedILogon: bigint;
  failedILogonCount: number;
  extraSids: SidAndAttributes[];
  resourceGroupDomainSid?: Sid;
  resourceGroupIds: GroupMembership[];
}

/** FILETIME "never" (MS-PAC 2.5: 0x7FFFFFFF FFFFFFFF). */
export const FILETIME_NEVER = 0x7fffffffffffffffn;
/** Date <-> FILETIME (100 ns since 1601-01-01). */
export const toFiletime = (d: Date): bigint => (BigInt(d.getTime()) + 11644473600000n) * 10000n;
export const fromFiletime = (f: bigint): Date | undefined => (f === FILETIME_NEVER || f === 0n ? undefined : new Date(Number(f / 10000n - 11644473600000n)));

const MAX_ITEMS = 4096; // far more groups than AD puts in a token (1015)

// ---- decoding ----

interface UnicodeStringHeader {
  length: number;
  maximumLength: number;
  pointer: number;
}
function readUnicodeHeader(r: NdrReader, what: string): UnicodeStringHeader {
  const length = r.u16(`${what}.Length`);
  const maximumLength = r.u16(`${what}.MaximumLength`);
  const pointer = r.u32(`${what}.Buffer`);
  if (length % 2 || length > maximumLength) throw new DecodeError(`${r.field}.${what}`, `bad RPC_UNICODE_STRING lengths ${length}/${maximumLength}`, r.off);
  return { length, maximumLength, pointer };
}
function readUnicodeBody(r: NdrReader, h: UnicodeStringHeader, what: string): string {
  if (!h.pointer) return '';
  const max = r.count(`${what}.MaximumCount`, 0);
  const offset = r.u32(`${what}.Offset`);
  const actual = r.count(`${what}.ActualCount`, 2);
  if (offset !== 0 || actual > max || actual * 2 !== h.length) throw new DecodeError(`${r.field}.${what}`, `conformant string counts ${max}/${offset}/${actual} disagree with Length ${h.length}`, r.off);
  const s = utf16le.decode(r.bytes(actual * 2, what));
  r.align(4);
  return s;
}
function readSid(r: NdrReader, what: string): Sid {
  const count = r.count(`${what}.SubAuthorityCount(conformance)`, 4);
  const revision = r.u8(`${what}.Revision`);
  const n = r.u8(`${what}.SubAuthorityCount`);
  if (n !== count || n > 15) throw new DecodeError(`${r.field}.${what}`, `SID with ${n} sub-authorities (conformance ${count})`, r.off);
  let authority = 0n;
  for (const b of r.bytes(6, `${what}.IdentifierAuthority`)) authority = (authority << 8n) | BigInt(b);
  const subAuthorities: number[] = [];
  for (let i = 0; i < n; i++) subAuthorities.push(r.u32(`${what}.SubAuthority`));
  return { revision, authority, subAuthorities };
}
function readGroups(r: NdrReader, expected: number, what: string): GroupMembership[] {
  const n = r.count(`${what}.MaxCount`, 8);
  if (n !== expected) throw new DecodeError(`${r.field}.${what}`, `array of ${n}, count field says ${expected}`, r.off);
  const out: GroupMembership[] = [];
  for (let i = 0; i < n; i++) out.push({ relativeId: r.u32(`${what}.RelativeId`), attributes: r.u32(`${what}.Attributes`) });
  return out;
}

export function decodeLogonInfo(buffer: Uint8Array): KerbValidationInfo {
  const r = new NdrReader(unwrapTypeSerialization(buffer, 'KERB_VALIDATION_INFO'), 'KERB_VALIDATION_INFO');
  if (!r.u32('(top-level pointer)')) throw new DecodeError('KERB_VALIDATION_INFO', 'NULL top-level pointer', 0);
  const logonTime = r.filetime('LogonTime');
  const logoffTime = r.filetime('LogoffTime');
  const kickOffTime = r.filetime('KickOffTime');
  const passwordLastSet = r.filetime('PasswordLastSet');
  const passwordCanChange = r.filetime('PasswordCanChange');
  const passwordMustChange = r.filetime('PasswordMustChange');
  const names = ['EffectiveName', 'FullName', 'LogonScript', 'ProfilePath', 'HomeDirectory', 'HomeDirectoryDrive'] as const;
  const heads = names.map((n) => readUnicodeHeader(r, n));
  const logonCount = r.u16('LogonCount');
  const badPasswordCount = r.u16('BadPasswordCount');
  const userId = r.u32('UserId');
  const primaryGroupId = r.u32('PrimaryGroupId');
  const groupCount = r.u32('GroupCount');
  const groupIdsPtr = r.u32('GroupIds');
  const userFlags = r.u32('UserFlags');
  const userSessionKey = r.bytes(16, 'UserSessionKey');
  const logonServerH = readUnicodeHeader(r, 'LogonServer');
  const logonDomainNameH = readUnicodeHeader(r, 'LogonDomainName');
  const logonDomainIdPtr = r.u32('LogonDomainId');
  r.u32('Reserved1[0]');
  r.u32('Reserved1[1]');
  const userAccountControl = r.u32('UserAccountControl');
  const subAuthStatus = r.u32('SubAuthStatus');
  const lastSuccessfulILogon = r.filetime('LastSuccessfulILogon');
  const lastFailedILogon = r.filetime('LastFailedILogon');
  const failedILogonCount = r.u32('FailedILogonCount');
  r.u32('Reserved3');
  const sidCount = r.u32('SidCount');
  const extraSidsPtr = r.u32('ExtraSids');
  const resourceDomainPtr = r.u32('ResourceGroupDomainSid');
  const resourceGroupCount = r.u32('ResourceGroupCount');
  const resourceGroupIdsPtr = r.u32('ResourceGroupIds');
  for (const [n, c] of [['GroupCount', groupCount], ['SidCount', sidCount], ['ResourceGroupCount', resourceGroupCount]] as const) {
    if (c > MAX_ITEMS) throw new DecodeError(`KERB_VALIDATION_INFO.${n}`, `${c} is more than ${MAX_ITEMS}`, r.off);
  }
  // Deferred referents, in pointer order.
  const strings = names.map((n, i) => readUnicodeBody(r, heads[i]!, n));
  const groupIds = groupIdsPtr ? readGroups(r, groupCount, 'GroupIds') : [];
  if (!groupIdsPtr && groupCount) throw new DecodeError('KERB_VALIDATION_INFO.GroupIds', `NULL with GroupCount ${groupCount}`, r.off);
  const logonServer = readUnicodeBody(r, logonServerH, 'LogonServer');
  const logonDomainName = readUnicodeBody(r, logonDomainNameH, 'LogonDomainName');
  const logonDomainId = logonDomainIdPtr ? readSid(r, 'LogonDomainId') : undefined;
  const extraSids: SidAndAttributes[] = [];
  if (extraSidsPtr) {
    const n = r.count('ExtraSids.MaxCount', 8);
    if (n !== sidCount) throw new DecodeError('KERB_VALIDATION_INFO.ExtraSids', `array of ${n}, SidCount says ${sidCount}`, r.off);
    const items: { ptr: number; attributes: number }[] = [];
    for (let i = 0; i < n; i++) items.push({ ptr: r.u32('ExtraSids.Sid'), attributes: r.u32('ExtraSids.Attributes') });
    for (const it of items) if (it.ptr) extraSids.push({ sid: readSid(r, 'ExtraSids.Sid'), attributes: it.attributes });
  } else if (sidCount) {
    throw new DecodeError('KERB_VALIDATION_INFO.ExtraSids', `NULL with SidCount ${sidCount}`, r.off);
  }
  const resourceGroupDomainSid = resourceDomainPtr ? readSid(r, 'ResourceGroupDomainSid') : undefined;
  const resourceGroupIds = resourceGroupIdsPtr ? readGroups(r, resourceGroupCount, 'ResourceGroupIds') : [];
  return {
    logonTime, logoffTime, kickOffTime, passwordLastSet, passwordCanChange, passwordMustChange,
    effectiveName: strings[0]!, fullName: strings[1]!, logonScript: strings[2]!, profilePath: strings[3]!, homeDirectory: strings[4]!, homeDirectoryDrive: strings[5]!,
    logonCount, badPasswordCount, userId, primaryGroupId, groupIds, userFlags, userSessionKey, logonServer, logonDomainName, logonDomainId,
    userAccountControl, subAuthStatus, lastSuccessfulILogon, lastFailedILogon, failedILogonCount, extraSids, resourceGroupDomainSid, resourceGroupIds,
  };
}

// ---- encoding ----

function writeUnicodeHeader(w: NdrWriter, s: string): void {
  w.u16(s.length * 2);
  w.u16(s.length * 2);
  w.pointer(s.length > 0);
}
function writeUnicodeBody(w: NdrWriter, s: string): void {
  if (!s.length) return;
  w.u32(s.length);
  w.u32(0);
  w.u32(s.length);
  for (let i = 0; i < s.length; i++) w.u16(s.charCodeAt(i));
  w.align(4);
}
function writeSid(w: NdrWriter, sid: Sid): void {
  w.u32(sid.subAuthorities.length);
  w.u8(sid.revision);
  w.u8(sid.subAuthorities.length);
  for (let i = 5; i >= 0; i--) w.u8(Number((sid.authority >> BigInt(8 * i)) & 0xffn));
  for (const x of sid.subAuthorities) w.u32(x);
}
function writeGroups(w: NdrWriter, g: GroupMembership[]): void {
  w.u32(g.length);
  for (const x of g) {
    w.u32(x.relativeId);
    w.u32(x.attributes);
  }
}

export function encodeLogonInfo(v: KerbValidationInfo): Uint8Array {
  const w = new NdrWriter();
  w.pointer(true);
  for (const t of [v.logonTime, v.logoffTime, v.kickOffTime, v.passwordLastSet, v.passwordCanChange, v.passwordMustChange]) w.filetime(t);
  const strings = [v.effectiveName, v.fullName, v.logonScript, v.profilePath, v.homeDirectory, v.homeDirectoryDrive];
  for (const s of strings) writeUnicodeHeader(w, s);
  w.u16(v.logonCount);
  w.u16(v.badPasswordCount);
  w.u32(v.userId);
  w.u32(v.primaryGroupId);
  w.u32(v.groupIds.length);
  w.pointer(v.groupIds.length > 0);
  w.u32(v.userFlags);
  w.bytes(v.userSessionKey);
  writeUnicodeHeader(w, v.logonServer);
  writeUnicodeHeader(w, v.logonDomainName);
  w.pointer(!!v.logonDomainId);
  w.u32(0);
  w.u32(0);
  w.u32(v.userAccountControl);
  w.u32(v.subAuthStatus);
  w.filetime(v.lastSuccessfulILogon);
  w.filetime(v.lastFailedILogon);
  w.u32(v.failedILogonCount);
  w.u32(0);
  w.u32(v.extraSids.length);
  w.pointer(v.extraSids.length > 0);
  w.pointer(!!v.resourceGroupDomainSid);
  w.u32(v.resourceGroupIds.length);
  w.pointer(v.resourceGroupIds.length > 0);
  for (const s of strings) writeUnicodeBody(w, s);
  if (v.groupIds.length) writeGroups(w, v.groupIds);
  writeUnicodeBody(w, v.logonServer);
  writeUnicodeBody(w, v.logonDomainName);
  if (v.logonDomainId) writeSid(w, v.logonDomainId);
  if (v.extraSids.length) {
    w.u32(v.extraSids.length);
    for (const e of v.extraSids) {
      w.pointer(true);
      w.u32(e.attributes);
    }
    for (const e of v.extraSids) writeSid(w, e.sid);
  }
  if (v.resourceGroupDomainSid) writeSid(w, v.resourceGroupDomainSid);
  if (v.resourceGroupIds.length) writeGroups(w, v.resourceGroupIds);
  return wrapTypeSerialization(w.toBytes());
}
