/**
 * An embedded KDC (import from 'spnego/kdc'): AS and TGS over TCP and UDP on loopback, for tests and
 * the demo. Real clients (MIT kinit/kvno, libgssapi, Heimdal) get tickets from it; it writes a
 * krb5.conf for them and exports service keytabs.
 *
 *   const kdc = await startKdc({ realm: 'EXAMPLE.TEST', principals: [{ name: 'alice', password: 'pw' }, { name: 'HTTP/web.example.test' }] });
 *   kdc.writeKrb5Conf('/tmp/krb5.conf'); kdc.writeKeytab('/tmp/http.keytab', ['HTTP/web.example.test']);
 *   await kdc.stop();
 */
import { writeFileSync } from 'node:fs';
import { DecodeError, UsageError } from '../errors.js';
import { decodeKrb5Message, type AuthorizationData, type KdcReqBody } from '../krb5/asn1/index.js';
import { ErrorCode } from '../krb5/constants.js';
import { Keytab, type KeytabEntry } from '../krb5/keytab.js';
import type { Key, PrincipalName } from '../krb5/types.js';
import { handleAsReq } from './as.js';
import { handleTgsReq, type KdcContext } from './tgs.js';
import { PrincipalDb, type DbPrincipal, type PrincipalSpec } from './database.js';
import { KdcReplyError, krbErrorReply } from './krb-error.js';
import { listen, type Listeners } from './server.js';
import { pacAuthorizationData } from './pac.js';

export type { PrincipalSpec, PacOptions } from './database.js';

export interface KdcOptions {
  realm: string;
  principals?: PrincipalSpec[];
  /** Loopback address (default 127.0.0.1). */
  host?: string;
  /** Default 0: an ephemeral port, the same for TCP and UDP. */
  port?: number;
  /** Issue and accept rc4-hmac (RFC 4757). Off by default. */
  allowWeakCrypto?: boolean;
  /** Seconds (default 300). */
  clockSkew?: number;
  /** Longest ticket life in seconds (default 10 h). */
  maxTicketLifetime?: number;
  /** The KDC's clock (tests of clock skew). */
  now?: () => Date;
  /**
   * Builds the authorization data (the PAC) for a client's tickets. Default: an AD-style signed PAC
   * for principals that have `pac` options (lib/kdc/pac.ts); nothing otherwise.
   */
  pacFor?: (client: DbPrincipal, name: { realm: string; name: PrincipalName }, serverKey: Key, krbtgtKey: Key, authtime: Date) => AuthorizationData | undefined;
  /** Called for every request answered with an error (for logs in tests); never with secrets. */
  onError?: (code: number, text: string) => void;
}

export interface Kdc {
  readonly realm: string;
  readonly host: string;
  readonly port: number;
  addPrincipal(p: PrincipalSpec): void;
  /** The long-term keys of a principal (tests that need to decrypt tickets). */
  keys(name: string): Key[];
  /** Keytab entries (v2) for the named principals (default: every non-krbtgt service). */
  keytab(names?: string[]): KeytabEntry[];
  writeKeytab(path: string, names?: string[]): void;
  /** A krb5.conf that points MIT/Heimdal clients (and our pure client) at this KDC. */
  krb5Conf(opts?: { extraLibdefaults?: Record<string, string> }): string;
  writeKrb5Conf(path: string, opts?: { extraLibdefaults?: Record<string, string> }): void;
  /** Counters of requests served, for the bench and tests. */
  readonly stats: { as: number; tgs: number; errors: number };
  stop(): Promise<void>;
}

export async function startKdc(o: KdcOptions): Promise<Kdc> {
  if (!o.realm) throw new UsageError('startKdc needs a realm');
  const realm = o.realm;
  const db = new PrincipalDb(realm, o.allowWeakCrypto ?? false);
  const krbtgt = db.add({ name: `krbtgt/${realm}`, requiresPreauth: false });
  for (const p of o.principals ?? []) db.add(p);
  const now = o.now ?? (() => new Date());
  const stats = { as: 0, tgs: 0, errors: 0 };
  const ctx: KdcContext = {
    realm, db, krbtgt, clockSkew: o.clockSkew ?? 300, maxLifetime: o.maxTicketLifetime ?? 36000,
    pacFor: (client, name, serverKey, authtime) => (o.pacFor ?? pacAuthorizationData)(client, name, serverKey, krbtgt.keys[0]!, authtime),
  };

  const handle = (req: Uint8Array): Uint8Array | undefined => {
    const t = now();
    let body: KdcReqBody | undefined;
    try {
      const msg = decodeKrb5Message(req);
      if (msg.type === 'AS-REQ') {
        body = msg.value.reqBody;
        stats.as++;
        return handleAsReq(ctx, msg.value, t);
      }
      if (msg.type === 'TGS-REQ') {
        body = msg.value.reqBody;
        stats.tgs++;
        return handleTgsReq(ctx, msg.value, t);
      }
      throw new KdcReplyError(ErrorCode.KRB_AP_ERR_MSG_TYPE, `a KDC does not answer ${msg.type}`);
    } catch (err) {
      stats.errors++;
      const e = err instanceof KdcReplyError ? err
        : err instanceof DecodeError ? new KdcReplyError(ErrorCode.KRB_ERR_GENERIC, `malformed request: ${err.message}`)
        : new KdcReplyError(ErrorCode.KRB_ERR_GENERIC, 'internal error');
      o.onError?.(e.code, e.eText);
      try {
        return krbErrorReply(e, realm, body, t);
      } catch {
        return krbErrorReply(new KdcReplyError(ErrorCode.KRB_ERR_GENERIC, 'malformed request'), realm, undefined, t);
      }
    }
  };
  const tooBig = (): Uint8Array => krbErrorReply(new KdcReplyError(ErrorCode.KRB_ERR_RESPONSE_TOO_BIG, 'Response too big for UDP, retry with TCP'), realm, undefined, now());

  const host = o.host ?? '127.0.0.1';
  const net: Listeners = await listen(host, o.port ?? 0, handle, tooBig);
  const hostPort = host.includes(':') ? `[${host}]:${net.port}` : `${host}:${net.port}`;

  const kdc: Kdc = {
    realm, host, port: net.port, stats,
    addPrincipal: (p) => void db.add(p),
    keys(name) {
      const p = db.get({ nameType: 1, nameString: name.split('/') });
      if (!p) throw new UsageError(`no principal ${name} in the embedded KDC`);
      return p.keys;
    },
    keytab(names) {
      const chosen = names ? names.map((n) => db.get({ nameType: 1, nameString: n.split('/') }) ?? fail(n)) : db.all().filter((p) => p.name.nameString.length > 1 && p.name.nameString[0] !== 'krbtgt');
      return chosen.flatMap((p) => p.keys.filter((k) => db.key(p, k.enctype)).map((key) => ({ realm, name: p.name, timestamp: now(), kvno: p.kvno, key })));
    },
    writeKeytab(path, names) {
      new Keytab(kdc.keytab(names), path).save();
    },
    krb5Conf(opts = {}) {
      const extra = Object.entries(opts.extraLibdefaults ?? {}).map(([k, v]) => `  ${k} = ${v}`);
      return [
        '[libdefaults]',
        `  default_realm = ${realm}`,
        '  dns_lookup_kdc = false',
        '  dns_lookup_realm = false',
        '  dns_canonicalize_hostname = false',
        '  rdns = false',
        '  forwardable = true',
        ...(o.allowWeakCrypto ? ['  allow_weak_crypto = true'] : []),
        ...extra,
        '[realms]',
        `  ${realm} = {`,
        `    kdc = ${hostPort}`,
        '  }',
        '',
      ].join('\n');
    },
    writeKrb5Conf(path, opts) {
      writeFileSync(path, kdc.krb5Conf(opts));
    },
    stop: () => net.close(),
  };
  return kdc;
}

function fail(name: string): never {
  throw new UsageError(`no principal ${name} in the embedded KDC`);
}
