/**
 * The Kerberos GSS mechanism, initiator side (RFC 4121 section 4.1, RFC 4120 section 3.2):
 * builds the AP-REQ from a service ticket, with a fresh subkey, a random sequence number, the 0x8003
 * checksum (flags, channel bindings, delegation) and the RFC 4537 etype list; verifies the AP-REP when
 * mutual authentication was asked for; then hands the keys to a Krb5Session.
 */
import { GssError } from '../errors.js';
import { AuthorizationDataType, ChecksumType, ErrorCode, KeyUsage } from './constants.js';
import {
  type Ticket, type AuthorizationData, encodeApReq, encodeAuthenticator, decodeApRep, decodeEncApRepPart,
  decodeKrbError, encodeAdIfRelevant, encodeAdEtypeNegotiation, kerbApOptionsCbtAuthData, makeApOptions,
} from './asn1/index.js';
import { encrypt, decrypt, generateKey, getCryptoProvider } from './crypto/index.js';
import { GssFlags, encodeAuthenticatorChecksum } from './gss/checksum.js';
import { type ChannelBindings, channelBindingsHash } from './gss/channel-bindings.js';
import { TokId, frameKrb5Token, unframeKrb5Token } from './gss/framing.js';
import { kerberosError } from './krb-error.js';
import { Krb5Session } from './session.js';
import type { Key, PrincipalName } from './types.js';

export interface Krb5InitiatorParams {
  client: { realm: string; name: PrincipalName };
  /** The service ticket and its session key (from the KDC or a ccache). */
  ticket: Ticket;
  sessionKey: Key;
  /** GssFlags bits requested (mutual, replay, sequence, conf, integ, deleg...). */
  flags: number;
  channelBindings?: ChannelBindings;
  /**
   * The KRB-CRED (DER) to delegate, encrypted in the ticket session key (RFC 4121 4.1.1: Deleg).
   * Sets GSS_C_DELEG_FLAG.
   */
  delegation?: Uint8Array;
  /** Enctypes offered for the acceptor subkey, RFC 4537 (default: the subkey's enctype only, no AD). */
  etypeNegotiation?: number[];
  /** MS-KILE 3.2.5.8: tell an AD acceptor that channel bindings are present (KERB_AP_OPTIONS_CBT). */
  kerbApOptionsCbt?: boolean;
  now?: () => Date;
  allowWeak?: boolean;
}

export type InitiatorStep = { token?: Uint8Array; complete: boolean };

export class Krb5Initiator {
  private state: 'start' | 'wait-ap-rep' | 'done' = 'start';
  private subkey!: Key;
  private seqNumber = 0;
  private ctime!: Date;
  private cusec = 0;
  session?: Krb5Session;

  constructor(private readonly p: Krb5InitiatorParams) {}

  get complete(): boolean {
    return this.state === 'done';
  }

  /** The flags as sent in the 0x8003 checksum. */
  get requestedFlags(): number {
    return this.p.flags | (this.p.delegation ? GssFlags.deleg : 0);
  }

  step(input?: Uint8Array): InitiatorStep {
    if (this.state === 'start') {
      if (input && input.length) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'initiator got a token before sending the AP-REQ');
      const token = this.apReq();
      if (this.p.flags & GssFlags.mutual) {
        this.state = 'wait-ap-rep';
        return { token, complete: false };
      }
      // RFC 4121 4.1: without mutual authentication both sides use the initiator's sequence number.
      this.finish(this.subkey, false, this.seqNumber);
      return { token, complete: true };
    }
    if (this.state === 'wait-ap-rep') {
      if (!input) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'expected the AP-REP');
      this.apRep(input);
      return { complete: true };
    }
    throw new GssError('GSS_S_FAILURE', 'context already established');
  }

  private apReq(): Uint8Array {
    const { p } = this;
    const now = p.now?.() ?? new Date();
    this.ctime = new Date(Math.floor(now.getTime() / 1000) * 1000);
    this.cusec = (now.getTime() % 1000) * 1000 + (getCryptoProvider().randomBytes(2)[0]! % 1000);
    this.subkey = generateKey(p.sessionKey.enctype, { allowWeak: p.allowWeak });
    // MIT and Windows use 30-bit random initial sequence numbers; any 32-bit value is valid.
    this.seqNumber = new DataView(getCryptoProvider().randomBytes(4).buffer).getUint32(0) & 0x3fffffff;

    const ad: AuthorizationData = [];
    if (p.etypeNegotiation?.length) {
      // RFC 4537 section 4: AD-IF-RELEVANT { AD-ETYPE-NEGOTIATION }
      const etypes = [{ adType: AuthorizationDataType.AD_ETYPE_NEGOTIATION, adData: encodeAdEtypeNegotiation(p.etypeNegotiation) }];
      ad.push({ adType: AuthorizationDataType.AD_IF_RELEVANT, adData: encodeAdIfRelevant(etypes) });
    }
    if (p.kerbApOptionsCbt) ad.push(...kerbApOptionsCbtAuthData());
    const cksum = encodeAuthenticatorChecksum({
      bnd: channelBindingsHash(p.channelBindings),
      flags: this.requestedFlags,
      deleg: p.delegation,
    });
    const authenticator = encodeAuthenticator({
      crealm: p.client.realm,
      cname: p.client.name,
      cksum: { cksumtype: ChecksumType.gss_krb5_authenticator, checksum: cksum },
      cusec: this.cusec,
      ctime: this.ctime,
      subkey: this.subkey,
      seqNumber: this.seqNumber,
      authorizationData: ad.length ? ad : undefined,
    });
    const apReq = encodeApReq({
      apOptions: makeApOptions(p.flags & GssFlags.mutual ? ['mutual-required'] : []),
      ticket: p.ticket,
      authenticator: {
        etype: p.sessionKey.enctype,
        cipher: encrypt(p.sessionKey, KeyUsage.AP_REQ_AUTH, authenticator, { allowWeak: p.allowWeak }),
      },
    });
    return frameKrb5Token(TokId.AP_REQ, apReq);
  }

  private apRep(input: Uint8Array): void {
    const { tokId, body } = unframeKrb5Token(input);
    if (tokId === TokId.KRB_ERROR) {
      const e = decodeKrbError(body);
      throw kerberosError(e.errorCode, 'the acceptor returned a KRB-ERROR', e.eText);
    }
    if (tokId !== TokId.AP_REP) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `expected an AP-REP token, got TOK_ID ${tokId.toString(16)}`);
    const rep = decodeApRep(body);
    let enc;
    try {
      enc = decodeEncApRepPart(decrypt(this.p.sessionKey, KeyUsage.AP_REP_ENCPART, rep.encPart.cipher, { allowWeak: this.p.allowWeak }));
    } catch (err) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_MUT_FAIL, 'the AP-REP does not decrypt with the ticket session key', undefined, err);
    }
    // RFC 4120 3.2.5: ctime and cusec must echo our authenticator.
    if (enc.ctime.getTime() !== this.ctime.getTime() || enc.cusec !== this.cusec) {
      throw kerberosError(ErrorCode.KRB_AP_ERR_MUT_FAIL, 'the AP-REP does not echo our authenticator time');
    }
    const acceptorSeq = enc.seqNumber ?? this.seqNumber;
    if (enc.subkey) this.finish(enc.subkey, true, acceptorSeq);
    else this.finish(this.subkey, false, acceptorSeq);
  }

  private finish(key: Key, acceptorSubkey: boolean, acceptorSeq: number): void {
    this.session = new Krb5Session({
      key,
      acceptorSubkey,
      isInitiator: true,
      sendSeq: this.seqNumber,
      recvSeq: acceptorSeq,
      flags: this.requestedFlags,
      allowWeak: this.p.allowWeak,
    });
    this.state = 'done';
  }
}
