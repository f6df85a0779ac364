// The Samba AD DC the LDAP test files share: started on the file's own loopback address (so its
// ports never collide with another file's DC), its krb5 environment in force for the file, and the
// ldap/ SPN added (samba_spnupdate, the dnsupdate service, is off in the harness), plus whatever
// else the file adds with samba-tool.
import { after, before, type TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
import { needPeer, startPeer, useEnv, KRB5_ENV, type RunningPeer } from '../peers/harness.js';

export const DC_HOST = 'dc1';

/** samba-tool against this DC; "already exists" is not an error (a restarted DC keeps its database). */
export type SambaTool = (...args: string[]) => void;

export function ldapDcForFile(addr: string, setup: (tool: SambaTool, env: Record<string, string | undefined>) => void = () => {}) {
  let ad: RunningPeer | undefined;
  let restore = () => {};
  before(() => {
    try {
      ad = startPeer('samba-ad', { AD_ADDR: addr });
    } catch (e) {
      if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw e;
      return;
    }
    const e = ad.env;
    restore = useEnv(Object.fromEntries(KRB5_ENV.map((k) => [k, e[k]])));
    const tool: SambaTool = (...args) => {
      const r = spawnSync('samba-tool', [...args, '-s', e.AD_SMB_CONF!], { encoding: 'utf8' });
      if (r.status !== 0 && !/already/i.test(r.stderr)) throw new Error(`samba-tool ${args.join(' ')}: ${r.stderr}`);
    };
    tool('spn', 'add', `ldap/${DC_HOST}.${e.AD_REALM!.toLowerCase()}`, `${DC_HOST.toUpperCase()}$`);
    setup(tool, e);
  });
  after(() => {
    ad?.stop();
    restore();
  });
  return {
    /** The running DC, once the before hook started it. */
    get ad(): RunningPeer | undefined {
      return ad;
    },
    ready(t: TestContext): boolean {
      return needPeer(t, 'samba-ad') && ad !== undefined;
    },
  };
}
