// Shared by the Samba NTLM tests (SMB2 and LDAP): Samba's mechListMIC (and ours), recomputed from
// the NTLM exported session key (info.sessionKey) and the negotiated flags of the AUTHENTICATE_MESSAGE,
// as the demo's NTLM pairings do (recomputeNtlmMic: MS-NLMP 3.4.4.2 signature, sequence number 0).
import assert from 'node:assert/strict';
import type { SecurityContext } from '../../lib/context.js';
import { decodeNegotiationToken } from '../../lib/spnego/codec.js';
import { MechOid } from '../../lib/spnego/oids.js';
import { decodeAuthenticate, MessageType } from '../../lib/ntlm/index.js';
import { firstDifference, recomputeNtlmMic } from '../../lib/cli/pairings.js';

export interface CrossedToken {
  from: 'client' | 'server';
  bytes: Uint8Array;
}

const isNtlm = (b: Uint8Array | undefined): b is Uint8Array => !!b && b.length > 8 && new TextDecoder().decode(b.subarray(0, 8)) === 'NTLMSSP\0';

/**
 * Checks an NTLM-only SPNEGO exchange with Samba: NTLM chosen, the three NTLM legs, one mechListMIC
 * each way, each equal byte for byte to the pure recomputation. Returns how many were compared.
 */
export function checkNtlmMics(ctx: SecurityContext, tokens: CrossedToken[]): { server: number; client: number } {
  const key = ctx.info.sessionKey;
  assert.ok(key && key.key.length === 16, 'the NTLM exported session key (16 bytes) is reported');
  assert.equal(ctx.info.mech, MechOid.ntlm);
  const mechTypes = ctx.info.spnego!.mechTypes;
  const decoded = tokens.map((t) => ({ from: t.from, tok: decodeNegotiationToken(t.bytes) }));
  const inner = decoded.map(({ from, tok }) => ({ from, m: tok.kind === 'resp' ? tok.responseToken : tok.kind === 'init' ? tok.mechToken : undefined }));
  const ntlm = inner.filter((x) => isNtlm(x.m)).map((x) => `${x.from}:${x.m![8]}`);
  assert.deepEqual(ntlm, [`client:${MessageType.NEGOTIATE}`, `server:${MessageType.CHALLENGE}`, `client:${MessageType.AUTHENTICATE}`], 'the three NTLM legs');
  const auth = inner.find((x) => x.from === 'client' && isNtlm(x.m) && x.m[8] === MessageType.AUTHENTICATE)!.m!;
  const flags = decodeAuthenticate(auth).flags;
  const count = { server: 0, client: 0 };
  for (const { from, tok } of decoded) {
    if (tok.kind !== 'resp' || !tok.mechListMIC) continue;
    count[from]++;
    const recomputed = recomputeNtlmMic(key.key, flags, from === 'server', mechTypes);
    const at = firstDifference(tok.mechListMIC, recomputed);
    assert.equal(at, -1, `${from === 'server' ? "Samba's" : 'our'} NTLM mechListMIC differs from the pure recomputation at byte ${at}`);
  }
  assert.deepEqual(count, { server: 1, client: 1 }, 'one mechListMIC each way (the AUTHENTICATE_MESSAGE carried its MIC)');
  return count;
}
