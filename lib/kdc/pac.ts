/**
 * The PAC the embedded KDC puts in tickets of principals that have `pac` options: an AD-style
 * KERB_VALIDATION_INFO with the SIDs the test chooses, PAC_CLIENT_INFO, UPN_DNS_INFO, signed with
 * the service key and the krbtgt key (MS-PAC 2.8), wrapped in AD-IF-RELEVANT(AD-WIN2K-PAC) as AD
 * does (MS-KILE 3.3.5.6.4).
 */
import type { AuthorizationData } from '../krb5/asn1/index.js';
import { encodeAdIfRelevant } from '../krb5/asn1/authdata.js';
import { AuthorizationDataType } from '../krb5/constants.js';
import { encodePac, FILETIME_NEVER, LOGON_EXTRA_SIDS, parseSid, SE_GROUP_DEFAULT, toFiletime } from '../krb5/pac/index.js';
import type { Key, PrincipalName } from '../krb5/types.js';
import type { DbPrincipal } from './database.js';

/** A stable domain SID for a realm when the test gives none: S-1-5-21-a-b-c from the realm's bytes. */
export function domainSidFor(realm: string): string {
  const parts = [0, 0, 0];
  for (let i = 0; i < realm.length; i++) parts[i % 3] = (Math.imul(parts[i % 3]!, 31) + realm.charCodeAt(i)) >>> 0;
  return `S-1-5-21-${parts.join('-')}`;
}

export function pacAuthorizationData(client: DbPrincipal, name: { realm: string; name: PrincipalName }, serviceKey: Key, krbtgtKey: Key, authtime: Date): AuthorizationData | undefined {
  const o = client.pac;
  if (!o) return undefined;
  const domainSid = parseSid(o.domainSid ?? domainSidFor(name.realm));
  const user = name.name.nameString.join('/');
  const netbios = name.realm.split('.')[0]!.toUpperCase().slice(0, 15);
  const extra = (o.extraSids ?? []).map((s) => ({ sid: parseSid(s), attributes: SE_GROUP_DEFAULT }));
  const groups = [...new Set([o.primaryGroupRid ?? 513, ...(o.groupRids ?? [])])];
  const pac = encodePac({
    clientName: user, authtime, upn: o.upn ?? `${user}@${name.realm.toLowerCase()}`, dnsDomainName: name.realm.toLowerCase(),
    logonInfo: {
      logonTime: toFiletime(authtime), logoffTime: FILETIME_NEVER, kickOffTime: FILETIME_NEVER, passwordLastSet: toFiletime(authtime),
      passwordCanChange: 0n, passwordMustChange: FILETIME_NEVER,
      effectiveName: user, fullName: user, logonScript: '', profilePath: '', homeDirectory: '', homeDirectoryDrive: '',
      logonCount: 1, badPasswordCount: 0, userId: o.userRid, primaryGroupId: o.primaryGroupRid ?? 513,
      groupIds: groups.map((relativeId) => ({ relativeId, attributes: SE_GROUP_DEFAULT })),
      userFlags: extra.length ? LOGON_EXTRA_SIDS : 0, userSessionKey: new Uint8Array(16),
      logonServer: 'KDC', logonDomainName: netbios, logonDomainId: domainSid,
      userAccountControl: 0x10 /* USER_NORMAL_ACCOUNT */, subAuthStatus: 0, lastSuccessfulILogon: 0n, lastFailedILogon: 0n, failedILogonCount: 0,
      extraSids: extra, resourceGroupIds: [],
    },
  }, serviceKey, krbtgtKey);
  return [{ adType: AuthorizationDataType.AD_IF_RELEVANT, adData: encodeAdIfRelevant([{ adType: AuthorizationDataType.AD_WIN2K_PAC, adData: pac }]) }];
}
