/**
 * MS-NLMP constants: message types (2.2.1), NegotiateFlags (2.2.2.5, names as the spec spells
 * them), AV pair ids (2.2.2.1) and MsvAvFlags bits, VERSION revision (2.2.2.10).
 */

/** "NTLMSSP\0", the Signature of every message (2.2.1). */
export const NTLMSSP_SIGNATURE = Uint8Array.from([0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00]);

export const MessageType = { NEGOTIATE: 1, CHALLENGE: 2, AUTHENTICATE: 3 } as const;

/** The NTLM mechanism OID (MS-NLMP 1.9; SPNEGO's NTLMSSP). */
export const NTLM_MECH_OID = '1.3.6.1.4.1.311.2.2.10';

/** MS-NLMP 2.2.2.5 NEGOTIATE flags (bit values, little-endian on the wire). */
export const NegotiateFlags = {
  NTLMSSP_NEGOTIATE_UNICODE: 0x00000001,
  NTLM_NEGOTIATE_OEM: 0x00000002,
  NTLMSSP_REQUEST_TARGET: 0x00000004,
  NTLMSSP_NEGOTIATE_SIGN: 0x00000010,
  NTLMSSP_NEGOTIATE_SEAL: 0x00000020,
  NTLMSSP_NEGOTIATE_DATAGRAM: 0x00000040,
  NTLMSSP_NEGOTIATE_LM_KEY: 0x00000080,
  NTLMSSP_NEGOTIATE_NTLM: 0x00000200,
  NTLMSSP_ANONYMOUS: 0x00000800,
  NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED: 0x00001000,
  NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED: 0x00002000,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  NTLMSSP_TARGET_TYPE_DOMAIN: 0x00010000,
  NTLMSSP_TARGET_TYPE_SERVER: 0x00020000,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NTLMSSP_NEGOTIATE_IDENTIFY: 0x00100000,
  NTLMSSP_REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  NTLMSSP_NEGOTIATE_TARGET_INFO: 0x00800000,
  NTLMSSP_NEGOTIATE_VERSION: 0x02000000,
  NTLMSSP_NEGOTIATE_128: 0x20000000,
  NTLMSSP_NEGOTIATE_KEY_EXCH: 0x40000000,
  NTLMSSP_NEGOTIATE_56: 0x80000000,
} as const;

/** The names of the flags set in `flags` (reserved bits as "r0x..."). */
export function flagNames(flags: number): string[] {
  const out: string[] = [];
  let known = 0;
  for (const [name, bit] of Object.entries(NegotiateFlags)) {
    known |= bit;
    if ((flags & bit) >>> 0) out.push(name);
  }
  const rest = (flags & ~known) >>> 0;
  for (let b = 0; b < 32; b++) if ((rest >>> b) & 1) out.push(`reserved-0x${((1 << b) >>> 0).toString(16).padStart(8, '0')}`);
  return out;
}

/** MS-NLMP 2.2.2.1 AvId values. */
export const AvId = {
  MsvAvEOL: 0,
  MsvAvNbComputerName: 1,
  MsvAvNbDomainName: 2,
  MsvAvDnsComputerName: 3,
  MsvAvDnsDomainName: 4,
  MsvAvDnsTreeName: 5,
  MsvAvFlags: 6,
  MsvAvTimestamp: 7,
  MsvAvSingleHost: 8,
  MsvAvTargetName: 9,
  MsvAvChannelBindings: 10,
} as const;

export const AV_ID_NAMES: Record<number, string> = Object.fromEntries(Object.entries(AvId).map(([k, v]) => [v, k]));

/** MsvAvFlags bits (2.2.2.1). */
export const MsvAvFlagBits = {
  /** the client's account authentication is constrained */
  CONSTRAINED: 0x1,
  /** the client provides a MIC in the AUTHENTICATE_MESSAGE */
  MIC_PRESENT: 0x2,
  /** the client's SPN came from an untrusted source */
  UNTRUSTED_SPN: 0x4,
} as const;

/** VERSION.NTLMRevisionCurrent (2.2.2.10): NTLMSSP_REVISION_W2K3. */
export const NTLMSSP_REVISION_W2K3 = 0x0f;
