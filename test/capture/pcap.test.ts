// The pcap writer, checked by tshark: sequence and acknowledgment numbers that TCP analysis finds
// nothing wrong with, segments below the MSS, the payload reassembled byte for byte, and checksums
// that tshark verifies (and that it rejects once a byte is flipped, so the claim can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pcapFile, internetChecksum, LINKTYPE_IPV4, type TcpStream } from '../../lib/capture/pcap.js';
import { UsageError } from '../../lib/errors.js';
import { needPeer } from '../peers/harness.js';
import { checkChecksums, expertErrors, fields, malformed, tshark } from './tshark.js';

const dir = mkdtempSync(join(tmpdir(), 'spnego-pcap-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const t0 = new Date('2025-01-02T03:04:05.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
// Port 7 (echo): no dissector above TCP, so the test sees TCP alone.
const stream = (n: number, sizes: number[]): TcpStream => ({
  client: { address: `127.0.1.${n + 1}`, port: 40000 + n },
  server: { address: '127.0.0.9', port: 7 },
  messages: sizes.map((size, i) => ({ from: i % 2 ? 'server' : 'client', data: randomBytes(size), time: at(n * 100 + i * 10) })),
});

test('internetChecksum: the RFC 1071 section 3 example (00 01 f2 03 f4 f5 f6 f7 sums to ddf2)', () => {
  assert.equal(internetChecksum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7)), ~0xddf2 & 0xffff);
  // odd length: the last byte is padded with zero on the right; chunks split anywhere sum the same
  const b = randomBytes(101);
  assert.equal(internetChecksum(b.subarray(0, 37), b.subarray(37)), internetChecksum(b));
  assert.equal(internetChecksum(Uint8Array.of(0xab)), ~0xab00 & 0xffff);
});

test('pcapFile: the classic header (magic a1b2c3d4, 2.4, LINKTYPE_IPV4) and only loopback addresses', () => {
  const f = pcapFile([stream(0, [10])]);
  const v = new DataView(f.buffer, f.byteOffset);
  assert.equal(v.getUint32(0, true), 0xa1b2c3d4);
  assert.equal(v.getUint16(4, true), 2);
  assert.equal(v.getUint16(6, true), 4);
  assert.equal(v.getUint32(20, true), LINKTYPE_IPV4);
  assert.throws(() => pcapFile([{ ...stream(0, [1]), server: { address: '10.0.0.1', port: 80 } }]), (e) => e instanceof UsageError && /127\.0\.0\.0\/8/.test(e.message));
  assert.throws(() => pcapFile([stream(0, [1])], { mss: 10 }), UsageError);
});

test('tshark: handshake, segments at most the MSS, no TCP analysis complaint, both checksums good, the payload reassembled byte for byte', (t) => {
  if (!needPeer(t, 'tshark')) return;
  const mss = 500;
  const streams = [stream(0, [1700, 120, 0, 1001, 999]), stream(1, [3, 2048])];
  const file = join(dir, 'tcp.pcap');
  writeFileSync(file, pcapFile(streams, { mss }));
  assert.equal(malformed(file, checkChecksums), '');
  assert.equal(expertErrors(file, checkChecksums), '');
  const rows = fields(file, 'tcp', ['tcp.stream', 'tcp.flags.str', 'tcp.len', 'tcp.checksum.status', 'ip.checksum.status', 'tcp.options.mss_val', 'tcp.analysis.flags'], checkChecksums);
  assert.ok(rows.length > 20);
  for (const r of rows) {
    assert.deepEqual(r['tcp.checksum.status'], ['1'], 'TCP checksum good');
    assert.deepEqual(r['ip.checksum.status'], ['1'], 'IP checksum good');
    assert.ok(Number(r['tcp.len']![0]) <= mss, `segment of ${r['tcp.len']} bytes > MSS ${mss}`);
    // tcp.analysis.flags: retransmission, lost segment, ACKed unseen segment, out of order... none
    assert.deepEqual(r['tcp.analysis.flags'], [], JSON.stringify(r));
  }
  for (const n of [0, 1]) {
    const own = rows.filter((r) => r['tcp.stream']![0] === String(n)).map((r) => r['tcp.flags.str']![0]!.replace(/[^A-Z]/g, ''));
    assert.deepEqual(own.slice(0, 3), ['S', 'AS', 'A'], 'SYN, SYN-ACK, ACK');
    assert.deepEqual(own.slice(-3), ['AF', 'AF', 'A'], 'FIN-ACK both ways, last ACK');
  }
  assert.deepEqual(rows.filter((r) => r['tcp.options.mss_val']!.length).map((r) => r['tcp.options.mss_val']![0]), ['500', '500', '500', '500']);
  // The bytes each side sent, as tshark reassembles the stream (follow uses the sequence numbers).
  for (const [n, st] of streams.entries()) {
    const out = tshark(['-r', file, '-q', '-z', `follow,tcp,raw,${n}`]);
    const body = out.split('\n').filter((l) => /^\t?[0-9a-f]+$/.test(l));
    const fromClient = body.filter((l) => !l.startsWith('\t')).join('');
    const fromServer = body.filter((l) => l.startsWith('\t')).map((l) => l.slice(1)).join('');
    const want = (side: string) => st.messages.filter((m) => m.from === side).map((m) => Buffer.from(m.data).toString('hex')).join('');
    assert.equal(fromClient, want('client'), `stream ${n}, client bytes`);
    assert.equal(fromServer, want('server'), `stream ${n}, server bytes`);
  }
});

test('tshark: a flipped payload byte is a bad TCP checksum, a flipped IP header byte a bad IP checksum', (t) => {
  if (!needPeer(t, 'tshark')) return;
  const good = pcapFile([stream(0, [300, 40])]);
  // Records: 24-byte file header, then 16-byte record headers; frame 4 is the first data segment.
  const recordOffset = (buf: Uint8Array, frame: number) => {
    const v = new DataView(buf.buffer, buf.byteOffset);
    let off = 24;
    for (let i = 1; i < frame; i++) off += 16 + v.getUint32(off + 8, true);
    return off + 16;
  };
  const payloadFlip = Uint8Array.from(good);
  payloadFlip[recordOffset(good, 4) + 40 + 100]! ^= 0x20;
  const ttlFlip = Uint8Array.from(good);
  ttlFlip[recordOffset(good, 4) + 8]! ^= 0x01;
  const cases = [['good', good], ['payload', payloadFlip], ['ttl', ttlFlip]] as const;
  for (const [name, bytes] of cases) writeFileSync(join(dir, `${name}.pcap`), bytes);
  const status = (name: string, f: string) => fields(join(dir, `${name}.pcap`), 'tcp', ['frame.number', f], checkChecksums).filter((r) => r[f]![0] !== '1').map((r) => r['frame.number']![0]);
  assert.deepEqual(status('good', 'tcp.checksum.status'), []);
  assert.deepEqual(status('good', 'ip.checksum.status'), []);
  assert.equal(expertErrors(join(dir, 'good.pcap'), checkChecksums), '');
  assert.deepEqual(status('payload', 'tcp.checksum.status'), ['4'], 'the flipped payload byte breaks frame 4\'s TCP checksum');
  assert.deepEqual(status('payload', 'ip.checksum.status'), [], 'the IP header checksum does not cover the payload');
  assert.match(expertErrors(join(dir, 'payload.pcap'), checkChecksums), /Bad checksum/i);
  assert.deepEqual(status('ttl', 'ip.checksum.status'), ['4'], 'the flipped TTL breaks frame 4\'s IP checksum');
  assert.match(expertErrors(join(dir, 'ttl.pcap'), checkChecksums), /Bad checksum/i);
});
