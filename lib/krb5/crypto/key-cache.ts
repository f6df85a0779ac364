/**
 * The derived-key cache: RFC 3961 derives Kc, Ke and Ki from the base key and the key usage, and
 * the same context key signs or seals every message with the same usage. Each is derived once per
 * base key, usage and enctype, and kept with the provider's prepared state (an OpenSSL cipher, an
 * HMAC key object), for as long as the base key's bytes are reachable (a WeakMap on the keyvalue
 * array: when the Key goes, its derived keys go with it). Keys are never mutated in place in this
 * library; a caller who rewrites a keyvalue array must not expect derived keys to follow.
 */
import { type CryptoProvider, getCryptoProvider } from './provider.js';

/** RFC 3961 5.3 derivation constants' last byte, which also name the cache slots. */
export const DerivedKind = { KC: 0x99, KE: 0xaa, KI: 0x55 } as const;

type Slots = Map<number, unknown>;

/** Per provider (a provider switch must not reuse another library's prepared objects). */
const caches = new WeakMap<CryptoProvider, WeakMap<Uint8Array, Slots>>();

/** One number per (enctype, usage, kind): usage is 32-bit, so the product stays below 2^53. */
function slot(enctype: number, usage: number, kind: number): number {
  return ((usage >>> 0) * 256 + kind) * 256 + (enctype & 0xff);
}

/**
 * The value `make` builds for (key, enctype, usage, kind), built on first use and then kept.
 * `make` gets the current provider.
 */
export function derived<T>(key: Uint8Array, enctype: number, usage: number, kind: number, make: (p: CryptoProvider) => T): T {
  const p = getCryptoProvider();
  let perProvider = caches.get(p);
  if (!perProvider) caches.set(p, (perProvider = new WeakMap()));
  let slots = perProvider.get(key);
  if (!slots) perProvider.set(key, (slots = new Map()));
  const s = slot(enctype, usage, kind);
  let v = slots.get(s) as T | undefined;
  if (v === undefined) slots.set(s, (v = make(p)));
  return v;
}
