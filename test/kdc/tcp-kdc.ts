/**
 * A loopback TCP "KDC" for tests (RFC 4120 7.2.2 framing: 4-byte length, then the message): every
 * request is recorded and answered by `answer`, which may forward it to a real KDC and edit the
 * reply (a forged ETYPE-INFO2) or record what our client sends (fuzz seeds).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { sendToKdc } from '../../lib/krb5/client/transport.js';

export interface TcpKdc {
  port: number;
  /** Every request received, in order. */
  requests: Uint8Array[];
  close(): Promise<void>;
}

/** A reply as one TCP record: its 4-byte big-endian length, then the bytes. */
export function tcpRecord(rep: Uint8Array): Buffer {
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(rep.length);
  return Buffer.concat([hdr, rep]);
}

/**
 * A TCP server (not yet listening) reading one framed request per connection: `handle` gets it and
 * returns the bytes to write before the connection ends, or undefined to write nothing and keep it
 * open (a hung KDC); a throw destroys the connection. `closeAll` ends the connections it holds.
 */
export function kdcTcpServer(handle: (req: Uint8Array) => Promise<Uint8Array | undefined>): { server: Server; closeAll: () => Promise<void> } {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', async (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
      const req = new Uint8Array(buf.subarray(4, 4 + buf.readUInt32BE(0)));
      buf = Buffer.alloc(0);
      try {
        const out = await handle(req);
        if (out) sock.end(out);
      } catch {
        sock.destroy();
      }
    });
  });
  const closeAll = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return { server, closeAll };
}

export async function tcpKdc(answer: (req: Uint8Array) => Uint8Array | Promise<Uint8Array>): Promise<TcpKdc> {
  const requests: Uint8Array[] = [];
  const { server, closeAll } = kdcTcpServer(async (req) => {
    requests.push(req);
    return tcpRecord(await answer(req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, requests, close: closeAll };
}

/** Forwards each request to the KDC at 127.0.0.1:`port` over TCP and passes its reply through `edit`. */
export function forwardTo(realm: string, port: number, edit: (rep: Uint8Array) => Uint8Array = (r) => r): (req: Uint8Array) => Promise<Uint8Array> {
  return async (req) => edit(await sendToKdc(realm, [{ host: '127.0.0.1', port, transport: 'tcp' }], req, { timeoutMs: 5000 }));
}
