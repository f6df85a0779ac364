/**
 * MIT FILE credential caches, format versions 3 and 4 (0x0503 / 0x0504, big-endian; MIT's doc
 * "Credential cache file format"). Read and written byte-compatibly, so kinit, klist and kvno use
 * what we store and we use what they store. Configuration entries (server realm "X-CACHECONF:") are
 * kept as they are and skipped by lookups.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { DecodeError, UsageError } from '../errors.js';
import { decodeTicket, encodeTicket, type HostAddress, type AuthorizationData } from './asn1/index.js';
import type { Credential, RealmName } from './client/credential.js';
import { isTgt } from './client/credential.js';
import { expandTokens } from './config.js';
import { refuseWindowsOnlyCcache, splitKrb5Name } from '../util/win-paths.js';
import { formatPrincipal } from './types.js';

export interface CcacheCredential extends Credential {
  isSkey: boolean;
  addresses: HostAddress[];
  authdata: AuthorizationData;
  /** The ticket DER exactly as stored. */
  ticketDer: Uint8Array;
  secondTicket: Uint8Array;
}

export interface Ccache {
  version: 3 | 4;
  /** v4 header tags (tag 1 = KDC time offset), kept as read. */
  headerTags: { tag: number; data: Uint8Array }[];
  defaultPrincipal: RealmName;
  credentials: CcacheCredential[];
}

const CONF_REALM = 'X-CACHECONF:';

class Reader {
  off = 0;
  constructor(readonly b: Uint8Array) {}
  need(n: number, f: string) {
    if (n < 0 || this.off + n > this.b.length) throw new DecodeError(`ccache.${f}`, `needs ${n} bytes, ${this.b.length - this.off} left`, this.off);
  }
  u8(f: string) { this.need(1, f); return this.b[this.off++]!; }
  u16(f: string) { this.need(2, f); const v = (this.b[this.off]! << 8) | this.b[this.off + 1]!; this.off += 2; return v; }
  u32(f: string) { this.need(4, f); const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0); this.off += 4; return v; }
  bytes(n: number, f: string) { this.need(n, f); const v = this.b.slice(this.off, this.off + n); this.off += n; return v; }
  data(f: string) { return this.bytes(this.u32(`${f}.length`), f); }
  str(f: string) { return new TextDecoder().decode(this.data(f)); }
  principal(f: string): RealmName {
    const nameType = this.u32(`${f}.name_type`);
    const count = this.u32(`${f}.num_components`);
    if (count > 64) throw new DecodeError(`ccache.${f}.num_components`, `${count} components`, this.off - 4);
    const realm = this.str(`${f}.realm`);
    const nameString: string[] = [];
    for (let i = 0; i < count; i++) nameString.push(this.str(`${f}.component[${i}]`));
    return { realm, name: { nameType, nameString } };
  }
  time(f: string): Date {
    return new Date(this.u32(f) * 1000);
  }
}

export function readCcache(bytes: Uint8Array): Ccache {
  const r = new Reader(bytes);
  const v = r.u16('version');
  if (v !== 0x0503 && v !== 0x0504) {
    throw new DecodeError('ccache.version', `unsupported credential cache version 0x${v.toString(16)} (only 0x0503 and 0x0504)`, 0);
  }
  const version = v === 0x0504 ? 4 : 3;
  const headerTags: Ccache['headerTags'] = [];
  if (version === 4) {
    const hlen = r.u16('header.length');
    const end = r.off + hlen;
    r.need(hlen, 'header');
    while (r.off < end) {
      const tag = r.u16('header.tag');
      const len = r.u16('header.taglen');
      if (r.off + len > end) throw new DecodeError('ccache.header', 'tag runs past the header', r.off);
      headerTags.push({ tag, data: r.bytes(len, 'header.tagdata') });
    }
  }
  const defaultPrincipal = r.principal('default_principal');
  const credentials: CcacheCredential[] = [];
  while (r.off < bytes.length) {
    const client = r.principal('cred.client');
    const server = r.principal('cred.server');
    const enctype = r.u16('cred.key.enctype');
    if (version === 3) r.u16('cred.key.enctype_repeated');
    const keyvalue = r.data('cred.key.data');
    const authtime = r.time('cred.authtime');
    const starttime = r.time('cred.starttime');
    const endtime = r.time('cred.endtime');
    const renewTill = r.time('cred.renew_till');
    const isSkey = r.u8('cred.is_skey') !== 0;
    const flags = r.u32('cred.ticket_flags');
    const addresses: HostAddress[] = [];
    for (let i = 0, n = r.u32('cred.addresses.count'); i < n; i++) {
      r.need(6, 'cred.addresses');
      addresses.push({ addrType: r.u16('cred.address.type'), address: r.data('cred.address.data') });
    }
    const authdata: AuthorizationData = [];
    for (let i = 0, n = r.u32('cred.authdata.count'); i < n; i++) {
      r.need(6, 'cred.authdata');
      authdata.push({ adType: r.u16('cred.authdata.type'), adData: r.data('cred.authdata.data') });
    }
    const ticketDer = r.data('cred.ticket');
    const secondTicket = r.data('cred.second_ticket');
    const conf = server.realm === CONF_REALM;
    credentials.push({
      client, server, key: { enctype, keyvalue }, authtime,
      starttime: starttime.getTime() ? starttime : undefined, endtime,
      renewTill: renewTill.getTime() ? renewTill : undefined, isSkey, flags, addresses, authdata, ticketDer, secondTicket,
      // Config entries carry arbitrary data in the ticket field: not decoded.
      ticket: conf || ticketDer.length === 0 ? { realm: '', sname: { nameType: 0, nameString: [] }, encPart: { etype: 0, cipher: new Uint8Array(0) } } : decodeTicket(ticketDer),
    });
  }
  return { version, headerTags, defaultPrincipal, credentials };
}

export function encodeCcache(cc: Ccache): Uint8Array {
  const out: number[] = [];
  const u8 = (v: number) => out.push(v & 0xff);
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (v: number) => out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const data = (b: Uint8Array) => { u32(b.length); for (const x of b) out.push(x); };
  const str = (s: string) => data(new TextEncoder().encode(s));
  const principal = (p: RealmName) => { u32(p.name.nameType); u32(p.name.nameString.length); str(p.realm); p.name.nameString.forEach(str); };
  const time = (d?: Date) => u32(d ? Math.floor(d.getTime() / 1000) : 0);
  u16(cc.version === 4 ? 0x0504 : 0x0503);
  if (cc.version === 4) {
    u16(cc.headerTags.reduce((n, t) => n + 4 + t.data.length, 0));
    for (const t of cc.headerTags) { u16(t.tag); u16(t.data.length); for (const x of t.data) out.push(x); }
  }
  principal(cc.defaultPrincipal);
  for (const c of cc.credentials) {
    principal(c.client);
    principal(c.server);
    u16(c.key.enctype);
    if (cc.version === 3) u16(c.key.enctype);
    data(c.key.keyvalue);
    time(c.authtime); time(c.starttime); time(c.endtime); time(c.renewTill);
    u8(c.isSkey ? 1 : 0);
    u32(c.flags);
    u32(c.addresses.length);
    for (const a of c.addresses) { u16(a.addrType); data(a.address); }
    u32(c.authdata.length);
    for (const a of c.authdata) { u16(a.adType); data(a.adData); }
    data(c.ticketDer);
    data(c.secondTicket);
  }
  return Uint8Array.from(out);
}

/** A Credential from the KDC, as a ccache entry. */
export function toCcacheCredential(c: Credential): CcacheCredential {
  return { ...c, isSkey: false, addresses: [], authdata: [], ticketDer: encodeTicket(c.ticket), secondTicket: new Uint8Array(0) };
}

const nameOf = (p: RealmName) => formatPrincipal({ ...p.name, realm: p.realm });

/** A FILE: credential cache on disk. */
export class FileCcache {
  constructor(readonly path: string, public cache: Ccache) {}

  /** A valid (not expired) credential for `server`, or undefined. Config entries are skipped. */
  find(server: RealmName, now = new Date()): CcacheCredential | undefined {
    const want = nameOf(server);
    return this.cache.credentials.find((c) => c.server.realm !== CONF_REALM && nameOf(c.server) === want && c.endtime.getTime() > now.getTime() && c.ticketDer.length > 0);
  }

  /** The TGT of the default principal's realm (or `realm`). */
  tgt(realm = this.cache.defaultPrincipal.realm, now = new Date()): CcacheCredential | undefined {
    return this.cache.credentials.find((c) => c.server.realm === realm && isTgt(c.server) && c.server.name.nameString[1] === realm && c.endtime.getTime() > now.getTime());
  }

  /** Adds (or replaces, same server) a credential and writes the file atomically, mode 0600. */
  store(cred: Credential): void {
    const c = 'ticketDer' in cred ? (cred as CcacheCredential) : toCcacheCredential(cred);
    const want = nameOf(c.server);
    this.cache.credentials = this.cache.credentials.filter((x) => x.server.realm === CONF_REALM || nameOf(x.server) !== want);
    this.cache.credentials.push(c);
    this.save();
  }

  save(): void {
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, encodeCcache(this.cache), { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  /** A new cache file holding `creds` for `principal` (what kinit does). */
  static create(path: string, principal: RealmName, creds: Credential[] = []): FileCcache {
    // v4 with a zero KDC time offset header, as MIT 1.20 writes it.
    const cc = new FileCcache(path, { version: 4, headerTags: [], defaultPrincipal: principal, credentials: creds.map(toCcacheCredential) });
    cc.save();
    return cc;
  }
}

/** 'FILE:/path' or a bare path -> the path. KEYRING:, KCM:, DIR:, MEMORY: and API: are not supported. */
export function ccachePath(name: string): string {
  const { type, residual } = splitKrb5Name(name); // "C:\x\cc" is a path on Windows (lib/util/win-paths.ts)
  if (!type) return expandTokens(residual);
  if (type === 'FILE') return expandTokens(residual);
  refuseWindowsOnlyCcache(type);
  throw new UsageError(`credential cache type ${type}: is not supported by the pure backend (use a FILE: cache, or the native backend)`);
}

/** The default ccache name: KRB5CCNAME, else krb5.conf default_ccache_name, else FILE:/tmp/krb5cc_%{uid}. */
export function defaultCcacheName(env: NodeJS.ProcessEnv = process.env, configured?: string): string {
  return env.KRB5CCNAME ?? configured ?? `FILE:/tmp/krb5cc_${process.getuid?.() ?? 0}`;
}

export function openCcache(name: string): FileCcache {
  const path = ccachePath(name);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UsageError(`no credential cache at ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}): run kinit, or pass credentials`);
  }
  return new FileCcache(path, readCcache(bytes));
}
