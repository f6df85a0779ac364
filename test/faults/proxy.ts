/**
 * A faulty KDC for the fault tests: UDP and TCP on one loopback port in front of a real (embedded)
 * KDC, each transport with its own behaviour, changeable while it runs:
 *   'pass'      forward the request, return the KDC's reply
 *   'drop'      never answer (a hung KDC)
 *   'truncate'  the reply cut in half (over TCP: the length prefix says the full size, then close)
 *   'garbage'   random bytes of the reply's length
 *   'too-big'   a KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 7.2.1: the client must retry over TCP)
 *   { delayMs } forward, then answer after delayMs (a slow KDC)
 */
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKrbError } from '../../lib/krb5/asn1/error.js';
import { sendToKdc } from '../../lib/krb5/client/transport.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { type FileRealm, realmForFile } from '../kdc/realm-for-file.js';
import { kdcTcpServer, tcpRecord } from '../kdc/tcp-kdc.js';

export type Behaviour = 'pass' | 'drop' | 'truncate' | 'garbage' | 'too-big' | { delayMs: number };

export interface FaultyKdc {
  port: number;
  udp: Behaviour;
  tcp: Behaviour;
  /** Requests received per transport. */
  seen: { udp: number; tcp: number };
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function faultyKdc(realm: string, upstreamPort: number, init: { udp?: Behaviour; tcp?: Behaviour } = {}): Promise<FaultyKdc> {
  const forward = (req: Uint8Array, transport: 'udp' | 'tcp') => sendToKdc(realm, [{ host: '127.0.0.1', port: upstreamPort, transport }], req, { timeoutMs: 5000 });
  const tooBig = () => encodeKrbError({ stime: new Date(), susec: 0, errorCode: ErrorCode.KRB_ERR_RESPONSE_TOO_BIG, realm, sname: { nameType: 2, nameString: ['krbtgt', realm] } });
  const k: FaultyKdc = { port: 0, udp: init.udp ?? 'pass', tcp: init.tcp ?? 'pass', seen: { udp: 0, tcp: 0 }, close: async () => {} };
  /** The reply for `b`, or undefined for none. */
  const reply = async (b: Behaviour, req: Uint8Array, transport: 'udp' | 'tcp'): Promise<Uint8Array | undefined> => {
    if (b === 'drop') return undefined;
    if (b === 'too-big') return tooBig();
    const rep = await forward(req, transport);
    if (typeof b === 'object') {
      await sleep(b.delayMs);
      return rep;
    }
    if (b === 'garbage') return new Uint8Array(randomBytes(rep.length));
    return rep;
  };
  const { server: tcp, closeAll } = kdcTcpServer(async (req) => {
    k.seen.tcp++;
    const b = k.tcp;
    const rep = await reply(b, req, 'tcp');
    if (!rep) return undefined;
    // Truncated: the record says its full length, half of it comes, then the connection closes.
    const record = tcpRecord(rep);
    return b === 'truncate' ? record.subarray(0, 4 + (rep.length >> 1)) : record;
  });
  let udp: UdpSocket | undefined;
  // One port for both transports, as a KDC has: take a TCP port, then the same for UDP (retry if taken).
  for (let attempt = 0; attempt < 20 && !udp; attempt++) {
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    const u = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      udp = u;
      k.port = port;
    } else {
      u.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  }
  if (!udp) throw new Error('no port free for both UDP and TCP on 127.0.0.1');
  const u = udp;
  u.on('error', () => {});
  u.on('message', async (msg, rinfo) => {
    k.seen.udp++;
    const b = k.udp;
    try {
      const rep = await reply(b, new Uint8Array(msg), 'udp');
      if (!rep) return;
      u.send(b === 'truncate' ? rep.subarray(0, rep.length >> 1) : rep, rinfo.port, rinfo.address);
    } catch {
      // the upstream failed: answer nothing, as a KDC that lost the request
    }
  });
  k.close = async () => {
    await closeAll();
    await new Promise<void>((r) => u.close(() => r()));
  };
  return k;
}

/** A loopback port with nothing listening on it, UDP or TCP (bound then closed: a KDC that is down). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * The KDC fault files' setup: an embedded realm (test/kdc/realm-for-file.ts); `proxy(init)`, a
 * faulty KDC in front of it (every proxy made is closed after the file); `conf(kdcs, libdefaults)`,
 * a krb5.conf of the realm listing `kdcs` ("host:port", "udp/host:port") in order.
 */
export function faultsForFile(realm: string): {
  r: FileRealm;
  proxy: (init?: { udp?: Behaviour; tcp?: Behaviour }) => Promise<FaultyKdc>;
  conf: (kdcs: string[], libdefaults?: Record<string, string>) => string;
} {
  const r = realmForFile(realm);
  const proxies: FaultyKdc[] = [];
  let confs = 0;
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
  });
  return {
    r,
    conf(kdcs, libdefaults = {}) {
      const path = join(r.dir, `krb5-${++confs}.conf`);
      writeFileSync(path, r.kdc.krb5Conf({ extraLibdefaults: libdefaults }).replace(/^ {4}kdc = .*$/m, kdcs.map((k) => `    kdc = ${k}`).join('\n')));
      return path;
    },
    async proxy(init = {}) {
      const p = await faultyKdc(realm, r.kdc.port, init);
      proxies.push(p);
      return p;
    },
  };
}
