/**
 * The acceptor's replay cache (RFC 4120 section 3.2.3): an authenticator seen once within the clock
 * skew window is rejected the second time. The key is a hash of the authenticator ciphertext (as MIT's
 * rcache does since 1.18), so two authenticators differing in any byte never collide.
 * Behind an interface so a service can share one across processes (e.g. in Redis).
 */
export interface ReplayCache {
  /** Records `id` until `expiresAt`; returns false when it is already there (a replay). */
  checkAndStore(id: string, expiresAt: Date): boolean | Promise<boolean>;
}

/** In memory, bounded in time (entries expire) and in size (oldest evicted first). */
export class MemoryReplayCache implements ReplayCache {
  private readonly entries = new Map<string, number>();
  constructor(private readonly maxEntries = 100_000, private readonly now: () => number = Date.now) {}

  checkAndStore(id: string, expiresAt: Date): boolean {
    const t = this.now();
    const seen = this.entries.get(id);
    if (seen !== undefined && seen > t) return false;
    this.entries.delete(id);
    // Map keeps insertion order: the first entries are the oldest.
    for (const [k, exp] of this.entries) {
      if (exp > t && this.entries.size < this.maxEntries) break;
      this.entries.delete(k);
    }
    this.entries.set(id, expiresAt.getTime());
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}
