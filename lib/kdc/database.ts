/**
 * The embedded KDC's principal database: names, long-term keys per enctype (from a password with
 * the RFC 4120 default salt, or random), kvno, and the attributes tests choose (pre-auth, PAC SIDs).
 */
import { UsageError } from '../errors.js';
import { generateKey, stringToKey } from '../krb5/crypto/index.js';
import { EncType, NameType } from '../krb5/constants.js';
import type { Key, PrincipalName } from '../krb5/types.js';

export interface PacOptions {
  /** The domain SID, e.g. 'S-1-5-21-1-2-3' (default one made from the realm). */
  domainSid?: string;
  userRid: number;
  /** Primary group RID (default 513, Domain Users). */
  primaryGroupRid?: number;
  groupRids?: number[];
  /** Extra SIDs (KERB_VALIDATION_INFO ExtraSids), e.g. universal groups of other domains. */
  extraSids?: string[];
  upn?: string;
}

export interface PrincipalSpec {
  /** 'alice', 'HTTP/web.example.test' (no realm: the KDC's). */
  name: string;
  password?: string;
  /** Enctypes to make keys for (default aes256-sha1, aes128-sha1, aes256-sha2, aes128-sha2; rc4 added when the KDC allows weak crypto). */
  enctypes?: number[];
  /** Explicit keys (override password/enctypes). */
  keys?: Key[];
  kvno?: number;
  /** Default true for users (no '/'), false for services. */
  requiresPreauth?: boolean;
  /** The PAC put in this principal's service tickets (AD-style). */
  pac?: PacOptions;
  /** Salt for password keys (default realm + components; AD uses e.g. REALMhostname for computers). */
  salt?: string;
}

export interface DbPrincipal {
  name: PrincipalName;
  keys: Key[];
  kvno: number;
  salt: string;
  requiresPreauth: boolean;
  pac?: PacOptions;
}

export const DEFAULT_ENCTYPES = [EncType.aes256_cts_hmac_sha1_96, EncType.aes128_cts_hmac_sha1_96, EncType.aes256_cts_hmac_sha384_192, EncType.aes128_cts_hmac_sha256_128];

export class PrincipalDb {
  private readonly byName = new Map<string, DbPrincipal>();
  constructor(readonly realm: string, private readonly allowWeak: boolean) {}

  add(spec: PrincipalSpec): DbPrincipal {
    if (!spec.name || spec.name.includes('@')) throw new UsageError(`principal name "${spec.name}" must be given without a realm`);
    const nameString = spec.name.split('/');
    const salt = spec.salt ?? this.realm + nameString.join('');
    const enctypes = spec.enctypes ?? [...DEFAULT_ENCTYPES, ...(this.allowWeak ? [EncType.rc4_hmac] : [])];
    const keys = spec.keys ?? enctypes.map((e) =>
      spec.password !== undefined ? stringToKey(e, spec.password, salt, undefined, { allowWeak: true }) : generateKey(e, { allowWeak: true }));
    const p: DbPrincipal = {
      name: { nameType: nameString.length > 1 ? NameType.NT_SRV_INST : NameType.NT_PRINCIPAL, nameString },
      keys, kvno: spec.kvno ?? 1, salt, requiresPreauth: spec.requiresPreauth ?? nameString.length === 1, pac: spec.pac,
    };
    this.byName.set(nameString.join('/'), p);
    return p;
  }

  /** Lookup by name components (name type ignored, as MIT does for NT-SRV-HST vs NT-PRINCIPAL). */
  get(name: PrincipalName): DbPrincipal | undefined {
    return this.byName.get(name.nameString.join('/'));
  }

  all(): DbPrincipal[] {
    return [...this.byName.values()];
  }

  /** The key of `p` for `enctype`, honouring allowWeak. */
  key(p: DbPrincipal, enctype: number): Key | undefined {
    if (enctype === EncType.rc4_hmac && !this.allowWeak) return undefined;
    return p.keys.find((k) => k.enctype === enctype);
  }
}
