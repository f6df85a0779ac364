/**
 * Test helper: takes a valid DER encoding and produces malformed variants that a strict DER
 * decoder must reject: every TLV in turn with a non-minimal length, with the indefinite form,
 * plus every truncation and a trailing byte. Written independently of lib/ (a tiny parser of its
 * own) so the tests do not trust the code under test.
 */
interface T {
  tag: number;
  kids?: T[];
  content?: Uint8Array;
}

function parse(b: Uint8Array, off: number, end: number): { t: T; next: number } {
  const tag = b[off]!;
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  const stop = p + len;
  if (stop > end) throw new Error('helper: bad input');
  if (tag & 0x20) {
    const kids: T[] = [];
    for (let q = p; q < stop; ) {
      const r = parse(b, q, stop);
      kids.push(r.t);
      q = r.next;
    }
    return { t: { tag, kids }, next: stop };
  }
  return { t: { tag, content: b.subarray(p, stop) }, next: stop };
}

function lenBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

type Mode = { index: number; kind: 'long' | 'indefinite' };

function serialize(t: T, mode: Mode, counter: { i: number }): number[] {
  const me = counter.i++;
  const body = t.kids ? t.kids.flatMap((k) => serialize(k, mode, counter)) : [...t.content!];
  if (me === mode.index) {
    if (mode.kind === 'indefinite') return [t.tag, 0x80, ...body, 0, 0];
    const l = lenBytes(body.length);
    // one extra leading zero length octet: valid BER, not DER
    const long = l.length === 1 ? [0x81, body.length] : [l[0]! + 1, 0, ...l.slice(1)];
    return [t.tag, ...long, ...body];
  }
  return [t.tag, ...lenBytes(body.length), ...body];
}

function count(t: T): number {
  return 1 + (t.kids ?? []).reduce((s, k) => s + count(k), 0);
}

/** Non-minimal and indefinite length variants, one per TLV of the input. */
export function lengthVariants(der: Uint8Array): { what: string; bytes: Uint8Array }[] {
  const { t } = parse(der, 0, der.length);
  const out: { what: string; bytes: Uint8Array }[] = [];
  const n = count(t);
  for (let i = 0; i < n; i++) {
    for (const kind of ['long', 'indefinite'] as const) {
      // BER long form of a length < 128 with 0x81 is non-minimal; indefinite only for constructed
      const bytes = Uint8Array.from(serialize(t, { index: i, kind }, { i: 0 }));
      out.push({ what: `${kind} length at TLV #${i}`, bytes });
    }
  }
  return out;
}

/** All strict prefixes and the input plus one trailing byte. */
export function truncationsAndTrailing(der: Uint8Array): { what: string; bytes: Uint8Array }[] {
  const out: { what: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < der.length; i++) out.push({ what: `truncated to ${i} bytes`, bytes: der.subarray(0, i) });
  const t = new Uint8Array(der.length + 1);
  t.set(der);
  out.push({ what: 'one trailing byte', bytes: t });
  return out;
}
