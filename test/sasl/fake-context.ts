// A SecurityContext whose wrap/unwrap are the identity: the fuzz tests drive the SASL offer handling
// and the LDAP side alone with it, without crypto in the way.
import type { ContextInfo, SecurityContext } from '../../lib/context.js';

export function fakeContext(): SecurityContext {
  let complete = false;
  const info: ContextInfo = { backend: 'pure', flags: { integrity: true, confidentiality: true } };
  return {
    role: 'initiator',
    get complete() { return complete; },
    info,
    async step() { complete = true; return Uint8Array.of(1); },
    getMIC: () => new Uint8Array(0),
    verifyMIC: () => {},
    wrap: (m) => m.slice(),
    unwrap: (t) => ({ message: t, encrypted: false }),
    dispose: () => {},
  };
}
