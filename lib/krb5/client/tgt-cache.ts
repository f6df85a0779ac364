/**
 * The pure initiator's process-wide cache of TGTs got with a password or a client keytab.
 *
 * A cached TGT stands for a logon already checked by the KDC, so it is reused only when everything
 * that logon depended on is the same: the client principal (with its realm), the krb5.conf (the
 * files read and what they parsed to) and the secret. The secret is never stored: the entry holds
 * an HMAC-SHA256 of it under a random key made once per process, compared in constant time, so a
 * wrong password (or a keytab with other keys) never matches and goes to the KDC, which refuses it.
 * The cache is bounded: expired (or nearly expired) entries are dropped, then the least recently
 * used beyond `maxEntries`.
 */
import { createHash } from 'node:crypto';
import type { Krb5Config } from '../config.js';
import { getCryptoProvider } from '../crypto/index.js';
import type { Key } from '../types.js';
import { concatBytes, constantTimeEqual, utf8 } from '../../util/bytes.js';
import type { Credential } from './credential.js';

/** What the TGT was got with. `keytab` names the keytab the keys were read from. */
export type CachedSecret = { password: string } | { keytab: string; keys: Key[] };

/** A TGT closer than this to its end time is not handed out (the caller asks the KDC again). */
const MIN_REMAINING_MS = 60_000;

/** Per-process HMAC key: tags are useless outside this process and never equal a password hash. */
const tagKey = getCryptoProvider().randomBytes(32);

/** Length-prefixed parts, so that no two different inputs give the same bytes. */
function framed(parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.flatMap((p) => {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, p.length);
    return [len, p];
  }));
}

/** HMAC-SHA256 (per-process key) of the password, or of the keytab name and the principal's keys. */
export function secretTag(secret: CachedSecret): Uint8Array {
  const parts = 'password' in secret
    ? [utf8.encode('password'), utf8.encode(secret.password)]
    : [utf8.encode('keytab'), utf8.encode(secret.keytab), ...[...secret.keys]
      .sort((a, b) => a.enctype - b.enctype || Buffer.compare(a.keyvalue, b.keyvalue))
      .flatMap((k) => [utf8.encode(String(k.enctype)), k.keyvalue])];
  return getCryptoProvider().hmac('sha256', tagKey, framed(parts));
}

/** The identity of a loaded krb5.conf: the files read (in order) and the relations they gave, includes included. */
export function configIdentity(config: Krb5Config): string {
  return createHash('sha256').update(JSON.stringify([config.files, config.root])).digest('hex');
}

interface Entry {
  tag: Uint8Array;
  tgt: Credential;
}

export class TgtCache {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly maxEntries = 256, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  private static id(principal: string, config: string): string {
    return `${config}\0${principal}`;
  }

  /** The TGT for `principal` under `config` if it was got with this very secret and is still usable. */
  get(principal: string, config: string, secret: CachedSecret): Credential | undefined {
    const id = TgtCache.id(principal, config);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.tgt.endtime.getTime() - this.now() < MIN_REMAINING_MS) {
      this.entries.delete(id);
      return undefined;
    }
    if (!constantTimeEqual(e.tag, secretTag(secret))) return undefined;
    // Most recently used last (Map keeps insertion order).
    this.entries.delete(id);
    this.entries.set(id, e);
    return e.tgt;
  }

  /** Stores a TGT the KDC just issued for this secret (replacing one got with another secret). */
  set(principal: string, config: string, secret: CachedSecret, tgt: Credential): void {
    const id = TgtCache.id(principal, config);
    this.entries.delete(id);
    this.entries.set(id, { tag: secretTag(secret), tgt });
    const now = this.now();
    for (const [k, v] of this.entries) if (v.tgt.endtime.getTime() - now < MIN_REMAINING_MS) this.entries.delete(k);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
