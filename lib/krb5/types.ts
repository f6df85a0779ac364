/**
 * Plain data types shared by the Kerberos modules (codecs, crypto, ccache, keytab, KDC client).
 * They mirror the RFC 4120 ASN.1 types of the same names.
 */

/** RFC 4120 section 5.2.2 PrincipalName plus the realm it lives in. */
export interface PrincipalName {
  nameType: number;
  nameString: string[];
}

export interface Principal extends PrincipalName {
  realm: string;
}

/** RFC 4120 section 5.2.9 EncryptionKey. */
export interface Key {
  enctype: number;
  keyvalue: Uint8Array;
}

/** RFC 4120 section 5.2.9 EncryptedData. */
export interface EncryptedData {
  etype: number;
  kvno?: number;
  cipher: Uint8Array;
}

/** RFC 4120 section 5.2.9 Checksum. */
export interface Checksum {
  cksumtype: number;
  checksum: Uint8Array;
}

/** Characters a component is escaped for (RFC 1964 section 2.1.1), and those of a realm. */
const COMPONENT_SPECIAL = /[\\/@\n\t\0]/;
const REALM_SPECIAL = /[\\@]/;

function escapeComponent(s: string): string {
  // Most names have nothing to escape: one test instead of four replacements.
  if (!COMPONENT_SPECIAL.test(s)) return s;
  return s.replace(/[\\/@]/g, (c) => '\\' + c).replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\0/g, '\\0');
}

function formatName(nameString: string[], realm: string | undefined): string {
  const name = nameString.length === 1 ? escapeComponent(nameString[0]!) : nameString.map(escapeComponent).join('/');
  if (realm === undefined) return name;
  return `${name}@${REALM_SPECIAL.test(realm) ? realm.replace(/[\\@]/g, (c) => '\\' + c) : realm}`;
}

/** "name/instance@REALM" with RFC 1964 section 2.1.1 escaping of '/', '@' and '\\' inside components. */
export function formatPrincipal(p: PrincipalName & { realm?: string }): string {
  return formatName(p.nameString, p.realm);
}

/** A principal as the Kerberos messages carry it: the name and, beside it, its realm (RFC 4120 5.3, 5.4.1). */
export interface RealmPrincipal {
  realm: string;
  name: PrincipalName;
}

/**
 * The one place principals are printed and compared: `Principal.toString(p)` gives "a/b@REALM"
 * (escaped as formatPrincipal), `Principal.equals(a, b)` compares realm and components (the name type
 * is not part of a principal's identity, RFC 4120 6.2).
 */
export const Principal = {
  toString(p: RealmPrincipal): string {
    return formatName(p.name.nameString, p.realm);
  },
  equals(a: RealmPrincipal, b: RealmPrincipal): boolean {
    return a.realm === b.realm && a.name.nameString.length === b.name.nameString.length && a.name.nameString.every((c, i) => c === b.name.nameString[i]);
  },
};

/**
 * Parses "a/b@REALM" (escapes as above). `realm` is used when the string has none.
 * `nameType` defaults to NT_PRINCIPAL (1), or NT_SRV_INST (2) for two-component "service/host" names
 * when `serviceDefault` is set.
 */
export function parsePrincipal(s: string, defaultRealm?: string, nameType?: number): Principal {
  const comps: string[] = [];
  let cur = '';
  let realm: string | undefined;
  let inRealm = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      const n = s[++i]!;
      cur += n === 'n' ? '\n' : n === 't' ? '\t' : n === '0' ? '\0' : n;
    } else if (c === '/' && !inRealm) {
      comps.push(cur);
      cur = '';
    } else if (c === '@' && !inRealm) {
      comps.push(cur);
      cur = '';
      inRealm = true;
    } else cur += c;
  }
  if (inRealm) realm = cur;
  else comps.push(cur);
  const r = realm ?? defaultRealm;
  if (r === undefined || r === '') throw new TypeError(`principal "${s}" has no realm and no default realm is known`);
  if (comps.some((c) => c === '')) throw new TypeError(`principal "${s}" has an empty component`);
  return { nameType: nameType ?? 1, nameString: comps, realm: r };
}
