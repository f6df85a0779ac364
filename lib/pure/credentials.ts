/**
 * The pure backend's credentials (lib/credentials.ts has the public types): what a context needs
 * that does not change from one context to the next, got once.
 *
 * - accept: krb5.conf parsed once; the keytab read once without blocking and re-read (again
 *   without blocking) when its file changes, checked by an async stat at most once a second on the
 *   accept path: a key added during a rotation (a new kvno) is used without a restart, and the old
 *   kvno keeps working while it is in the file. The replay cache defaults to the process's cache for
 *   the keytab (lib/krb5/replay-cache.ts defaultReplayCache), shared with every other credential and
 *   createAcceptor call on that keytab.
 * - initiate: a ccache, a password or a client keytab. The credential owns its TGT and a bounded
 *   cache of service tickets keyed by the service principal, each used until a minute before its
 *   end time; nothing is shared with another credential object. The old option forms
 *   (createInitiator({ credentials: { principal, password } })) make a transient credential that
 *   shares TGTs through the process's TgtCache instead (lib/krb5/client/tgt-cache.ts).
 */
import { realpathSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { resolveSrv } from 'node:dns/promises';
import { UsageError } from '../errors.js';
import type { Credentials } from '../context.js';
import type { AcceptCredentialOptions, AcquireCredentialsOptions, Credential, CredentialInfo, InitiateCredentialOptions } from '../credentials.js';
import { type Krb5Config, loadKrb5Config } from '../krb5/config.js';
import { ErrorCode, NameType } from '../krb5/constants.js';
import type { Credential as Ticket, RealmName } from '../krb5/client/credential.js';
import { requestInitialTicket } from '../krb5/client/as.js';
import { type CachedSecret, TgtCache, configIdentity } from '../krb5/client/tgt-cache.js';
import { requestServiceTicket } from '../krb5/client/tgs.js';
import { type KdcAddress, type TransportOptions, parseKdcAddress } from '../krb5/client/transport.js';
import type { KdcTarget } from '../krb5/client/kdc-rep.js';
import { openCcache, defaultCcacheName, type FileCcache } from '../krb5/ccache.js';
import { type Keytab, loadKeytab, openKeytab, resolveKeytabPath } from '../krb5/keytab.js';
import { kerberosError } from '../krb5/krb-error.js';
import { type ReplayCache, defaultReplayCache } from '../krb5/replay-cache.js';
import { type Key, Principal, parsePrincipal } from '../krb5/types.js';
import { TurnBudget, sharedTurns } from '../util/turns.js';

/** A ticket closer than this to its end time is not used for a new context: a new one is asked for. */
const MIN_REMAINING_MS = 60_000;
/** The keytab file is stat'ed at most this often on the accept path. */
const KEYTAB_CHECK_MS = 1000;
/** Service tickets one initiator credential keeps (least recently used dropped first). */
const MAX_SERVICE_TICKETS = 128;

export const realmName = (p: string, defaultRealm?: string): RealmName => {
  try {
    const x = parsePrincipal(p, defaultRealm);
    return { realm: x.realm, name: { nameType: x.nameType, nameString: x.nameString } };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
};

/**
 * 'HTTP@host' (GSS host-based service, RFC 2743 4.1) -> HTTP/host@REALM with the realm from
 * [domain_realm] or default_realm; 'HTTP/host@REALM' or 'HTTP/host' as a Kerberos principal.
 */
export function targetPrincipal(target: string, config: Krb5Config, clientRealm?: string): RealmName {
  const hb = /^([^@/]+)@([^@/]+)$/.exec(target);
  if (hb) {
    const host = hb[2]!.toLowerCase().replace(/\.$/, '');
    const realm = config.realmForHost(host) ?? config.defaultRealm ?? clientRealm;
    if (!realm) throw new UsageError(`no realm for host ${host}: set default_realm or [domain_realm] in krb5.conf`);
    return { realm, name: { nameType: NameType.NT_SRV_HST, nameString: [hb[1]!, host] } };
  }
  return realmName(target, config.defaultRealm ?? clientRealm);
}

/** The realm's KDCs: [realms] kdc entries, else DNS SRV records when dns_lookup_kdc allows it (RFC 4120 7.2.3.2). */
export async function locateKdcs(config: Krb5Config, realm: string): Promise<KdcAddress[]> {
  const listed = config.kdcs(realm).map(parseKdcAddress);
  if (listed.length || !config.dnsLookupKdc) return listed;
  const out: KdcAddress[] = [];
  for (const proto of ['udp', 'tcp'] as const) {
    try {
      const srv = await resolveSrv(`_kerberos._${proto}.${realm}`);
      srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
      for (const s of srv) out.push({ host: s.name, port: s.port, transport: proto });
    } catch {
      // no records of this kind
    }
  }
  return out;
}

function checkUsable(cred: Credential): void {
  if (cred.disposed) throw new UsageError(`this ${cred.backend} ${cred.usage} credential was disposed: acquire a new one`);
}

/** The identity the default replay cache of a keytab is filed under: its real path (symlinks resolved). */
function keytabIdentity(path: string, real?: string): string {
  return `keytab:${real ?? resolvePath(path)}`;
}

interface FileStamp {
  mtimeMs: number;
  size: number;
  ino: number;
}

/** A pure 'accept' credential: keys, krb5.conf policy and the replay cache, for many acceptors. */
export class PureAcceptCredential implements Credential {
  readonly usage = 'accept' as const;
  readonly backend = 'pure' as const;
  readonly allowWeak: boolean;
  readonly permittedEnctypes: number[];
  readonly replayCache: ReplayCache;
  readonly delegatedCcache?: string;
  /** Shares the event loop's turns among handshakes (undefined: turnBudgetMs 0, no yielding). */
  readonly turns?: TurnBudget;
  private readonly only?: RealmName;
  private isDisposed = false;
  private nextCheck = 0;
  private checking?: Promise<void>;

  private constructor(
    readonly config: Krb5Config,
    private keytab: Keytab,
    private stamp: FileStamp | undefined,
    o: AcceptCredentialOptions,
    replayIdentity: string,
    /** Transient credentials (old option forms) live for one context: no re-reading. */
    private readonly watch: boolean,
  ) {
    this.allowWeak = o.allowWeakCrypto ?? config.allowWeakCrypto;
    this.permittedEnctypes = config.enctypes('permitted_enctypes', { allowWeak: this.allowWeak });
    this.only = o.principal ? realmName(o.principal, config.defaultRealm) : undefined;
    this.replayCache = o.replayCache ?? defaultReplayCache(replayIdentity);
    this.delegatedCcache = o.delegatedCcache;
    const budget = msOption('turnBudgetMs', o.turnBudgetMs, '0: no yielding');
    this.turns = budget === undefined ? sharedTurns : budget === 0 ? undefined : new TurnBudget(budget);
  }

  /**
   * Awaited before an AP-REQ is decrypted: the keytab check, then a turn of the event loop
   * (lib/util/turns.ts). Undefined when there is nothing to wait for.
   */
  beforeAccept(): Promise<void> | undefined {
    const f = this.fresh();
    if (f) return f.then(() => this.turns?.take());
    return this.turns?.take();
  }

  static async acquire(o: AcceptCredentialOptions): Promise<PureAcceptCredential> {
    const config = loadKrb5Config({ path: o.krb5Config });
    const path = resolveKeytabPath(o.keytab ?? config.path('default_keytab_name'));
    const keytab = await loadKeytab(path);
    const [st, real] = await Promise.all([stat(path).catch(() => undefined), realpath(path).catch(() => undefined)]);
    const cred = new PureAcceptCredential(config, keytab, st && { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino }, o, keytabIdentity(path, real), true);
    cred.nextCheck = Date.now() + KEYTAB_CHECK_MS;
    return cred;
  }

  /** For createAcceptor's option forms: read now (synchronously, as before), for one context. */
  static transient(o: AcceptCredentialOptions): PureAcceptCredential {
    const config = loadKrb5Config({ path: o.krb5Config });
    const keytab = openKeytab(o.keytab ?? config.path('default_keytab_name'));
    let real: string | undefined;
    try {
      real = realpathSync(keytab.path!);
    } catch {
      // read a moment ago; resolved as given
    }
    return new PureAcceptCredential(config, keytab, undefined, o, keytabIdentity(keytab.path!, real), false);
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  get info(): CredentialInfo {
    return { usage: 'accept', backend: 'pure', principal: this.only && Principal.toString(this.only) };
  }

  dispose(): void {
    this.isDisposed = true;
  }

  /** Throws UsageError when disposed (a new context is refused; contexts already made go on). */
  checkUsable(): void {
    checkUsable(this);
  }

  /** The service key for a ticket (RFC 4120 3.2.3), with the principal restriction applied. */
  readonly keyFor = (server: RealmName, kvno: number | undefined, enctype: number): Key => {
    if (this.only && !Principal.equals(this.only, server)) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_NOT_US, `the ticket is for ${Principal.toString(server)}, this acceptor is ${Principal.toString(this.only)}`);
    }
    return this.keytab.findKey(server, kvno, enctype);
  };

  /**
   * Awaited before each AP-REQ: at most once a second, an async stat of the keytab; when the file
   * changed (a rotation wrote a new kvno), it is re-read asynchronously. Undefined (nothing to wait
   * for) on all other calls.
   */
  fresh(): Promise<void> | undefined {
    if (!this.watch || this.isDisposed) return undefined;
    if (this.checking) return this.checking;
    const now = Date.now();
    if (now < this.nextCheck) return undefined;
    this.nextCheck = now + KEYTAB_CHECK_MS;
    this.checking = this.reloadIfChanged().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async reloadIfChanged(): Promise<void> {
    const path = this.keytab.path!;
    try {
      const st = await stat(path);
      const s = this.stamp;
      if (s && s.mtimeMs === st.mtimeMs && s.size === st.size && s.ino === st.ino) return;
      const next = await loadKeytab(path);
      this.keytab = next;
      this.stamp = { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino };
    } catch {
      // Missing or half-written for a moment (a rotation in progress): keep the keys we have and
      // look again at the next check.
    }
  }
}

/** The KDC timeouts an initiator credential may be given. */
export type KdcTimeouts = Pick<InitiateCredentialOptions, 'kdcTimeoutMs' | 'requestTimeoutMs'>;

/** An option in ms (a timeout, a budget): a finite number, positive (or 0 when `zero` says what 0 means). */
function msOption(name: string, v: unknown, zero?: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !zero)) {
    throw new UsageError(`${name} must be a ${zero ? 'non-negative' : 'positive'} number of milliseconds${zero ? ` (${zero})` : ''}, not ${JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

/**
 * The transport options of an initiator: the options given, else krb5.conf's kdc_timeout
 * (Heimdal, per attempt) and request_timeout (MIT 1.22, total); bad values refused now, by name.
 */
export function kdcTransport(config: Krb5Config, t: KdcTimeouts = {}): TransportOptions {
  const kdcTimeoutMs = msOption('kdcTimeoutMs', t.kdcTimeoutMs);
  const requestTimeoutMs = msOption('requestTimeoutMs', t.requestTimeoutMs, '0: no total bound');
  return {
    udpPreferenceLimit: config.udpPreferenceLimit,
    timeoutMs: kdcTimeoutMs ?? config.kdcTimeout * 1000,
    requestTimeoutMs: requestTimeoutMs ?? config.requestTimeout * 1000,
  };
}

type InitiatorSource =
  | { kind: 'ccache'; name: string; ccache?: FileCcache }
  | { kind: 'secret'; client: RealmName; password?: string; keytab?: string; keys?: Key[] };

/** A pure 'initiate' credential: the client's TGT and the service tickets got with it. */
export class PureInitiateCredential implements Credential {
  readonly usage = 'initiate' as const;
  readonly backend = 'pure' as const;
  readonly allowWeak: boolean;
  private tgt?: Ticket;
  private tgtPending?: Promise<Ticket>;
  /** Service principal -> ticket (Map order = least recently used first). */
  private readonly tickets = new Map<string, Ticket>();
  private readonly pending = new Map<string, Promise<Ticket>>();
  private readonly source: InitiatorSource;
  private readonly transport: TransportOptions;
  private isDisposed = false;

  /**
   * `sharedTgts`: the old option forms' process-wide TGT cache (a TGT reused only with the same
   * secret and krb5.conf); an acquired credential has none and owns its TGT.
   */
  constructor(readonly config: Krb5Config, creds: Credentials | undefined, allowWeakCrypto: boolean | undefined, private readonly sharedTgts?: TgtCache, timeouts?: KdcTimeouts) {
    this.allowWeak = allowWeakCrypto ?? config.allowWeakCrypto;
    this.transport = kdcTransport(config, timeouts);
    if (creds && ('password' in creds || 'keytab' in creds)) {
      const client = realmName(creds.principal, config.defaultRealm);
      this.source = 'password' in creds ? { kind: 'secret', client, password: creds.password } : { kind: 'secret', client, keytab: creds.keytab };
    } else {
      this.source = { kind: 'ccache', name: creds && 'ccache' in creds ? creds.ccache : defaultCcacheName(process.env, config.path('default_ccache_name')) };
    }
  }

  static async acquire(o: InitiateCredentialOptions): Promise<PureInitiateCredential> {
    const cred = new PureInitiateCredential(loadKrb5Config({ path: o.krb5Config }), o.credentials, o.allowWeakCrypto, undefined, o);
    await cred.currentTgt();
    return cred;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  get info(): CredentialInfo {
    const s = this.source;
    const client = s.kind === 'secret' ? s.client : s.ccache?.cache.defaultPrincipal;
    return { usage: 'initiate', backend: 'pure', principal: client && Principal.toString(client), expiresAt: this.tgt?.endtime };
  }

  /** Drops the cached service tickets; contexts already made keep theirs. */
  dispose(): void {
    this.isDisposed = true;
    this.tickets.clear();
  }

  checkUsable(): void {
    checkUsable(this);
  }

  /** The number of service tickets held (tests, metrics). */
  get cachedTickets(): number {
    return this.tickets.size;
  }

  /** The realm's KDCs and how to reach them (udp_preference_limit, the KDC timeouts). */
  async kdcsFor(realm: string): Promise<KdcTarget> {
    return { kdcs: await locateKdcs(this.config, realm), transport: this.transport };
  }

  private usable(t: Ticket | undefined): t is Ticket {
    return t !== undefined && t.endtime.getTime() - Date.now() >= MIN_REMAINING_MS;
  }

  /** The TGT, got (or re-got a minute before it ends) from the KDC or the ccache. */
  currentTgt(): Promise<Ticket> {
    if (this.usable(this.tgt)) return Promise.resolve(this.tgt);
    this.tgtPending ??= this.fetchTgt().then((t) => {
      this.tgt = t;
      return t;
    }).finally(() => {
      this.tgtPending = undefined;
    });
    return this.tgtPending;
  }

  private async fetchTgt(): Promise<Ticket> {
    const s = this.source;
    if (s.kind === 'ccache') {
      // Re-read: kinit may have renewed it since.
      s.ccache = openCcache(s.name);
      const realm = s.ccache.cache.defaultPrincipal.realm;
      const tgt = s.ccache.tgt(realm);
      if (!tgt) throw new UsageError(`no valid TGT in ${s.ccache.path} for realm ${realm}: run kinit, or pass credentials`);
      return tgt;
    }
    const allowWeak = this.allowWeak;
    if (s.keytab !== undefined && !s.keys) s.keys = (await loadKeytab(s.keytab, process.env, true)).keysFor(s.client);
    const cacheSecret: CachedSecret = s.password !== undefined ? { password: s.password } : { keytab: s.keytab!, keys: s.keys! };
    const principal = Principal.toString(s.client);
    const configId = this.sharedTgts && configIdentity(this.config);
    const shared = this.sharedTgts?.get(principal, configId!, cacheSecret);
    if (shared) return shared;
    const secret = s.password !== undefined ? { password: s.password } : { keys: s.keys! };
    const tgt = await requestInitialTicket({
      ...(await this.kdcsFor(s.client.realm)), client: s.client, secret, etypes: this.config.enctypes('default_tkt_enctypes', { allowWeak }), allowWeak, forwardable: true,
    });
    this.sharedTgts?.set(principal, configId!, cacheSecret, tgt);
    return tgt;
  }

  private clientRealm(): string {
    const s = this.source;
    return s.kind === 'secret' ? s.client.realm : (this.tgt?.client.realm ?? s.ccache!.cache.defaultPrincipal.realm);
  }

  /**
   * A service ticket for `target`: from this credential's cache (or the ccache's) while it has more
   * than a minute left, else from the KDC (one TGS exchange, shared by concurrent callers).
   * `tgt` is returned too when `withTgt` (delegation forwards it).
   */
  async serviceTicket(target: string, withTgt = false): Promise<{ svc: Ticket; tgt?: Ticket }> {
    const s = this.source;
    if (s.kind === 'ccache') s.ccache ??= openCcache(s.name);
    const server = targetPrincipal(target, this.config, this.clientRealm());
    const key = Principal.toString(server);
    const tgtOut = withTgt ? await this.currentTgt() : undefined;
    const mine = this.tickets.get(key);
    if (this.usable(mine)) {
      this.tickets.delete(key);
      this.tickets.set(key, mine);
      return { svc: mine, tgt: tgtOut };
    }
    if (s.kind === 'ccache') {
      const stored = s.ccache?.find(server, new Date(Date.now() + MIN_REMAINING_MS));
      if (stored) return { svc: this.remember(key, stored), tgt: tgtOut };
    }
    let p = this.pending.get(key);
    if (!p) {
      p = (async () => {
        const tgt = await this.currentTgt();
        const allowWeak = this.allowWeak;
        const svc = await requestServiceTicket({
          tgt, server, kdcsFor: (r) => this.kdcsFor(r), etypes: this.config.enctypes('default_tgs_enctypes', { allowWeak }), allowWeak,
        });
        if (s.kind === 'ccache') s.ccache?.store(svc);
        return svc;
      })().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const svc = await p;
    if (!this.isDisposed) this.remember(key, svc);
    return { svc, tgt: tgtOut };
  }

  private remember(key: string, t: Ticket): Ticket {
    this.tickets.delete(key);
    this.tickets.set(key, t);
    for (const k of this.tickets.keys()) {
      if (this.tickets.size <= MAX_SERVICE_TICKETS) break;
      this.tickets.delete(k);
    }
    return t;
  }
}

export type PureCredential = PureAcceptCredential | PureInitiateCredential;

/** acquireCredentials for backend 'pure'. */
export async function acquirePureCredential(o: AcquireCredentialsOptions): Promise<PureCredential> {
  if (o.usage === 'accept') return PureAcceptCredential.acquire(o);
  if (o.usage === 'initiate') return PureInitiateCredential.acquire(o);
  throw new UsageError(`acquireCredentials needs usage 'initiate' or 'accept', not '${String((o as { usage?: unknown }).usage)}'`);
}
