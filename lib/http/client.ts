/**
 * HTTP Negotiate (RFC 4559) for clients, over fetch:
 *
 *   import { negotiateFetch } from 'spnego/http';
 *   const res = await negotiateFetch('https://web.example.test/api', {}, { target: 'HTTP@web.example.test' });
 *
 * It sends the first token with the request (the server's 401 is not waited for), answers a 401
 * that carries a Negotiate token (multi-leg), and verifies the server's final token (mutual
 * authentication): a response whose token does not verify is an error, never returned as success.
 */
import { createInitiator } from '../api.js';
import { GssError } from '../errors.js';
import type { InitiatorOptions } from '../context.js';

const TOKEN = /(?:^|,)\s*Negotiate\s+([A-Za-z0-9+/=]+)/i;

function serverToken(res: Response): Uint8Array | undefined {
  const m = TOKEN.exec(res.headers.get('www-authenticate') ?? '');
  return m ? new Uint8Array(Buffer.from(m[1]!, 'base64')) : undefined;
}

export interface NegotiateFetchOptions extends Partial<InitiatorOptions> {
  /** Default: "HTTP@" + the URL's host name. */
  target?: string;
  /** The most round trips (default 4). */
  maxLegs?: number;
}

export async function negotiateFetch(url: string | URL, init: RequestInit = {}, o: NegotiateFetchOptions = {}): Promise<Response> {
  const target = o.target ?? `HTTP@${new URL(url).hostname}`;
  const ctx = createInitiator({ ...o, target });
  try {
    let token = await ctx.step();
    for (let leg = 0; leg < (o.maxLegs ?? 4); leg++) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Negotiate ${Buffer.from(token!).toString('base64')}`);
      const res = await fetch(url, { ...init, headers });
      const back = serverToken(res);
      if (res.status === 401 && back && !ctx.complete) {
        // Read the 401 to its end so the next leg goes out on the same keep-alive connection:
        // the server's half-made context waits on that connection (RFC 4559 multi-leg).
        await res.arrayBuffer();
        // fetch (undici) puts the connection back in its pool a turn of the event loop after the
        // body ends; a request sent before that opens a new connection, where the context is not.
        await new Promise((resolve) => setImmediate(resolve));
        token = await ctx.step(back);
        if (token) continue;
      }
      if (res.status !== 401 && !ctx.complete) {
        // The server accepted us; its final token must prove it is the service (RFC 4559 5, RFC 4121 mutual).
        if (!back) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `${target} answered ${res.status} without the mutual-authentication token`);
        await ctx.step(back);
      }
      return res;
    }
    throw new GssError('GSS_S_FAILURE', `${target}: Negotiate did not complete in ${o.maxLegs ?? 4} round trips`);
  } finally {
    ctx.dispose();
  }
}
