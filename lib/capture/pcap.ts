/**
 * A small pcap writer: classic libpcap files (LINKTYPE_IPV4, raw IPv4 packets, no link header)
 * holding TCP streams on loopback addresses, made up from what a stream carried (no socket is
 * opened). Each stream has the three-way handshake, payload segments below the MSS with their
 * sequence and acknowledgment numbers, an ACK from the receiver after each message, and the FIN
 * exchange; IPv4 and TCP checksums are computed (RFC 791, RFC 793/9293 3.1).
 *
 * Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html; link type 228 is LINKTYPE_IPV4
 * (https://www.tcpdump.org/linktypes.html).
 */
import { UsageError } from '../errors.js';

export const LINKTYPE_IPV4 = 228;
/** The largest TCP payload per segment (1460: the Ethernet MSS, so captures look like real ones). */
export const DEFAULT_MSS = 1460;

export interface TcpEndpoint {
  /** Dotted IPv4 address in 127.0.0.0/8. */
  address: string;
  port: number;
}

export interface TcpMessage {
  /** Who sends it: the client (the side that opened the connection) or the server. */
  from: 'client' | 'server';
  data: Uint8Array;
  /** When it was sent (the packets of one message get consecutive microseconds from here). */
  time: Date;
}

export interface TcpStream {
  client: TcpEndpoint;
  server: TcpEndpoint;
  messages: TcpMessage[];
  /** Initial sequence numbers (default: fixed values derived from the ports, so captures are reproducible). */
  clientIsn?: number;
  serverIsn?: number;
}

const TCP = { FIN: 0x01, SYN: 0x02, PSH: 0x08, ACK: 0x10 } as const;

function ipv4(address: string): Uint8Array {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new UsageError(`"${address}" is not an IPv4 address`);
  // Captures are made up; they only ever claim loopback addresses, so nothing in them looks like a real host.
  if (parts[0] !== 127) throw new UsageError(`capture addresses must be in 127.0.0.0/8, not ${address}`);
  return Uint8Array.from(parts);
}

/** The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words. */
export function internetChecksum(...chunks: Uint8Array[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      if (odd === undefined) odd = c[i]!;
      else {
        sum += (odd << 8) | c[i]!;
        odd = undefined;
      }
    }
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

interface Segment {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
  /** TCP options (already padded to 4 bytes). */
  options?: Uint8Array;
  ipId: number;
}

/** One IPv4 packet carrying one TCP segment, both checksums filled in. */
function packet(s: Segment): Uint8Array {
  const opts = s.options ?? new Uint8Array(0);
  const tcpLen = 20 + opts.length + s.payload.length;
  const tcp = new Uint8Array(tcpLen);
  const tv = new DataView(tcp.buffer);
  tv.setUint16(0, s.sport);
  tv.setUint16(2, s.dport);
  tv.setUint32(4, s.seq >>> 0);
  tv.setUint32(8, s.ack >>> 0);
  tcp[12] = ((20 + opts.length) / 4) << 4; // data offset in 32-bit words
  tcp[13] = s.flags;
  tv.setUint16(14, 65535); // window
  tcp.set(opts, 20);
  tcp.set(s.payload, 20 + opts.length);
  // RFC 9293 3.1: the checksum covers a pseudo-header (addresses, zero, protocol, TCP length).
  const pseudo = new Uint8Array(12);
  pseudo.set(s.src, 0);
  pseudo.set(s.dst, 4);
  pseudo[9] = 6;
  new DataView(pseudo.buffer).setUint16(10, tcpLen);
  tv.setUint16(16, internetChecksum(pseudo, tcp));

  const ip = new Uint8Array(20 + tcpLen);
  const iv = new DataView(ip.buffer);
  ip[0] = 0x45; // version 4, IHL 5
  iv.setUint16(2, ip.length);
  iv.setUint16(4, s.ipId & 0xffff);
  iv.setUint16(6, 0x4000); // DF
  ip[8] = 64; // TTL
  ip[9] = 6; // TCP
  ip.set(s.src, 12);
  ip.set(s.dst, 16);
  iv.setUint16(10, internetChecksum(ip.subarray(0, 20))); // RFC 791 3.1: header only
  ip.set(tcp, 20);
  return ip;
}

interface TimedPacket {
  micros: bigint;
  data: Uint8Array;
}

/** The packets of one stream, in order, each with its time in microseconds since the epoch. */
function streamPackets(st: TcpStream, mss: number, ipIdBase: number): TimedPacket[] {
  const c = { addr: ipv4(st.client.address), port: st.client.port };
  const s = { addr: ipv4(st.server.address), port: st.server.port };
  for (const p of [c.port, s.port]) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError(`TCP port ${p} is out of range`);
  if (!Number.isInteger(mss) || mss < 64 || mss > 65495) throw new UsageError(`MSS ${mss} is out of range (64..65495)`);
  // Reproducible initial sequence numbers (not zero, so relative numbering in Wireshark is exercised).
  let cSeq = (st.clientIsn ?? (0x10000000 + c.port * 7919)) >>> 0;
  let sSeq = (st.serverIsn ?? (0x20000000 + s.port * 104729 + c.port)) >>> 0;
  const out: TimedPacket[] = [];
  const start = st.messages[0]?.time.getTime() ?? Date.now();
  let clock = BigInt(start) * 1000n - 3n;
  let ipId = ipIdBase;
  const tick = (at?: Date) => {
    const want = at ? BigInt(at.getTime()) * 1000n : clock;
    clock = want > clock ? want : clock + 1n;
    return clock;
  };
  const send = (fromClient: boolean, flags: number, payload: Uint8Array, at?: Date, options?: Uint8Array) => {
    const [a, b] = fromClient ? [c, s] : [s, c];
    const seq = fromClient ? cSeq : sSeq;
    const ack = flags & TCP.ACK ? (fromClient ? sSeq : cSeq) : 0;
    out.push({ micros: tick(at), data: packet({ src: a.addr, dst: b.addr, sport: a.port, dport: b.port, seq, ack, flags, payload, options, ipId: ipId++ }) });
    // SYN and FIN each take one sequence number (RFC 9293 3.4).
    const used = payload.length + (flags & (TCP.SYN | TCP.FIN) ? 1 : 0);
    if (fromClient) cSeq = (cSeq + used) >>> 0;
    else sSeq = (sSeq + used) >>> 0;
  };
  // MSS option (kind 2, length 4): both sides announce the MSS the segments respect.
  const mssOption = Uint8Array.of(2, 4, mss >> 8, mss & 0xff);
  send(true, TCP.SYN, new Uint8Array(0), undefined, mssOption);
  send(false, TCP.SYN | TCP.ACK, new Uint8Array(0), undefined, mssOption);
  send(true, TCP.ACK, new Uint8Array(0));
  for (const m of st.messages) {
    // An empty message puts nothing on the wire (an empty segment would read as a duplicate ACK).
    if (!m.data.length) continue;
    const fromClient = m.from === 'client';
    for (let off = 0; off < m.data.length; off += mss) {
      const chunk = m.data.subarray(off, off + mss);
      const last = off + mss >= m.data.length;
      send(fromClient, TCP.ACK | (last ? TCP.PSH : 0), chunk, off === 0 ? m.time : undefined);
    }
    send(!fromClient, TCP.ACK, new Uint8Array(0));
  }
  // The client closes (HTTP/1.1 keep-alive ends with the client's FIN).
  send(true, TCP.FIN | TCP.ACK, new Uint8Array(0));
  send(false, TCP.FIN | TCP.ACK, new Uint8Array(0));
  send(true, TCP.ACK, new Uint8Array(0));
  return out;
}

/**
 * A pcap file (classic format, microsecond timestamps, little-endian) of the streams, their packets
 * merged in time order (ties keep stream order).
 */
export function pcapFile(streams: TcpStream[], o: { mss?: number } = {}): Uint8Array {
  const mss = o.mss ?? DEFAULT_MSS;
  const all = streams.flatMap((st, n) => streamPackets(st, mss, (n + 1) * 0x1000).map((p, i) => ({ ...p, order: n * 1e6 + i })));
  all.sort((a, b) => (a.micros < b.micros ? -1 : a.micros > b.micros ? 1 : a.order - b.order));
  const size = 24 + all.reduce((n, p) => n + 16 + p.data.length, 0);
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  v.setUint32(0, 0xa1b2c3d4, true); // magic: microsecond timestamps
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, 262144, true); // snaplen
  v.setUint32(20, LINKTYPE_IPV4, true);
  let off = 24;
  for (const p of all) {
    v.setUint32(off, Number(p.micros / 1_000_000n), true);
    v.setUint32(off + 4, Number(p.micros % 1_000_000n), true);
    v.setUint32(off + 8, p.data.length, true);
    v.setUint32(off + 12, p.data.length, true);
    buf.set(p.data, off + 16);
    off += 16 + p.data.length;
  }
  return buf;
}
