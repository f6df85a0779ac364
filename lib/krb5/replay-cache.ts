/**
 * The acceptor's replay cache (RFC 4120 section 3.2.3): an authenticator seen once within the clock
 * skew window is rejected the second time. The acceptor's key is a 128-bit tag of the whole
 * authenticator ciphertext (MIT's rcache since 1.18 also keys on a tag of the ciphertext), so two
 * authenticators differing in any byte never collide.
 * Behind an interface so a service can share one across processes (e.g. in Redis).
 */
import { ReplayCacheFullError } from '../errors.js';
import { getCryptoProvider } from './crypto/index.js';
import { toHex } from '../util/bytes.js';

/**
 * The acceptor's replay-cache key: the first 128 bits of SHA-256 over the authenticator ciphertext,
 * in hex (a collision between two authenticators is negligible: 2^-64 after 2^32 entries). Not mixed
 * with the server principal: the ticket's sname is outside its encryption, so an attacker could
 * rename it to an alias sharing the key and the replay would look new.
 */
export function replayTag(authenticatorCipher: Uint8Array): string {
  return toHex(getCryptoProvider().hash('sha256', authenticatorCipher).subarray(0, 16));
}

export interface ReplayCache {
  /**
   * Records `id` until `expiresAt` (inclusive); returns false when it is already there (a replay).
   * An implementation must never forget an entry before `expiresAt`: when it cannot store one more,
   * it throws (ReplayCacheFullError) and the acceptor refuses the authenticator.
   */
  checkAndStore(id: string, expiresAt: Date): boolean | Promise<boolean>;
}

export interface MemoryReplayCacheOptions {
  /**
   * The most entries held at once; a new authenticator past it is refused (ReplayCacheFullError),
   * never an unexpired entry dropped. Default 1,000,000.
   *
   * Measured (Node 20, x64, heapUsed after gc() around 200k checkAndStore calls with 128-bit tags):
   * ~69 bytes per entry, set, bucket slot and 32-byte key (the old 64-hex-char key alone was 80),
   * so the default cap is ~70 MB. An entry lives
   * until max(now, ctime) + clockskew: 300 s for a client with an honest clock, at most 600 s for one
   * a whole skew ahead. 1M entries therefore hold 3,300 accepts/s sustained with honest clocks
   * (1,600/s in the worst case), 10x what the old 100k cap silently stopped protecting (333/s).
   * Size it as peak accepts/s x 2 x clockskew; 10,000/s x 600 s = 6M entries is ~420 MB.
   */
  maxEntries?: number;
  /** The clock (ms since the epoch), injectable for tests; it must be the acceptor's. */
  now?: () => number;
}

/**
 * In memory, bounded in time and in size: entries are filed in one-second expiry buckets and a
 * bucket is dropped whole once its second has passed (no scan of the live entries per insert);
 * when `maxEntries` unexpired entries are held, new authenticators are refused (fail closed).
 */
export class MemoryReplayCache implements ReplayCache {
  /** Compact keys (a 16-byte one-byte string for the acceptor's 32-hex-char tags). */
  private readonly entries = new Set<string>();
  /** Expiry second (entries expire strictly before it) -> the keys filed there. */
  private readonly buckets = new Map<number, string[]>();
  /** Every bucket up to this second has been dropped. */
  private sweptTo = -Infinity;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(o: MemoryReplayCacheOptions | number = {}, now?: () => number) {
    // A number is the old (maxEntries, now) signature.
    const opts = typeof o === 'number' ? { maxEntries: o, now } : o;
    this.maxEntries = opts.maxEntries ?? 1_000_000;
    this.now = opts.now ?? Date.now;
  }

  checkAndStore(id: string, expiresAt: Date): boolean {
    this.sweep(this.now());
    const key = compact(id);
    if (this.entries.has(key)) return false;
    if (this.entries.size >= this.maxEntries) throw new ReplayCacheFullError(this.maxEntries);
    // Filed in the second after expiresAt, dropped once that second is reached: an entry can
    // outlive its expiry by up to 1 s, never be forgotten before it.
    const second = Math.floor(expiresAt.getTime() / 1000) + 1;
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = []));
    bucket.push(key);
    this.entries.add(key);
    return true;
  }

  /** The unexpired entries held. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(nowMs: number): void {
    const nowSec = Math.floor(nowMs / 1000);
    if (nowSec <= this.sweptTo) return;
    const drop = (second: number) => {
      const keys = this.buckets.get(second);
      if (!keys) return;
      for (const k of keys) this.entries.delete(k);
      this.buckets.delete(second);
    };
    // Walk the elapsed seconds, or the (at most ~2 x clockskew) live buckets when the clock jumped.
    if (nowSec - this.sweptTo <= this.buckets.size) {
      for (let s = this.sweptTo + 1; s <= nowSec; s++) drop(s);
    } else {
      for (const s of [...this.buckets.keys()]) if (s <= nowSec) drop(s);
    }
    this.sweptTo = nowSec;
  }
}

const HEX_TAG = /^[0-9a-f]{32}$/;

/** A 32-hex-char tag as a 16-char one-byte string (32 bytes on the V8 heap instead of 48). */
function compact(id: string): string {
  if (!HEX_TAG.test(id)) return id;
  // Each pair of hex digits (checked by HEX_TAG: 0-9, a-f) becomes one char code 0..255.
  const digit = (c: number) => (c <= 0x39 ? c - 0x30 : c - 0x57);
  const codes = new Array<number>(16);
  for (let i = 0; i < 16; i++) codes[i] = digit(id.charCodeAt(2 * i)) * 16 + digit(id.charCodeAt(2 * i + 1));
  // One call, so the key is a flat string (a concatenation would keep a rope in the Set).
  return String.fromCharCode(...codes);
}

/**
 * Process-wide state (one of the two in lib/, see docs/ARCHITECTURE.md "Process-wide state"): the
 * default replay cache of each service key set, by identity (the pure backend files an acceptor's
 * under its keytab's real path). Every credential and every createAcceptor call on the same keytab
 * gets the same cache, as MIT's acceptors share their rcache file: replay protection does not depend
 * on how the application holds its credentials. Sharing is safe: the tags are of whole
 * authenticator ciphertexts, so two services never collide.
 */
const defaultCaches = new Map<string, MemoryReplayCache>();

export function defaultReplayCache(identity: string): MemoryReplayCache {
  let c = defaultCaches.get(identity);
  if (!c) defaultCaches.set(identity, (c = new MemoryReplayCache()));
  return c;
}
