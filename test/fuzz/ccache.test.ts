// Fuzz: the ccache reader gets SPNEGO_FUZZ_RUNS seeded mutations of real credential caches (a TGT
// and a service ticket the embedded KDC issued to our client, written by FileCcache; the same
// credentials as v4 with MIT's KDC time-offset header and as v3): only typed errors come out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { requestServiceTicket } from '../../lib/krb5/client/tgs.js';
import { FileCcache, encodeCcache, readCcache } from '../../lib/krb5/ccache.js';
import { formatPrincipal } from '../../lib/krb5/types.js';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';

const REALM = 'FUZZ.TEST';
let kdc: Kdc;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-fuzz-ccache-'));
  kdc = await startKdc({ realm: REALM, principals: [{ name: 'alice', password: 'alice-pw' }, { name: 'HTTP/web.fuzz.test' }] });
});
after(async () => {
  await kdc.stop();
  rmSync(dir, { recursive: true, force: true });
});
const who = (n: string) => ({ realm: REALM, name: { nameType: 1, nameString: n.split('/') } });

test(`fuzz readCcache: ${FUZZ_RUNS} inputs from a real TGT + service ticket cache, only typed errors`, { timeout: 120_000 }, async () => {
  const kdcs = [{ host: '127.0.0.1', port: kdc.port, transport: 'tcp' as const }];
  const tgt = await requestInitialTicket({ kdcs, client: who('alice'), secret: { password: 'alice-pw' }, etypes: [18] });
  const svc = await requestServiceTicket({ tgt, server: who('HTTP/web.fuzz.test'), kdcsFor: () => ({ kdcs }), etypes: [18] });
  const path = join(dir, 'cc');
  FileCcache.create(path, tgt.client, [tgt, svc]);
  const real = new Uint8Array(readFileSync(path));
  const cc = readCcache(real);
  assert.equal(formatPrincipal({ ...cc.defaultPrincipal.name, realm: cc.defaultPrincipal.realm }), `alice@${REALM}`);
  assert.deepEqual(cc.credentials.map((c) => formatPrincipal({ ...c.server.name, realm: c.server.realm })), [`krbtgt/${REALM}@${REALM}`, `HTTP/web.fuzz.test@${REALM}`]);
  const seeds = [
    real,
    encodeCcache({ ...cc, headerTags: [{ tag: 1, data: new Uint8Array(8) }] }),
    encodeCcache({ ...cc, version: 3, headerTags: [] }),
  ];
  for (const s of seeds) assert.equal(readCcache(s).credentials.length, 2);
  const r = fuzzDecoder(seeds, (b) => readCcache(b));
  assert.equal(r.accepted + r.rejected, FUZZ_RUNS);
  assert.ok(r.accepted > 0 && r.rejected > 0, JSON.stringify(r));
});
