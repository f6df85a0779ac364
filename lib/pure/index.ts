/**
 * The pure backend's factories: turn the public options into tickets and keys (krb5.conf, the
 * ccache, a password or a client keytab, the KDC), then a PureContext.
 */
import { decodePac, pacInfo, verifyPac } from '../krb5/pac/index.js';
import { resolveSrv } from 'node:dns/promises';
import { UsageError } from '../errors.js';
import type { AcceptorOptions, ChannelBindingsOption, InitiatorOptions } from '../context.js';
import { type ChannelBindings, tlsServerEndPoint } from '../krb5/gss/channel-bindings.js';
import { GssFlags } from '../krb5/gss/checksum.js';
import { Krb5Config, loadKrb5Config } from '../krb5/config.js';
import { NameType, ErrorCode } from '../krb5/constants.js';
import { type Credential, type RealmName } from '../krb5/client/credential.js';
import { requestInitialTicket } from '../krb5/client/as.js';
import { type CachedSecret, TgtCache, configIdentity } from '../krb5/client/tgt-cache.js';
import { requestServiceTicket, delegationCredential } from '../krb5/client/tgs.js';
import { type KdcAddress, parseKdcAddress } from '../krb5/client/transport.js';
import type { KdcTarget } from '../krb5/client/kdc-rep.js';
import { openCcache, defaultCcacheName, FileCcache } from '../krb5/ccache.js';
import { openKeytab } from '../krb5/keytab.js';
import { kerberosError } from '../krb5/krb-error.js';
import { type ReplayCache } from '../krb5/replay-cache.js';
import { parsePrincipal, formatPrincipal } from '../krb5/types.js';
import type { Krb5InitiatorParams } from '../krb5/initiator.js';
import { Krb5AcceptorMech, Krb5InitiatorMech } from './krb5-mech.js';
import { PureContext, optionsToGssFlags } from './context.js';

export function toChannelBindings(cb: ChannelBindingsOption | undefined): ChannelBindings | undefined {
  if (!cb) return undefined;
  if (cb instanceof Uint8Array) return { applicationData: cb };
  if ('tlsServerEndPoint' in cb) return tlsServerEndPoint(cb.tlsServerEndPoint);
  return cb;
}

const realmName = (p: string, defaultRealm?: string): RealmName => {
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

/** TGTs got with a password or a client keytab, for this process (reused only with the same secret and krb5.conf). */
const tgtCache = new TgtCache();

async function acquireServiceTicket(o: InitiatorOptions, config: Krb5Config): Promise<{ svc: Credential; tgt?: Credential; ccache?: FileCcache }> {
  const kdcsFor = async (realm: string): Promise<KdcTarget> => ({ kdcs: await locateKdcs(config, realm), transport: { udpPreferenceLimit: config.udpPreferenceLimit } });
  const allowWeak = o.allowWeakCrypto ?? config.allowWeakCrypto;
  const tktEtypes = config.enctypes('default_tkt_enctypes', { allowWeak });
  const tgsEtypes = config.enctypes('default_tgs_enctypes', { allowWeak });
  const creds = o.credentials;
  let tgt: Credential | undefined;
  let ccache: FileCcache | undefined;
  if (creds && ('password' in creds || 'keytab' in creds)) {
    const client = realmName(creds.principal, config.defaultRealm);
    const principal = formatPrincipal({ ...client.name, realm: client.realm });
    const keys = 'keytab' in creds ? openKeytab(creds.keytab, process.env, true).keysFor(client) : undefined;
    const cacheSecret: CachedSecret = 'password' in creds ? { password: creds.password } : { keytab: creds.keytab, keys: keys! };
    const configId = configIdentity(config);
    tgt = tgtCache.get(principal, configId, cacheSecret);
    if (!tgt) {
      const secret = 'password' in creds ? { password: creds.password } : { keys: keys! };
      tgt = await requestInitialTicket({ ...(await kdcsFor(client.realm)), client, secret, etypes: tktEtypes, allowWeak, forwardable: true });
      tgtCache.set(principal, configId, cacheSecret, tgt);
    }
  } else {
    ccache = openCcache(creds && 'ccache' in creds ? creds.ccache : defaultCcacheName(process.env, config.path('default_ccache_name')));
  }
  const clientRealm = tgt?.client.realm ?? ccache!.cache.defaultPrincipal.realm;
  const server = targetPrincipal(o.target, config, clientRealm);
  const cached = ccache?.find(server);
  if (cached && !o.flags?.delegate) return { svc: cached, ccache };
  tgt ??= ccache!.tgt(clientRealm);
  if (!tgt) throw new UsageError(`no valid TGT in ${ccache!.path} for realm ${clientRealm}: run kinit, or pass credentials`);
  const svc = await requestServiceTicket({ tgt, server, kdcsFor, etypes: tgsEtypes, allowWeak });
  ccache?.store(svc);
  return { svc, tgt, ccache };
}

/** `now`: the clock the established context's expiry is checked against (tests). */
export function createPureInitiator(o: InitiatorOptions & { now?: () => Date }): PureContext {
  if (!o.target) throw new UsageError('createInitiator needs a target (e.g. "HTTP@web.example.test")');
  const config = loadKrb5Config({ path: o.krb5Config });
  const flags = optionsToGssFlags(o.flags);
  const cb = toChannelBindings(o.channelBindings);
  let ctx: PureContext | undefined;
  const params = async (): Promise<Krb5InitiatorParams> => {
    const { svc, tgt } = await acquireServiceTicket(o, config);
    const allowWeak = o.allowWeakCrypto ?? config.allowWeakCrypto;
    let delegation: Uint8Array | undefined;
    if (flags & GssFlags.deleg) {
      if (!tgt) throw new UsageError('delegation needs a TGT');
      const kdcs = await locateKdcs(config, tgt.server.realm);
      delegation = await delegationCredential({ tgt, kdcsFor: () => ({ kdcs }), etypes: config.enctypes('default_tgs_enctypes', { allowWeak }), allowWeak }, svc.key);
    }
    // MIT mk_req_ext: offer RFC 4537 etype negotiation when we prefer another enctype than the ticket's.
    const preferred = config.enctypes('permitted_enctypes', { allowWeak });
    ctx!.names = {
      initiatorName: formatPrincipal({ ...svc.client.name, realm: svc.client.realm }),
      acceptorName: formatPrincipal({ ...svc.server.name, realm: svc.server.realm }),
      ticketEndtime: svc.endtime,
    };
    return {
      client: svc.client, ticket: svc.ticket, sessionKey: svc.key, flags: flags & ~GssFlags.deleg, channelBindings: cb, delegation, allowWeak,
      etypeNegotiation: preferred[0] !== svc.key.enctype ? preferred : undefined,
    };
  };
  ctx = new PureContext('initiator', new Krb5InitiatorMech(params), (o.mech ?? 'spnego') === 'spnego', o.spnego, { now: o.now, clockSkew: config.clockSkew });
  return ctx;
}

/** `now`: the clock tickets, authenticators and the context's expiry are checked against (tests). */
export function createPureAcceptor(o: AcceptorOptions & { replayCache?: ReplayCache; krb5Config?: string; now?: () => Date } = {}): PureContext {
  const config = loadKrb5Config({ path: o.krb5Config });
  const allowWeak = o.allowWeakCrypto ?? config.allowWeakCrypto;
  const keytab = openKeytab(o.keytab ?? config.path('default_keytab_name'));
  const only = o.principal ? realmName(o.principal, config.defaultRealm) : undefined;
  const mech = new Krb5AcceptorMech({
    keyFor: (server, kvno, enctype) => {
      if (only && formatPrincipal({ ...only.name, realm: only.realm }) !== formatPrincipal({ ...server.name, realm: server.realm })) {
        throw kerberosError(ErrorCode.KRB_AP_ERR_NOT_US, `the ticket is for ${formatPrincipal({ ...server.name, realm: server.realm })}, this acceptor is ${formatPrincipal({ ...only.name, realm: only.realm })}`);
      }
      return keytab.findKey(server, kvno, enctype);
    },
    replayCache: o.replayCache,
    channelBindings: toChannelBindings(o.channelBindings),
    clockSkew: config.clockSkew,
    now: o.now,
    allowWeak,
    permittedEnctypes: config.enctypes('permitted_enctypes', { allowWeak }),
  });
  const ctx = new PureContext('acceptor', mech, (o.mech ?? 'spnego') === 'spnego', o.spnego, { now: o.now, clockSkew: config.clockSkew });
  // Runs inside step(): a throw here (a PAC that does not verify) leaves the context failed (StepGate).
  ctx.onComplete = () => {
    const a = mech.accepted;
    // MS-PAC: a PAC whose server signature fails is a modified ticket; one that verifies gives the SIDs.
    if (a?.pac) {
      const pac = decodePac(a.pac);
      verifyPac(pac, a.serviceKey, { clientName: formatPrincipal({ ...a.client.name, realm: a.client.realm }), authtime: a.ticket.authtime });
      ctx.pac = pacInfo(pac);
    }
    if (a?.delegated && o.delegatedCcache) {
      const info = a.delegated.encPart.ticketInfo;
      const creds: Credential[] = a.delegated.krbCred.tickets.map((ticket, i) => ({
        client: { realm: info[i]?.prealm ?? a.client.realm, name: info[i]?.pname ?? a.client.name },
        server: { realm: info[i]?.srealm ?? ticket.realm, name: info[i]?.sname ?? ticket.sname },
        key: info[i]!.key, flags: info[i]?.flags ?? 0, authtime: info[i]?.authtime ?? new Date(), starttime: info[i]?.starttime,
        endtime: info[i]?.endtime ?? new Date(), renewTill: info[i]?.renewTill, ticket,
      }));
      FileCcache.create(o.delegatedCcache.replace(/^FILE:/, ''), a.client, creds);
    }
  };
  return ctx;
}
