/**
 * KDC transport, RFC 4120 section 7.2: UDP (one datagram each way) and TCP (a 4-byte big-endian
 * length before each message). Tries each KDC of the realm in turn with a per-attempt timeout
 * (Heimdal's kdc_timeout) under an optional total deadline (MIT's request_timeout); a KRB-ERROR
 * KRB_ERR_RESPONSE_TOO_BIG over UDP retries the same KDC over TCP (RFC 4120 7.2.1). Messages larger
 * than udp_preference_limit go over TCP first (MIT's rule).
 */
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import { KerberosError } from '../../errors.js';
import { ErrorCode } from '../constants.js';

export interface KdcAddress {
  host: string;
  port: number;
  /** Restrict to one transport (from a 'tcp/host:port' or SRV _tcp entry). */
  transport?: 'udp' | 'tcp';
}

export interface TransportOptions {
  /** Per-KDC, per-transport attempt timeout in ms (krb5.conf kdc_timeout; default 3000). */
  timeoutMs?: number;
  /**
   * The most one request may take in ms over all its attempts (krb5.conf request_timeout); when it
   * passes, the attempt in flight is abandoned. 0 or unset: no total bound beyond the attempts'.
   */
  requestTimeoutMs?: number;
  /** Bytes above which TCP is tried first (krb5.conf udp_preference_limit; default 1465). */
  udpPreferenceLimit?: number;
}

/** Parses a krb5.conf kdc value: 'host', 'host:port', '[v6]:port', 'tcp/host:port', 'udp/...'. */
export function parseKdcAddress(s: string): KdcAddress {
  let rest = s.trim();
  let transport: KdcAddress['transport'];
  const m = /^(tcp|udp)\//i.exec(rest);
  if (m) {
    transport = m[1]!.toLowerCase() as 'tcp' | 'udp';
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/^kkdcp:\/\//i, '');
  let host = rest;
  let port = 88;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else {
    const i = rest.lastIndexOf(':');
    if (i > 0 && rest.indexOf(':') === i) {
      host = rest.slice(0, i);
      port = Number(rest.slice(i + 1));
    }
  }
  if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`bad KDC address: ${s}`);
  return { host, port, transport };
}

/** The default per-attempt timeout (Heimdal's documented kdc_timeout default, 3 s). */
export const DEFAULT_KDC_TIMEOUT_MS = 3000;
/** setTimeout's largest delay; a larger one fires at once (Node clamps it to 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One attempt's time limit, and what to say when it passes. */
interface Limit {
  ms: number;
  /** The attempt was cut short by the request's total deadline rather than its own timeout. */
  total: boolean;
}

/** An attempt that ran out of time (its own, or the request's total). */
class AttemptTimeout extends Error {
  constructor(readonly limit: Limit, transport: string) {
    super(limit.total ? `abandoned after ${limit.ms} ms, at the total request deadline` : `no answer over ${transport} within ${limit.ms} ms`);
  }
}

function udpExchange(kdc: KdcAddress, msg: Uint8Array, limit: Limit): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(kdc.host.includes(':') ? 'udp6' : 'udp4');
    let settled = false;
    const timer = setTimeout(() => done(new AttemptTimeout(limit, 'UDP')), limit.ms);
    // Every ending (answer, error, timeout) clears the timer and closes the socket: nothing outlives the attempt.
    const done = (err?: Error, reply?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    sock.on('error', (e) => done(e));
    sock.on('message', (m) => done(undefined, new Uint8Array(m)));
    sock.send(msg, kdc.port, kdc.host, (e) => e && done(e));
  });
}

function tcpExchange(kdc: KdcAddress, msg: Uint8Array, limit: Limit): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const chunks: Buffer[] = [];
    let got = 0;
    let settled = false;
    const timer = setTimeout(() => done(new AttemptTimeout(limit, 'TCP')), limit.ms);
    const done = (err?: Error, reply?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('the KDC closed the TCP connection before a full reply')));
    sock.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got < 4) return;
      const all = Buffer.concat(chunks);
      const len = all.readUInt32BE(0);
      // RFC 4120 7.2.2: the high bit is reserved; a KDC never sends more than a few hundred KB.
      if (len & 0x80000000 || len > 1 << 24) return done(new Error(`bad TCP record length ${len}`));
      if (all.length >= 4 + len) done(undefined, new Uint8Array(all.subarray(4, 4 + len)));
    });
    sock.connect(kdc.port, kdc.host, () => {
      const hdr = Buffer.alloc(4);
      hdr.writeUInt32BE(msg.length);
      sock.write(Buffer.concat([hdr, msg]));
    });
  });
}

/** KRB-ERROR with error-code RESPONSE_TOO_BIG? Cheap check without a full decode. */
function isResponseTooBig(reply: Uint8Array): boolean {
  if (reply[0] !== 0x7e) return false;
  // error-code [6] Int32 is small: look for A6 03 02 01 34 (52)
  for (let i = 0; i + 4 < reply.length; i++) {
    if (reply[i] === 0xa6 && reply[i + 1] === 3 && reply[i + 2] === 2 && reply[i + 3] === 1) return reply[i + 4] === ErrorCode.KRB_ERR_RESPONSE_TOO_BIG;
  }
  return false;
}

/**
 * Sends `msg` to the realm's KDCs until one answers; returns the raw reply (a KDC-REP or KRB-ERROR).
 * Each attempt (one KDC, one transport) waits at most `timeoutMs`; with `requestTimeoutMs`, the
 * whole request ends at that deadline, the attempt in flight abandoned (its socket closed, its timer
 * cleared), as MIT 1.22's request_timeout. When none answers: KerberosError 'KDC_UNREACHABLE'
 * (code -1, no RFC 4120 code exists; MIT calls it KRB5_KDC_UNREACH) listing every attempt.
 */
export async function sendToKdc(realm: string, kdcs: KdcAddress[], msg: Uint8Array, opts: TransportOptions = {}): Promise<Uint8Array> {
  if (kdcs.length === 0) {
    throw new KerberosError(-1, 'KDC_UNREACHABLE', `no KDC known for realm ${realm} (add it to [realms] in krb5.conf or enable dns_lookup_kdc)`);
  }
  const timeoutMs = Math.min(opts.timeoutMs ?? DEFAULT_KDC_TIMEOUT_MS, MAX_TIMER_MS);
  const totalMs = opts.requestTimeoutMs ? Math.min(opts.requestTimeoutMs, MAX_TIMER_MS) : 0;
  const deadline = totalMs ? performance.now() + totalMs : Infinity;
  const tcpFirst = msg.length > (opts.udpPreferenceLimit ?? 1465);
  const failures: string[] = [];
  /** This attempt's limit: its own timeout, or what is left of the total when that is less. */
  const limit = (): Limit | undefined => {
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) return undefined;
    return left < timeoutMs ? { ms: left, total: true } : { ms: timeoutMs, total: false };
  };
  let totalReached = false;
  /** One attempt; undefined (the failure recorded) when it gets no usable answer. */
  const attempt = async (kdc: KdcAddress, t: 'udp' | 'tcp'): Promise<Uint8Array | undefined> => {
    const l = limit();
    if (!l) {
      totalReached = true;
      return undefined;
    }
    try {
      return t === 'udp' ? await udpExchange(kdc, msg, l) : await tcpExchange(kdc, msg, l);
    } catch (err) {
      if (err instanceof AttemptTimeout && err.limit.total) totalReached = true;
      failures.push(`${kdc.host}:${kdc.port}/${t}: ${(err as Error).message}`);
      return undefined;
    }
  };
  for (const kdc of kdcs) {
    const order: ('udp' | 'tcp')[] = kdc.transport ? [kdc.transport] : tcpFirst ? ['tcp', 'udp'] : ['udp', 'tcp'];
    for (const t of order) {
      let reply = await attempt(kdc, t);
      if (reply && t === 'udp' && isResponseTooBig(reply)) {
        failures.push(`${kdc.host}:${kdc.port}/udp: response too big, retrying over TCP`);
        reply = await attempt(kdc, 'tcp');
        if (!reply && !totalReached) break; // this KDC's TCP was just tried: on to the next KDC
      }
      if (reply) return reply;
      if (totalReached) {
        throw new KerberosError(-1, 'KDC_UNREACHABLE', `cannot reach any KDC for realm ${realm} within the total request timeout of ${totalMs} ms (krb5.conf request_timeout, option requestTimeoutMs); attempts made: ${failures.join('; ')}`);
      }
    }
  }
  throw new KerberosError(-1, 'KDC_UNREACHABLE', `cannot reach any KDC for realm ${realm}: ${failures.join('; ')}`);
}
