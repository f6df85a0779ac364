/**
 * MIT keytab files, format version 2 (0x0502; version 1, 0x0501, read too), as ktutil and klist -k
 * read them (MIT's doc "keytab file format"). Big-endian; each entry is a signed 32-bit size (negative
 * = a hole left by a deleted entry), then: component count (16), realm, components (16-bit length +
 * bytes), name type (32, absent in v1), timestamp (32), 8-bit kvno, keyblock (enctype 16, length 16,
 * key), and an optional 32-bit kvno that overrides the 8-bit one when present and non-zero.
 */
import { splitKrb5Name } from '../util/win-paths.js';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DecodeError, UsageError } from '../errors.js';
import { ErrorCode } from './constants.js';
import { stringToKey } from './crypto/index.js';
import { kerberosError } from './krb-error.js';
import { type Key, type PrincipalName, Principal } from './types.js';
import { expandTokens } from './config.js';

export interface KeytabEntry {
  realm: string;
  name: PrincipalName;
  timestamp: Date;
  kvno: number;
  key: Key;
}

class Reader {
  off = 0;
  constructor(readonly b: Uint8Array, readonly end = b.length) {}
  need(n: number, field: string) {
    if (n < 0 || this.off + n > this.end) throw new DecodeError(`keytab.${field}`, `needs ${n} bytes, ${this.end - this.off} left`, this.off);
  }
  u8(f: string) { this.need(1, f); return this.b[this.off++]!; }
  u16(f: string) { this.need(2, f); const v = (this.b[this.off]! << 8) | this.b[this.off + 1]!; this.off += 2; return v; }
  u32(f: string) { this.need(4, f); const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0); this.off += 4; return v; }
  i32(f: string) { this.need(4, f); const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getInt32(0); this.off += 4; return v; }
  bytes(n: number, f: string) { this.need(n, f); const v = this.b.slice(this.off, this.off + n); this.off += n; return v; }
  str(f: string) { return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes(this.u16(`${f}.length`), f)); }
}

export function readKeytab(bytes: Uint8Array): KeytabEntry[] {
  const r = new Reader(bytes);
  if (r.u8('version') !== 5) throw new DecodeError('keytab.version', 'not a keytab (first byte is not 5)', 0);
  const version = r.u8('version');
  if (version !== 1 && version !== 2) throw new DecodeError('keytab.version', `unsupported keytab version 5.${version}`, 1);
  const out: KeytabEntry[] = [];
  while (r.off < bytes.length) {
    const size = r.i32('entry.size');
    if (size === 0) break; // MIT writes zero-filled space at the end sometimes
    if (size < 0) {
      r.need(-size, 'hole');
      r.off += -size;
      continue;
    }
    r.need(size, 'entry');
    const e = new Reader(bytes.subarray(0, r.off + size));
    e.off = r.off;
    let count = e.u16('entry.num_components');
    if (version === 1) count -= 1; // v1 counted the realm
    const realm = e.str('entry.realm');
    const comps: string[] = [];
    for (let i = 0; i < count; i++) comps.push(e.str(`entry.component[${i}]`));
    const nameType = version === 2 ? e.u32('entry.name_type') : 1;
    const timestamp = new Date(e.u32('entry.timestamp') * 1000);
    let kvno = e.u8('entry.vno8');
    const enctype = e.u16('entry.key.enctype');
    const keyvalue = e.bytes(e.u16('entry.key.length'), 'entry.key.contents');
    if (e.end - e.off >= 4) {
      const kvno32 = e.u32('entry.vno');
      if (kvno32 !== 0) kvno = kvno32;
    }
    r.off += size;
    out.push({ realm, name: { nameType, nameString: comps }, timestamp, kvno, key: { enctype, keyvalue } });
  }
  return out;
}

export function encodeKeytab(entries: KeytabEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: number[] = [5, 2];
  const u16 = (a: number[], v: number) => a.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (a: number[], v: number) => a.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const str = (a: number[], s: string) => {
    const b = enc.encode(s);
    u16(a, b.length);
    a.push(...b);
  };
  for (const e of entries) {
    const body: number[] = [];
    u16(body, e.name.nameString.length);
    str(body, e.realm);
    for (const c of e.name.nameString) str(body, c);
    u32(body, e.name.nameType);
    u32(body, Math.floor(e.timestamp.getTime() / 1000));
    body.push(e.kvno & 0xff);
    u16(body, e.key.enctype);
    u16(body, e.key.keyvalue.length);
    body.push(...e.key.keyvalue);
    u32(body, e.kvno);
    u32(parts, body.length);
    parts.push(...body);
  }
  return Uint8Array.from(parts);
}

/** 'FILE:/path', 'WRFILE:/path' or a bare path -> the path; other types are not supported. */
export function keytabPath(name: string): string {
  const { type, residual } = splitKrb5Name(name); // "C:\x\kt" is a path on Windows (lib/util/win-paths.ts)
  if (!type) return expandTokens(residual);
  if (type === 'FILE' || type === 'WRFILE') return expandTokens(residual);
  throw new UsageError(`keytab type ${type}: is not supported (only FILE: keytabs)`);
}

export class Keytab {
  constructor(readonly entries: KeytabEntry[], readonly path?: string) {}

  /**
   * The key for `principal` (any principal when undefined), with `kvno` (highest when undefined)
   * and `enctype`. Throws KerberosError naming what was wanted and what the keytab has.
   */
  findKey(principal: { realm: string; name: PrincipalName } | undefined, kvno: number | undefined, enctype: number): Key {
    const want = principal ? Principal.toString(principal) : undefined;
    const byName = want === undefined ? this.entries : this.entries.filter((e) => Principal.toString(e) === want);
    const where = this.path ? `keytab ${this.path}` : 'the keytab';
    if (byName.length === 0) {
      const have = [...new Set(this.entries.map((e) => Principal.toString(e)))].join(', ') || 'nothing';
      throw kerberosError(ErrorCode.KRB_AP_ERR_NOKEY, `${where} has no key for ${want} (it has ${have}): wrong SPN or keytab`);
    }
    const byEtype = byName.filter((e) => e.key.enctype === enctype);
    if (byEtype.length === 0) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_NOKEY, `${where} has no enctype ${enctype} key for ${want ?? 'any principal'} (it has enctypes ${[...new Set(byName.map((e) => e.key.enctype))].join(', ')})`);
    }
    // MIT compares the low 8 bits when a ticket's kvno is compared with an 8-bit keytab kvno.
    const match = kvno === undefined ? byEtype : byEtype.filter((e) => e.kvno === kvno || (e.kvno & 0xff) === (kvno & 0xff));
    if (match.length === 0) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_BADKEYVER, `${where} has no kvno ${kvno} key for ${want ?? 'the ticket\'s principal'} (it has kvno ${[...new Set(byEtype.map((e) => e.kvno))].join(', ')}): the keytab is stale`);
    }
    return match.reduce((a, b) => (b.kvno > a.kvno ? b : a)).key;
  }

  /** All keys of one principal at its highest kvno (for an AS exchange with a client keytab). */
  keysFor(principal: { realm: string; name: PrincipalName }): Key[] {
    const want = Principal.toString(principal);
    const mine = this.entries.filter((e) => Principal.toString(e) === want);
    const top = Math.max(-1, ...mine.map((e) => e.kvno));
    return mine.filter((e) => e.kvno === top).map((e) => e.key);
  }

  save(path = this.path): void {
    if (!path) throw new UsageError('no keytab path to save to');
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, encodeKeytab(this.entries), { mode: 0o600 });
    renameSync(tmp, path);
  }
}

/** The keytab file a name means: FILE:/path, a bare path, else KRB5_KTNAME (KRB5_CLIENT_KTNAME), else the default. */
export function resolveKeytabPath(name?: string, env: NodeJS.ProcessEnv = process.env, client = false): string {
  const n = name ?? (client ? env.KRB5_CLIENT_KTNAME : env.KRB5_KTNAME) ?? (client ? '/etc/krb5/user/%{uid}/client.keytab' : '/etc/krb5.keytab');
  return keytabPath(n);
}

const unreadable = (path: string, err: unknown) =>
  new UsageError(`cannot read keytab ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/** Opens a keytab by name (FILE:/path, bare path), else KRB5_KTNAME, else /etc/krb5.keytab. */
export function openKeytab(name?: string, env: NodeJS.ProcessEnv = process.env, client = false): Keytab {
  const path = resolveKeytabPath(name, env, client);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  return new Keytab(readKeytab(bytes), path);
}

/** openKeytab without blocking the event loop (credentials read their keytab this way). */
export async function loadKeytab(name?: string, env: NodeJS.ProcessEnv = process.env, client = false): Promise<Keytab> {
  const path = resolveKeytabPath(name, env, client);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  return new Keytab(readKeytab(bytes), path);
}

/** A keytab entry made from a password (the salt defaults to realm + name components, RFC 4120 section 4). */
export function keytabEntryFromPassword(
  principal: { realm: string; name: PrincipalName }, password: string, enctype: number, kvno: number, salt?: string, opts: { allowWeak?: boolean } = {},
): KeytabEntry {
  const key = stringToKey(enctype, password, salt ?? principal.realm + principal.name.nameString.join(''), undefined, opts);
  return { realm: principal.realm, name: principal.name, timestamp: new Date(), kvno, key };
}

