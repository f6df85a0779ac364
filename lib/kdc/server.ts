/**
 * The embedded KDC's network side, RFC 4120 section 7.2: TCP (4-byte big-endian length before each
 * message) and UDP on the same loopback port. A reply too big for UDP becomes KRB_ERR_RESPONSE_TOO_BIG
 * so the client retries over TCP. Any request, however malformed, gets a KRB-ERROR or nothing: the
 * handler never throws out of here.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export type Handler = (req: Uint8Array) => Uint8Array | undefined;

/** RFC 4120 7.2.1: stay well under the common 1500-byte MTU. */
export const UDP_MAX_REPLY = 1400;

/** Only 127.0.0.0/8 (and ::1): the embedded KDC is for tests and demos on this machine. */
export function assertLoopback(host: string): void {
  const ok = (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (!ok) throw new UsageError(`the embedded KDC listens on loopback only (127.0.0.0/8 or ::1), not ${host}`);
}

function serveTcp(sock: Socket, handle: Handler): void {
  let buf = Buffer.alloc(0);
  sock.on('error', () => sock.destroy());
  sock.setTimeout(30_000, () => sock.destroy());
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len & 0x80000000 || len > 1 << 20) {
        sock.destroy();
        return;
      }
      if (buf.length < 4 + len) return;
      const req = new Uint8Array(buf.subarray(4, 4 + len));
      buf = buf.subarray(4 + len);
      const rep = handle(req);
      if (rep) {
        const hdr = Buffer.alloc(4);
        hdr.writeUInt32BE(rep.length);
        sock.write(Buffer.concat([hdr, rep]));
      }
    }
  });
}

export interface Listeners {
  port: number;
  close(): Promise<void>;
}

export async function listen(host: string, port: number, handle: Handler, tooBig: (req: Uint8Array) => Uint8Array | undefined): Promise<Listeners> {
  assertLoopback(host);
  for (let attempt = 0; attempt < 20; attempt++) {
    const conns = new Set<Socket>();
    const tcp: Server = createServer((s) => {
      conns.add(s);
      s.on('close', () => conns.delete(s));
      serveTcp(s, handle);
    });
    const p = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve((tcp.address() as { port: number }).port));
    });
    const udp: UdpSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(p, host, () => resolve(true));
    });
    if (!bound) {
      // The ephemeral TCP port is taken for UDP: try another (only when the caller let us choose).
      tcp.close();
      udp.close();
      if (port !== 0) throw new UsageError(`UDP port ${port} on ${host} is in use`);
      continue;
    }
    udp.on('error', () => {});
    udp.on('message', (msg, rinfo) => {
      const req = new Uint8Array(msg);
      let rep = handle(req);
      if (rep && rep.length > UDP_MAX_REPLY) rep = tooBig(req);
      if (rep) udp.send(rep, rinfo.port, rinfo.address);
    });
    return {
      port: p,
      close: () => new Promise<void>((resolve) => {
        udp.close();
        tcp.close(() => resolve());
        // Connections still open must not keep the KDC alive.
        for (const c of conns) c.destroy();
      }),
    };
  }
  throw new UsageError(`could not find a free port with both TCP and UDP on ${host}`);
}
