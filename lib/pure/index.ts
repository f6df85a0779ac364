/**
 * The pure backend's factories: turn the public options into tickets and keys (krb5.conf, the
 * ccache, a password or a client keytab, the KDC), then a PureContext.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { decodePac, pacInfo, verifyPac } from '../krb5/pac/index.js';
import { NtlmAcceptorMech, NtlmInitiatorMech } from './ntlm-mech.js';
import { userStoreFromFile, type NtlmUserStore } from '../ntlm/users.js';
import { isKerberosOid, mechOid } from '../spnego/oids.js';
import { UsageError } from '../errors.js';
import type { AcceptorOptions, ChannelBindingsOption, InitiatorOptions, PacInfo } from '../context.js';
import { isCredential } from '../credentials.js';
import { type ChannelBindings, tlsServerEndPoint } from '../krb5/gss/channel-bindings.js';
import { GssFlags } from '../krb5/gss/checksum.js';
import { loadKrb5Config } from '../krb5/config.js';
import type { Credential as Ticket } from '../krb5/client/credential.js';
import { TgtCache } from '../krb5/client/tgt-cache.js';
import { delegationCredential } from '../krb5/client/tgs.js';
import { FileCcache } from '../krb5/ccache.js';
import { type ReplayCache } from '../krb5/replay-cache.js';
import { Principal } from '../krb5/types.js';
import type { Krb5InitiatorParams } from '../krb5/initiator.js';
import { type InitiatorNames, Krb5AcceptorMech, Krb5InitiatorMech } from './krb5-mech.js';
import { PureContext, optionsToGssFlags, type PureMechs } from './context.js';
import { type PureCredential, PureAcceptCredential, PureInitiateCredential } from './credentials.js';

export { targetPrincipal, locateKdcs } from './credentials.js';

export function toChannelBindings(cb: ChannelBindingsOption | undefined): ChannelBindings | undefined {
  if (!cb) return undefined;
  if (cb instanceof Uint8Array) return { applicationData: cb };
  if ('tlsServerEndPoint' in cb) return tlsServerEndPoint(cb.tlsServerEndPoint);
  return cb;
}

/** The TGTs of the old option forms ({ principal, password } / { principal, keytab } given per context): see tgt-cache.ts. */
const tgtCache = new TgtCache();

function credentialOf<U extends 'initiate' | 'accept'>(c: unknown, usage: U): U extends 'accept' ? PureAcceptCredential : PureInitiateCredential {
  const want = usage === 'accept' ? PureAcceptCredential : PureInitiateCredential;
  if (!(c instanceof want)) {
    const got = isCredential(c) ? `a ${c.backend} '${c.usage}' credential` : 'not a credential';
    throw new UsageError(`${usage === 'accept' ? 'createAcceptor' : 'createInitiator'} with the pure backend needs a pure '${usage}' credential from acquireCredentials({ usage: '${usage}', backend: 'pure' }), got ${got}`);
  }
  (c as PureCredential).checkUsable();
  return c as never;
}

/**
 * `credentials`: a pure 'initiate' Credential (its TGT and service tickets are reused), or one of the
 * option forms (a transient credential for this context; TGTs shared through the TgtCache).
 * `now`: the clock the established context's expiry is checked against (tests).
 */
/** 'HTTP@host' or 'HTTP/host@REALM' -> the SPN NTLM names in MsvAvTargetName ('HTTP/host') and the host. */
export function ntlmTarget(target: string): { spn: string; host: string } {
  const hb = /^([^@/]+)@([^@/]+)$/.exec(target);
  if (hb) return { spn: `${hb[1]}/${hb[2]}`, host: hb[2]! };
  const spn = target.replace(/@[^@/]*$/, '');
  return { spn, host: spn.split('/')[1] ?? '' };
}

function ntlmInitiatorMech(o: InitiatorOptions & { now?: () => Date }, cb: ChannelBindings | undefined): NtlmInitiatorMech | undefined {
  if (!o.ntlm) return undefined;
  const settings = o.ntlm === true ? {} : o.ntlm;
  let creds = settings.credentials;
  if (!creds) {
    const c = o.credentials;
    if (!c || isCredential(c) || !('password' in c)) {
      throw new UsageError("NTLM needs a password or an NT hash: pass credentials { principal, password }, or ntlm: { credentials: { principal, password | ntHash } }");
    }
    creds = c;
  }
  return new NtlmInitiatorMech({
    credentials: creds, targetName: ntlmTarget(o.target).spn, channelBindings: cb, workstation: settings.workstation,
    now: o.now && (() => o.now!().getTime()),
  });
}

/** Whether the Kerberos mechanism can be tried next to NTLM (else NTLM is offered alone). */
function kerberosPossible(o: InitiatorOptions): boolean {
  if (o.spnego?.mechs && !o.spnego.mechs.map(mechOid).some(isKerberosOid)) return false;
  // Windows' Negotiate: a target given as an IP address has no SPN, so no service ticket.
  if (isIP(ntlmTarget(o.target).host.replace(/^\[|\]$/g, ''))) return false;
  const c = o.credentials;
  // An NT hash alone, or a 'DOMAIN\\user' principal, is NTLM only.
  if (o.ntlm && o.ntlm !== true && o.ntlm.credentials && 'ntHash' in o.ntlm.credentials && !c) return false;
  if (c && !isCredential(c) && 'principal' in c && c.principal.includes('\\')) return false;
  return true;
}

export function createPureInitiator(o: InitiatorOptions & { now?: () => Date }): PureContext {
  if (!o.target) throw new UsageError('createInitiator needs a target (e.g. "HTTP@web.example.test")');
  const mech = o.mech ?? 'spnego';
  const ntlm = ntlmInitiatorMech(o, toChannelBindings(o.channelBindings));
  if (mech === 'ntlm') {
    if (!ntlm) throw new UsageError("mech 'ntlm' needs the ntlm option (and a password or an NT hash)");
    return new PureContext('initiator', ntlm, false, undefined, { now: o.now });
  }
  if (ntlm && mech !== 'spnego') throw new UsageError("the ntlm option needs mech 'spnego' (or 'ntlm' for raw NTLM)");
  if (ntlm && !kerberosPossible(o)) return new PureContext('initiator', { ntlm }, true, o.spnego, { now: o.now });
  return createKrb5Initiator(o, ntlm);
}

function createKrb5Initiator(o: InitiatorOptions & { now?: () => Date }, ntlm: NtlmInitiatorMech | undefined): PureContext {
  if (isCredential(o.credentials) && o.krb5Config) throw new UsageError('an initiator made from a credential uses its krb5.conf: leave krb5Config unset');
  const cred = isCredential(o.credentials)
    ? credentialOf(o.credentials, 'initiate')
    : new PureInitiateCredential(loadKrb5Config({ path: o.krb5Config }), o.credentials, o.allowWeakCrypto, tgtCache);
  const config = cred.config;
  const flags = optionsToGssFlags(o.flags);
  const cb = toChannelBindings(o.channelBindings);
  const allowWeak = o.allowWeakCrypto ?? cred.allowWeak;
  const params = async () => {
    const { svc, tgt } = await cred.serviceTicket(o.target, (flags & GssFlags.deleg) !== 0);
    let delegation: Uint8Array | undefined;
    if (flags & GssFlags.deleg) {
      if (!tgt) throw new UsageError('delegation needs a TGT');
      const target = await cred.kdcsFor(tgt.server.realm);
      delegation = await delegationCredential({ tgt, kdcsFor: () => target, etypes: config.enctypes('default_tgs_enctypes', { allowWeak }), allowWeak }, svc.key);
    }
    // MIT mk_req_ext: offer RFC 4537 etype negotiation when we prefer another enctype than the ticket's.
    const preferred = config.enctypes('permitted_enctypes', { allowWeak });
    const params: Krb5InitiatorParams & { names: InitiatorNames } = {
      client: svc.client, ticket: svc.ticket, sessionKey: svc.key, flags: flags & ~GssFlags.deleg, channelBindings: cb, delegation, allowWeak, now: o.now,
      etypeNegotiation: preferred[0] !== svc.key.enctype ? preferred : undefined,
      names: { initiatorName: Principal.toString(svc.client), acceptorName: Principal.toString(svc.server), ticketEndtime: svc.endtime },
    };
    return params;
  };
  const krb5 = new Krb5InitiatorMech(params);
  return new PureContext('initiator', ntlm ? { krb5, ntlm } : krb5, (o.mech ?? 'spnego') === 'spnego', o.spnego, { now: o.now, clockSkew: config.clockSkew });
}

/**
 * `credentials`: a pure 'accept' Credential (keytab, krb5.conf, replay cache read once), else the
 * option forms (a transient credential read for this context). Either way the replay cache defaults
 * to the process's cache for the keytab. `now`: the clock tickets, authenticators and the context's
 * expiry are checked against (tests).
 */
function ntlmAcceptorMech(o: AcceptorOptions & { now?: () => Date }): NtlmAcceptorMech {
  const n = o.ntlm!;
  let users: NtlmUserStore | undefined = n.users;
  if (n.userFile !== undefined) {
    if (users) throw new UsageError('ntlm: give users or userFile, not both');
    let text: string;
    try {
      text = readFileSync(n.userFile, 'utf8');
    } catch (err) {
      throw new UsageError(`ntlm.userFile ${n.userFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): give a DOMAIN:USER:PASSWORD or smbpasswd file`);
    }
    users = userStoreFromFile(text);
  }
  if (typeof users !== 'function') throw new UsageError('ntlm needs a user store: users: (user, domain) => NT hash | undefined, or userFile');
  const targetName = n.targetName ?? (o.principal ? o.principal.replace(/@[^@/]*$/, '') : undefined);
  return new NtlmAcceptorMech({
    userStore: users, targetName, requireTargetName: n.requireTargetName, channelBindings: toChannelBindings(o.channelBindings),
    allowMissingChannelBindings: n.allowMissingChannelBindings, netbiosDomainName: n.domain, replayCache: n.replayCache,
    now: o.now && (() => o.now!().getTime()),
  });
}

export function createPureAcceptor(o: AcceptorOptions & { replayCache?: ReplayCache; krb5Config?: string; now?: () => Date } = {}): PureContext {
  const mechChoice = o.mech ?? 'spnego';
  const ntlm = o.ntlm ? ntlmAcceptorMech(o) : undefined;
  if (mechChoice === 'ntlm') {
    if (!ntlm) throw new UsageError("mech 'ntlm' needs the ntlm option with a user store");
    return new PureContext('acceptor', ntlm, false, undefined, { now: o.now });
  }
  if (ntlm && mechChoice !== 'spnego') throw new UsageError("the ntlm option needs mech 'spnego' (or 'ntlm' for raw NTLM)");
  // NTLM alone when the SPNEGO list names no Kerberos OID: no keytab is read.
  if (ntlm && o.spnego?.mechs && !o.spnego.mechs.map(mechOid).some(isKerberosOid)) {
    return new PureContext('acceptor', { ntlm }, true, o.spnego, { now: o.now });
  }
  // As the native backend: what a credential holds is not given again per context (refused, not ignored).
  if (o.credentials !== undefined && (o.keytab || o.principal || o.krb5Config)) {
    throw new UsageError('an acceptor made from a credential takes its keytab, principal and krb5.conf from it: leave keytab, principal and krb5Config unset');
  }
  const cred = o.credentials !== undefined
    ? credentialOf(o.credentials, 'accept')
    : PureAcceptCredential.transient({ usage: 'accept', keytab: o.keytab, principal: o.principal, krb5Config: o.krb5Config, allowWeakCrypto: o.allowWeakCrypto, replayCache: o.replayCache, delegatedCcache: o.delegatedCcache });
  const config = cred.config;
  // Per-context overrides on top of a credential: a stricter (or looser) weak-crypto choice, another cache.
  const allowWeak = o.allowWeakCrypto ?? cred.allowWeak;
  const delegatedCcache = o.delegatedCcache ?? cred.delegatedCcache;
  const mech = new Krb5AcceptorMech({
    keyFor: cred.keyFor,
    replayCache: o.replayCache ?? cred.replayCache,
    channelBindings: toChannelBindings(o.channelBindings),
    allowMissingBindings: o.allowMissingChannelBindings === true,
    clockSkew: config.clockSkew,
    now: o.now,
    turn: cred.turns && (() => cred.turns!.take()),
    allowWeak,
    permittedEnctypes: allowWeak === cred.allowWeak ? cred.permittedEnctypes : config.enctypes('permitted_enctypes', { allowWeak }),
  }, {
    before: () => cred.beforeAccept(),
    complete: (a) => {
      let pac: PacInfo | undefined;
      // MS-PAC: a PAC whose server signature fails is a modified ticket; one that verifies gives the SIDs.
      if (a.pac) {
        const decoded = decodePac(a.pac);
        verifyPac(decoded, a.serviceKey, { clientName: Principal.toString(a.client), authtime: a.ticket.authtime });
        pac = pacInfo(decoded);
      }
      if (a.delegated && delegatedCcache) {
        const info = a.delegated.encPart.ticketInfo;
        const creds: Ticket[] = a.delegated.krbCred.tickets.map((ticket, i) => ({
          client: { realm: info[i]?.prealm ?? a.client.realm, name: info[i]?.pname ?? a.client.name },
          server: { realm: info[i]?.srealm ?? ticket.realm, name: info[i]?.sname ?? ticket.sname },
          key: info[i]!.key, flags: info[i]?.flags ?? 0, authtime: info[i]?.authtime ?? new Date(), starttime: info[i]?.starttime,
          endtime: info[i]?.endtime ?? new Date(), renewTill: info[i]?.renewTill, ticket,
        }));
        FileCcache.create(delegatedCcache.replace(/^FILE:/, ''), a.client, creds);
      }
      return pac;
    },
  });
  const mechs: PureMechs | Krb5AcceptorMech = ntlm ? { krb5: mech, ntlm } : mech;
  return new PureContext('acceptor', mechs, (o.mech ?? 'spnego') === 'spnego', o.spnego, { now: o.now, clockSkew: config.clockSkew });
}
