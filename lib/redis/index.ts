/**
 * A replay cache shared through Redis (entry point 'spnego/redis'): every process and host of a
 * service that points at the same Redis refuses an authenticator seen by any of them (RFC 4120
 * section 3.2.3), which per-process memory caches cannot do behind a load balancer.
 *
 *   import { RedisReplayCache } from 'spnego/redis';
 *   const replayCache = new RedisReplayCache({ url: 'redis://127.0.0.1:6379', namespace: 'HTTP/www.example.test@EXAMPLE.TEST' });
 *   app.use(negotiate({ keytab, replayCache }));
 *
 * One atomic command per authenticator, `SET key 1 PX <ms> NX` (or PXAT): there is no window
 * between the check and the store in which two instances could both see the tag as new (a
 * GET-then-SET would have one). The client is the `ioredis` package (an optional peer dependency,
 * imported only when this module makes its own client), or an already made ioredis or node-redis
 * (`redis` package, v4+) client passed as `client`.
 *
 * Fails closed: when Redis cannot be reached or does not answer within `timeoutMs`, checkAndStore
 * throws ReplayCacheUnavailableError and the acceptor refuses the token; the next request after
 * Redis is back is checked normally (the client reconnects by itself). A local fallback is used
 * only when given explicitly (`fallback`); it protects each process alone, not the service.
 */
import { ReplayCacheUnavailableError, UsageError } from '../errors.js';
import { MemoryReplayCache, type ReplayCache } from '../krb5/replay-cache.js';

export { MemoryReplayCache, type ReplayCache } from '../krb5/replay-cache.js';
export { ReplayCacheUnavailableError } from '../errors.js';

/** An ioredis client (`call`) or a node-redis v4+ client (`sendCommand([...])`): what is used of them. */
export type RedisClientLike =
  | { call(command: string, ...args: (string | number)[]): Promise<unknown>; status?: string }
  | { sendCommand(args: string[]): Promise<unknown>; isReady?: boolean };

export interface RedisReplayCacheOptions {
  /** A Redis URL (redis://host:port/db, rediss:// for TLS); an ioredis client is made for it. */
  url?: string;
  /** Options given to the ioredis client made for `url` (merged over this module's defaults). */
  clientOptions?: Record<string, unknown>;
  /** A client the application made and owns (ioredis, or node-redis v4+ already connected); close() leaves it open. */
  client?: RedisClientLike;
  /** Prefix of every key (default 'spnego:rc:'). */
  prefix?: string;
  /**
   * The service's own space in a Redis shared by several services, e.g. its principal
   * 'HTTP/www.example.test@EXAMPLE.TEST'. Fixed by configuration, never taken from a ticket (the
   * ticket's sname is outside its encryption: a replay renamed to an alias would look new).
   * The tags are of whole authenticator ciphertexts, so services sharing one space never collide
   * either; a namespace keeps them apart for operations (counting, flushing one service).
   */
  namespace?: string;
  /** Longest wait for Redis per authenticator, connecting included (default 1000 ms); past it the token is refused. */
  timeoutMs?: number;
  /**
   * 'px' (default): the entry lives expiresAt - now milliseconds from when Redis stores it, whatever
   * Redis's own clock says (a Redis clock ahead of the acceptor's cannot shorten it).
   * 'pxat': an absolute expiry on Redis's clock (Redis >= 6.2), for hosts with synchronised clocks.
   */
  expiry?: 'px' | 'pxat';
  /**
   * Explicit, never the default: where authenticators are checked while Redis is unavailable
   * ('memory' = a MemoryReplayCache of this process). A replay sent to another process or host
   * during the outage is then accepted there: the service trades replay protection for availability.
   */
  fallback?: 'memory' | ReplayCache;
  /** Told of every failure of Redis (with the fallback in use or not), e.g. for metrics or logs. */
  onUnavailable?: (err: ReplayCacheUnavailableError) => void;
  /** The acceptor's clock (ms since the epoch), for 'px'; injectable for tests. */
  now?: () => number;
}

/** The ioredis options this module uses for its own client: fail fast while disconnected, reconnect for ever. */
const OWN_CLIENT_DEFAULTS = {
  // Commands fail at once while disconnected instead of queueing without bound during an outage.
  enableOfflineQueue: false,
  // A command in flight when the connection drops fails, never re-sent later.
  maxRetriesPerRequest: 0,
  // Reconnect for ever, at most every 1 s: the service resumes by itself once Redis is back.
  retryStrategy: (times: number) => Math.min(50 * times, 1000),
  lazyConnect: true,
  connectTimeout: 2000,
  // Commands issued in one tick of the event loop go out in one write (one syscall, not one per handshake).
  enableAutoPipelining: true,
};

type IoRedisClient = {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, fn: (...a: unknown[]) => void): unknown;
  once(event: string, fn: (...a: unknown[]) => void): unknown;
  off(event: string, fn: (...a: unknown[]) => void): unknown;
  status: string;
};

/** Imports ioredis only when a client must be made (users passing `client` never load it). */
async function makeIoRedis(url: string, options: Record<string, unknown>): Promise<IoRedisClient> {
  // A specifier in a variable: no type dependency on the optional peer at build time.
  const name = 'ioredis';
  let mod: { default?: unknown; Redis?: unknown };
  try {
    mod = await import(name) as typeof mod;
  } catch (err) {
    throw new UsageError("RedisReplayCache with `url` needs the 'ioredis' package: npm install ioredis (or pass a connected `client`)", { cause: err });
  }
  const Ctor = (mod.Redis ?? (mod.default as { Redis?: unknown } | undefined)?.Redis ?? mod.default) as new (url: string, o: Record<string, unknown>) => IoRedisClient;
  return new Ctor(url, { ...OWN_CLIENT_DEFAULTS, ...options });
}

class Timeout extends Error {}

export class RedisReplayCache implements ReplayCache {
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly expiry: 'px' | 'pxat';
  private readonly now: () => number;
  private readonly fallback: ReplayCache | undefined;
  private readonly given: RedisClientLike | undefined;
  private own: Promise<IoRedisClient> | undefined;
  private ownClient: IoRedisClient | undefined;
  private closed = false;
  private ready: Promise<void> | undefined;
  private readonly store: string;

  constructor(private readonly o: RedisReplayCacheOptions) {
    if (!o || (!o.url && !o.client) || (o.url && o.client)) {
      throw new UsageError('RedisReplayCache needs exactly one of `url` (an ioredis client is made) or `client` (yours)');
    }
    if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) throw new UsageError('RedisReplayCache: timeoutMs must be a positive number of milliseconds');
    this.prefix = (o.prefix ?? 'spnego:rc:') + (o.namespace ? `${o.namespace}:` : '');
    this.timeoutMs = o.timeoutMs ?? 1000;
    this.expiry = o.expiry ?? 'px';
    this.now = o.now ?? Date.now;
    this.fallback = o.fallback === 'memory' ? new MemoryReplayCache({ now: this.now }) : o.fallback;
    this.given = o.client;
    // Where the failures say the cache is: the URL without credentials.
    this.store = o.url ? `redis ${redactUrl(o.url)}` : 'redis (application client)';
  }

  /** The Redis key of a replay tag. */
  key(id: string): string {
    return this.prefix + id;
  }

  async checkAndStore(id: string, expiresAt: Date): Promise<boolean> {
    const key = this.key(id);
    const args: (string | number)[] = this.expiry === 'pxat'
      ? [key, '1', 'PXAT', Math.ceil(expiresAt.getTime()), 'NX']
      // At least 1 ms: PX 0 is an error, and an entry already expired needs no keeping.
      : [key, '1', 'PX', Math.max(1, Math.ceil(expiresAt.getTime() - this.now())), 'NX'];
    let reply: unknown;
    try {
      reply = await this.withTimeout(async () => this.send(await this.client(), 'SET', args));
    } catch (err) {
      // A configuration error (ioredis not installed, cache closed) is the application's to fix: no fallback.
      if (err instanceof UsageError) throw err;
      const e = err instanceof ReplayCacheUnavailableError ? err : unavailable(this.store, err, this.timeoutMs);
      this.o.onUnavailable?.(e);
      if (this.fallback) return this.fallback.checkAndStore(id, expiresAt);
      throw e;
    }
    // SET ... NX: "OK" when stored (new), nil when the key exists (a replay).
    if (reply === 'OK') return true;
    if (reply === null || reply === undefined) return false;
    const e = new ReplayCacheUnavailableError(this.store, `unexpected reply to SET NX: ${typeof reply}`);
    this.o.onUnavailable?.(e);
    if (this.fallback) return this.fallback.checkAndStore(id, expiresAt);
    throw e;
  }

  /**
   * Connects the client this cache makes (a service awaits it before it listens, so the first
   * requests do not wait for the connection); throws ReplayCacheUnavailableError when Redis does
   * not answer within `timeoutMs` (default: the cache's). Without it, the first checkAndStore connects.
   */
  async connect(timeoutMs = this.timeoutMs): Promise<void> {
    try {
      const c = await this.withTimeout(() => this.client(), timeoutMs);
      await this.withTimeout(() => this.send(c, 'PING', []), timeoutMs);
    } catch (err) {
      if (err instanceof UsageError || err instanceof ReplayCacheUnavailableError) throw err;
      throw unavailable(this.store, err, timeoutMs);
    }
  }

  /** Closes the client this cache made (a client passed in stays the application's). */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.ownClient;
    if (!c) return;
    // QUIT waits for Redis's answer: only when connected, and never longer than timeoutMs.
    if (c.status !== 'ready') {
      c.disconnect();
      return;
    }
    try {
      await this.withTimeout(() => c.quit());
    } catch {
      c.disconnect();
    }
  }

  private send(c: RedisClientLike, command: string, args: (string | number)[]): Promise<unknown> {
    if ('call' in c && typeof c.call === 'function') return c.call(command, ...args);
    if ('sendCommand' in c && typeof c.sendCommand === 'function') return c.sendCommand([command, ...args.map(String)]);
    throw new UsageError('RedisReplayCache: `client` is neither an ioredis client (call) nor a node-redis client (sendCommand)');
  }

  /** The client, connected: the given one as is, or ours (made on first use, reconnecting by itself). */
  private async client(): Promise<RedisClientLike> {
    if (this.given) return this.given;
    if (this.closed) throw new UsageError('RedisReplayCache is closed');
    if (!this.own) {
      this.own = makeIoRedis(this.o.url!, this.o.clientOptions ?? {}).then((c) => {
        this.ownClient = c;
        // Errors are reported per command (fail closed); without a listener ioredis prints them.
        c.on('error', () => {});
        return c;
      });
      this.own.catch(() => { this.own = undefined; });
    }
    const c = await this.own;
    if (c.status === 'ready') return c;
    // While it reconnects after an outage: refuse at once rather than wait (requests keep coming).
    if (c.status === 'reconnecting' || c.status === 'close') throw new ReplayCacheUnavailableError(this.store, 'not connected (reconnecting)');
    if (c.status === 'end') throw new ReplayCacheUnavailableError(this.store, 'the connection was closed');
    // First use ('wait') or connecting: one wait for 'ready' shared by the requests meanwhile
    // (each bounded by withTimeout).
    this.ready ??= new Promise<void>((resolve, reject) => {
      const done = () => { c.off('ready', onReady); c.off('end', onEnd); this.ready = undefined; };
      const onReady = () => { done(); resolve(); };
      const onEnd = () => { done(); reject(new ReplayCacheUnavailableError(this.store, 'the connection ended')); };
      c.on('ready', onReady);
      c.on('end', onEnd);
      if (c.status === 'wait') c.connect().catch(() => {});
    });
    this.ready.catch(() => {});
    await this.ready;
    return c;
  }

  private withTimeout<T>(f: () => Promise<T>, ms = this.timeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      // After a stalled event loop, timers run before the poll phase that would deliver a reply
      // already received: the timeout is decided in the check phase (setImmediate), after it.
      const timer = setTimeout(() => setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new Timeout());
      }), ms);
      f().then((v) => {
        clearTimeout(timer);
        if (!settled) resolve(v);
        settled = true;
      }, (e: unknown) => {
        clearTimeout(timer);
        if (!settled) reject(e);
        settled = true;
      });
    });
  }
}

function unavailable(store: string, err: unknown, timeoutMs: number): ReplayCacheUnavailableError {
  if (err instanceof Timeout) return new ReplayCacheUnavailableError(store, `no answer within ${timeoutMs} ms`);
  if (err instanceof UsageError) return new ReplayCacheUnavailableError(store, err.message, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  // Redis's and the client's own messages (connection refused, READONLY, OOM...): no secrets in them.
  return new ReplayCacheUnavailableError(store, msg.slice(0, 200), { cause: err });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'redis (unparsable url)';
  }
}
