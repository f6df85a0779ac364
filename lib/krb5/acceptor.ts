/**
 * The Kerberos GSS mechanism, acceptor side (RFC 4121 section 4.1, RFC 4120 section 3.2.3):
 * decrypts the ticket with the service key, the authenticator with the ticket session key, checks
 * times, addresses, the replay cache, the 0x8003 checksum and the channel bindings, then answers with
 * an AP-REP carrying an acceptor subkey (enctype chosen by RFC 4537 when the initiator offered a list).
 */
import { GssError, KerberosError } from '../errors.js';
import { ApOptions, AuthorizationDataType, ChecksumType, EncType, ErrorCode, KeyUsage, TicketFlags } from './constants.js';
import {
  type ApReq, type Authenticator, type EncTicketPart, type KrbCred, type EncKrbCredPart,
  decodeApReq, decodeAuthenticator, decodeEncTicketPart, apRepNode, encodeEncApRepPart, encodeKrbError,
  decodeKrbCred, decodeEncKrbCredPart, decodeAdEtypeNegotiation, findAuthorizationData, hasFlag,
  decodeKerbApOptions, KERB_AP_OPTIONS_CBT,
} from './asn1/index.js';
import { encrypt, decrypt, generateKey, getEncType, getCryptoProvider } from './crypto/index.js';
import { GssFlags, decodeAuthenticatorChecksum } from './gss/checksum.js';
import { type ChannelBindings, channelBindingsHash } from './gss/channel-bindings.js';
import { TokId, frameKrb5Token, unframeKrb5Token } from './gss/framing.js';
import { kerberosError } from './krb-error.js';
import { type ReplayCache, replayTag } from './replay-cache.js';
import { Krb5Session } from './session.js';
import { type Key, type PrincipalName, formatPrincipal } from './types.js';
import { constantTimeEqual } from '../util/bytes.js';

/** Finds the service key for a ticket; throws KerberosError (KRB_AP_ERR_NOKEY / BADKEYVER / NOT_US). */
export type ServiceKeyLookup = (server: { realm: string; name: PrincipalName }, kvno: number | undefined, enctype: number) => Key;

export interface Krb5AcceptorParams {
  keyFor: ServiceKeyLookup;
  /** Where authenticators are remembered; the factories give the credential's (by default the keytab's, lib/krb5/replay-cache.ts). */
  replayCache: ReplayCache;
  /** Required bindings; when set, an initiator sending other (or no) bindings is refused. */
  channelBindings?: ChannelBindings;
  /** With channelBindings: accept an initiator that sent none (MIT's behaviour). */
  allowMissingBindings?: boolean;
  /** Seconds (krb5.conf clockskew); default 300. */
  clockSkew?: number;
  now?: () => Date;
  /**
   * Awaited (when it returns a promise) between the replay check and the AP-REP: the many answers
   * of one Redis reply would otherwise build their AP-REPs in one turn of the event loop
   * (lib/util/turns.ts).
   */
  turn?: () => Promise<void> | undefined;
  /** Accept rc4-hmac (RFC 4757; off by default, RFC 8429). */
  allowWeak?: boolean;
  /**
   * krb5.conf permitted_enctypes: the ticket, its session key and the authenticator subkey must
   * each be one of these (MIT rd_req_dec.c, KRB5_NOPERM_ETYPE). Undefined: any supported enctype.
   */
  permittedEnctypes?: number[];
}

export interface AcceptedContext {
  /** The AP-REP token when mutual authentication was asked for. */
  token?: Uint8Array;
  session: Krb5Session;
  client: { realm: string; name: PrincipalName };
  server: { realm: string; name: PrincipalName };
  flags: number;
  ticket: EncTicketPart;
  /** The AD-WIN2K-PAC bytes found in the ticket, unverified. */
  pac?: Uint8Array;
  /** The delegated credentials (RFC 4121 4.1.1 Deleg), decrypted. */
  delegated?: { krbCred: KrbCred; encPart: EncKrbCredPart };
  /** The ticket session key. */
  ticketKey: Key;
  /** The service key that decrypted the ticket (it verifies the PAC's server signature, MS-PAC 2.8.1). */
  serviceKey: Key;
}


/** The same name components (what comparing formatPrincipal strings decided; the name type is not compared). */
function sameComponents(a: PrincipalName, b: PrincipalName): boolean {
  return a.nameString.length === b.nameString.length && a.nameString.every((c, i) => c === b.nameString[i]);
}

export class Krb5Acceptor {
  constructor(private readonly p: Krb5AcceptorParams) {}

  /** Accepts an AP-REQ token (framed with the krb5 or MS-KRB5 OID, or a bare AP-REQ). */
  async accept(input: Uint8Array): Promise<AcceptedContext> {
    const { tokId, body } = unframeKrb5Token(input);
    if (tokId !== TokId.AP_REQ) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `expected an AP-REQ token, got TOK_ID ${tokId.toString(16)}`);
    const apReq = decodeApReq(body);
    if (hasFlag(apReq.apOptions, ApOptions['use-session-key'])) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_METHOD, 'user-to-user (use-session-key) is not supported');
    }
    const server = { realm: apReq.ticket.realm, name: apReq.ticket.sname };
    this.checkEnctype(apReq.ticket.encPart.etype, () => `the ticket for ${formatPrincipal({ ...server.name, realm: server.realm })}`);
    const serviceKey = this.p.keyFor(server, apReq.ticket.encPart.kvno, apReq.ticket.encPart.etype);
    const ticket = this.decryptTicket(apReq, serviceKey);
    this.checkEnctype(ticket.key.enctype, "the ticket's session key");
    const auth = this.decryptAuthenticator(apReq, ticket.key);
    if (auth.subkey) this.checkEnctype(auth.subkey.enctype, "the authenticator's subkey");
    // MS-PAC 2.1: a KDC puts one PAC in a ticket; with several, which one the KDC vouches for is unknown.
    const pacs = ticket.authorizationData ? findAuthorizationData(ticket.authorizationData, AuthorizationDataType.AD_WIN2K_PAC) : [];
    if (pacs.length > 1) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, `the ticket carries ${pacs.length} AD-WIN2K-PAC elements where a KDC puts one: refusing a ticket whose PAC is ambiguous`);
    }

    const now = this.p.now?.() ?? new Date();
    this.checkTimes(ticket, auth, now);
    // RFC 4120 3.2.3: the authenticator's client must be the ticket's client.
    if (auth.crealm !== ticket.crealm || !sameComponents(auth.cname, ticket.cname)) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_BADMATCH, 'the authenticator client does not match the ticket client');
    }
    const skewMs = (this.p.clockSkew ?? 300) * 1000;
    // Kept while the authenticator is valid: until max(now, ctime) + skew (RFC 4120 3.2.3), as a
    // client clock ahead of ours extends it.
    const replayId = replayTag(apReq.authenticator.cipher);
    const fresh = await this.p.replayCache.checkAndStore(replayId, new Date(Math.max(now.getTime(), auth.ctime.getTime()) + skewMs));
    if (!fresh) throw kerberosError(ErrorCode.KRB_AP_ERR_REPEAT, 'this authenticator was already used (replayed AP-REQ)');
    const turn = this.p.turn?.();
    if (turn) await turn;

    // RFC 4121 4.1.1: the 0x8003 checksum carries the flags, bindings and delegation.
    if (!auth.cksum || auth.cksum.cksumtype !== ChecksumType.gss_krb5_authenticator) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_INAPP_CKSUM, 'the authenticator has no GSS (0x8003) checksum');
    }
    const gss = decodeAuthenticatorChecksum(auth.cksum.checksum);
    const bound = this.checkBindings(gss.bnd, auth);
    // GSS_C_CHANNEL_BOUND_FLAG is a return flag: whatever the initiator put there is not kept.
    let flags = gss.flags & ~GssFlags.channelBound;
    if (bound) flags |= GssFlags.channelBound;
    const mutual = (flags & GssFlags.mutual) !== 0 || hasFlag(apReq.apOptions, ApOptions['mutual-required']);
    if (mutual) flags |= GssFlags.mutual;
    // Integrity and confidentiality are always available with the krb5 mechanism (RFC 4121 4.1.1.1).
    flags |= GssFlags.integ | GssFlags.conf;

    let delegated: AcceptedContext['delegated'];
    if (gss.deleg) delegated = this.openDelegation(gss.deleg, ticket.key);

    const initiatorKey = auth.subkey ?? ticket.key;
    const initiatorSeq = auth.seqNumber ?? 0;
    let token: Uint8Array | undefined;
    let session: Krb5Session;
    if (mutual) {
      // MIT accept_sec_context: an acceptor subkey for every enctype but RC4/DES3, where the
      // initiator's subkey stays the context key (MS-KILE 3.1.1.2 says the same for Windows).
      const subkeyEnctype = this.subkeyEnctype(auth, initiatorKey);
      const acceptorSubkey = subkeyEnctype === 23 ? undefined : generateKey(subkeyEnctype, { allowWeak: this.p.allowWeak });
      const acceptorSeq = new DataView(getCryptoProvider().randomBytes(4).buffer).getUint32(0) & 0x3fffffff;
      const encPart = encodeEncApRepPart({ ctime: auth.ctime, cusec: auth.cusec, subkey: acceptorSubkey, seqNumber: acceptorSeq });
      token = frameKrb5Token(TokId.AP_REP, apRepNode({
        encPart: { etype: ticket.key.enctype, cipher: encrypt(ticket.key, KeyUsage.AP_REP_ENCPART, encPart, { allowWeak: this.p.allowWeak }) },
      }));
      session = new Krb5Session({
        key: acceptorSubkey ?? initiatorKey, acceptorSubkey: acceptorSubkey !== undefined, isInitiator: false,
        sendSeq: acceptorSeq, recvSeq: initiatorSeq, flags, allowWeak: this.p.allowWeak,
      });
    } else {
      session = new Krb5Session({
        key: initiatorKey, acceptorSubkey: false, isInitiator: false, sendSeq: initiatorSeq, recvSeq: initiatorSeq, flags, allowWeak: this.p.allowWeak,
      });
    }
    // The caller keeps the ticket session key with the context; hand it a copy, so the derived keys
    // and cipher state cached on the key used above (crypto/key-cache.ts) go when the handshake does.
    const ticketKey: Key = { enctype: ticket.key.enctype, keyvalue: Uint8Array.from(ticket.key.keyvalue) };
    return {
      token,
      session,
      client: { realm: ticket.crealm, name: ticket.cname },
      server,
      flags,
      ticket: { ...ticket, key: ticketKey },
      pac: pacs[0],
      delegated,
      ticketKey,
      serviceKey,
    };
  }

  /** A KRB-ERROR token (TOK_ID 03 00) to send back when accept() failed, as MIT does. */
  static errorToken(errorCode: number, server: { realm: string; name: PrincipalName }, now = new Date()): Uint8Array {
    return frameKrb5Token(TokId.KRB_ERROR, encodeKrbError({
      stime: new Date(Math.floor(now.getTime() / 1000) * 1000), susec: (now.getTime() % 1000) * 1000,
      errorCode, realm: server.realm, sname: server.name,
    }));
  }

  /**
   * MIT rd_req_dec.c: a ticket, session key or subkey of an enctype that is not permitted is
   * refused with KRB5_NOPERM_ETYPE (a library code: on the wire MIT sends KRB_ERR_GENERIC).
   * rc4-hmac gets its own message when it is disabled, as it is by default (RFC 8429).
   */
  private checkEnctype(enctype: number, whatText: string | (() => string)): void {
    if ((enctype !== EncType.rc4_hmac || this.p.allowWeak) && (!this.p.permittedEnctypes || this.p.permittedEnctypes.includes(enctype))) return;
    const what = typeof whatText === 'string' ? whatText : whatText();
    let name = `enctype ${enctype}`;
    try {
      name = `${getEncType(enctype, { allowWeak: true }).name} (enctype ${enctype})`;
    } catch {
      // an enctype we do not implement: decryption fails below with its own error
    }
    const noperm = (message: string) => new KerberosError(ErrorCode.KRB_ERR_GENERIC, 'KRB5_NOPERM_ETYPE', message);
    if (enctype === EncType.rc4_hmac && !this.p.allowWeak) {
      throw noperm(`${what} uses rc4-hmac (enctype 23), which is disabled (RFC 8429): give the service principal an AES key, ` +
        'or allow rc4 with allowWeakCrypto: true (allow_weak_crypto = true in krb5.conf)');
    }
    if (this.p.permittedEnctypes && !this.p.permittedEnctypes.includes(enctype)) {
      throw noperm(`Encryption type ${name} not permitted: ${what} uses it and permitted_enctypes in krb5.conf does not list it ` +
        `(permitted: ${this.p.permittedEnctypes.join(', ') || 'none'}); add it there or have the KDC issue a permitted enctype`);
    }
  }

  private decryptTicket(apReq: ApReq, key: Key): EncTicketPart {
    let plain: Uint8Array;
    try {
      plain = decrypt(key, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart.cipher, { allowWeak: this.p.allowWeak });
    } catch (err) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY,
        `the ticket for ${formatPrincipal({ ...apReq.ticket.sname, realm: apReq.ticket.realm })} does not decrypt with the keytab key ` +
        `(kvno ${apReq.ticket.encPart.kvno ?? '?'}, enctype ${apReq.ticket.encPart.etype}): stale keytab or tampered ticket`, undefined, err);
    }
    return decodeEncTicketPart(plain);
  }

  private decryptAuthenticator(apReq: ApReq, key: Key): Authenticator {
    if (apReq.authenticator.etype !== key.enctype) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'the authenticator enctype differs from the ticket session key');
    }
    let plain: Uint8Array;
    try {
      plain = decrypt(key, KeyUsage.AP_REQ_AUTH, apReq.authenticator.cipher, { allowWeak: this.p.allowWeak });
    } catch (err) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'the authenticator does not decrypt with the ticket session key', undefined, err);
    }
    return decodeAuthenticator(plain);
  }

  private checkTimes(ticket: EncTicketPart, auth: Authenticator, now: Date): void {
    const skew = (this.p.clockSkew ?? 300) * 1000;
    const t = now.getTime();
    if (Math.abs(auth.ctime.getTime() - t) > skew) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_SKEW,
        `clock skew too great: the initiator's clock is ${Math.round((auth.ctime.getTime() - t) / 1000)} s from ours (limit ${skew / 1000} s)`);
    }
    const start = (ticket.starttime ?? ticket.authtime).getTime();
    if (start - t > skew || hasFlag(ticket.flags, TicketFlags.invalid)) throw kerberosError(ErrorCode.KRB_AP_ERR_TKT_NYV, 'the ticket is not yet valid');
    if (t - ticket.endtime.getTime() > skew) throw kerberosError(ErrorCode.KRB_AP_ERR_TKT_EXPIRED, `the ticket expired at ${ticket.endtime.toISOString()}`);
  }

  /** True when the initiator's bindings were checked and match (GSS_C_CHANNEL_BOUND_FLAG). */
  private checkBindings(bnd: Uint8Array, auth: Authenticator): boolean {
    const zero = bnd.every((b) => b === 0);
    if (this.p.channelBindings) {
      const want = channelBindingsHash(this.p.channelBindings);
      if (zero) {
        // MIT accepts a token without bindings; so do we when asked (allowMissingBindings), unless
        // the client announced KERB_AP_OPTIONS_CBT (MS-KILE 3.2.5.8: it must then send them).
        if (this.p.allowMissingBindings && !this.announcedCbt(auth)) return false;
        throw new GssError('GSS_S_BAD_BINDINGS', 'the initiator sent no channel bindings, and this acceptor requires them');
      }
      if (!constantTimeEqual(bnd, want)) throw new GssError('GSS_S_BAD_BINDINGS', 'channel bindings do not match (different TLS channel or endpoint?)');
      return true;
    } else if (!zero && this.announcedCbt(auth)) {
      // The initiator bound the token to a channel this acceptor knows nothing about: MIT accepts
      // bindings it was not given; so do we, as RFC 4121 4.1.1.2 leaves it to the acceptor.
    }
    return false;
  }

  private announcedCbt(auth: Authenticator): boolean {
    if (!auth.authorizationData) return false;
    return findAuthorizationData(auth.authorizationData, AuthorizationDataType.AD_AUTH_DATA_AP_OPTIONS)
      .some((b) => (decodeKerbApOptions(b) & KERB_AP_OPTIONS_CBT) !== 0);
  }

  /** RFC 4537 section 4: the first enctype of the initiator's list we support, else the initiator subkey's. */
  private subkeyEnctype(auth: Authenticator, initiatorKey: Key): number {
    if (auth.authorizationData) {
      for (const ad of findAuthorizationData(auth.authorizationData, AuthorizationDataType.AD_ETYPE_NEGOTIATION)) {
        for (const et of decodeAdEtypeNegotiation(ad)) {
          if (this.p.permittedEnctypes && !this.p.permittedEnctypes.includes(et)) continue;
          try {
            getEncType(et, { allowWeak: this.p.allowWeak });
            return et;
          } catch {
            // not supported or weak: next
          }
        }
      }
    }
    return initiatorKey.enctype;
  }

  private openDelegation(deleg: Uint8Array, key: Key): AcceptedContext['delegated'] {
    const krbCred = decodeKrbCred(deleg);
    let plain: Uint8Array;
    // RFC 4120 5.8.1: etype 0 means unencrypted (old Heimdal); else the ticket session key, usage 14.
    if (krbCred.encPart.etype === 0) plain = krbCred.encPart.cipher;
    else {
      try {
        plain = decrypt(key, KeyUsage.KRB_CRED_ENCPART, krbCred.encPart.cipher, { allowWeak: this.p.allowWeak });
      } catch (err) {
        throw kerberosError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'the delegated KRB-CRED does not decrypt with the session key', undefined, err);
      }
    }
    return { krbCred, encPart: decodeEncKrbCredPart(plain) };
  }
}
