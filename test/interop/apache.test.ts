// HTTP Negotiate (RFC 4559) against Apache httpd with mod_auth_gssapi (MIT's libgssapi inside):
// our initiator, native and pure, gets a 200 for /private, the user Apache saw is ours, and the
// mutual-authentication token Apache sends back completes our context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { needNative, needPeer, peerForFile } from '../peers/harness.js';
import { createInitiator } from '../../lib/api.js';
import { negotiateFetch } from '../../lib/http/index.js';
import { decodeNegotiationToken, NegState } from '../../lib/spnego/codec.js';

const apachePeer = peerForFile('apache-negotiate', ['KRB5_CONFIG', 'KRB5CCNAME']);

function wwwAuthenticate(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'www-authenticate') out.push(raw[i + 1]!);
  return out;
}

function get(url: string, agent: Agent, authorization?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; authenticate: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: authorization ? { authorization } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      // Every WWW-Authenticate line on its own (Node joins repeated headers with ', ').
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, authenticate: wwwAuthenticate(res.rawHeaders), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const backend of ['native', 'pure'] as const) {
  test(`${backend} initiator -> Apache mod_auth_gssapi over HTTP Negotiate: 200, user seen, mutual auth completes`, async (t) => {
    if (!needPeer(t, 'apache-negotiate') || !apachePeer.current) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const env = apachePeer.current!.env;
    const url = env.APACHE_URL!; // .../private
    const agent = new Agent({ keepAlive: true, maxSockets: 1 }); // GssapiConnectionBound: one connection
    try {
      const first = await get(url, agent);
      assert.equal(first.status, 401);
      assert.ok(first.authenticate.includes('Negotiate'), String(first.authenticate));
      const ctx = createInitiator({
        backend, target: 'HTTP@localhost', krb5Config: backend === 'pure' ? env.KRB5_CONFIG : undefined,
        credentials: { ccache: env.KRB5CCNAME! },
      });
      const token = await ctx.step();
      const res = await get(url, agent, `Negotiate ${Buffer.from(token!).toString('base64')}`);
      assert.equal(res.status, 200, res.body.slice(0, 200));
      assert.equal(res.headers['x-remote-user'], env.MITKDC_USER);
      const m = res.authenticate.map((h) => /^Negotiate (\S+)$/.exec(h)).find(Boolean);
      assert.ok(m, 'Apache sends its mutual-authentication token');
      const back = Buffer.from(m[1]!, 'base64');
      const resp = decodeNegotiationToken(back);
      assert.ok(resp.kind === 'resp' && resp.negState === NegState.acceptCompleted);
      assert.equal(await ctx.step(back), undefined);
      assert.ok(ctx.complete, 'the AP-REP from Apache verified');
      assert.equal(ctx.info.backend, backend);
      assert.equal(ctx.info.acceptorName, env.MITKDC_SERVICE);
    } finally {
      agent.destroy();
    }
  });
}

for (const backend of ['native', 'pure'] as const) {
  test(`negotiateFetch (${backend}) -> Apache mod_auth_gssapi: 200 and Apache's mutual-authentication token verified`, async (t) => {
    if (!needPeer(t, 'apache-negotiate') || !apachePeer.current) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const env = apachePeer.current.env;
    const res = await negotiateFetch(env.APACHE_URL!, {}, { backend, target: 'HTTP@localhost', krb5Config: env.KRB5_CONFIG, credentials: { ccache: env.KRB5CCNAME! } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-remote-user'), env.MITKDC_USER);
  });
}
