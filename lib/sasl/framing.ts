/**
 * The SASL security layer's framing (RFC 4752 3.3, RFC 4422 3.7): each buffer is a 4-octet
 * big-endian length followed by a Wrap token. Sans-I/O: encode() turns plaintext into frames that
 * respect the peer's max buffer; decoder push() turns received bytes into plaintext and refuses an
 * oversize or malformed frame (the connection must then be closed: nothing after it is read).
 */
import { DecodeError, IntegrityError, UsageError } from '../errors.js';
import { concatBytes, readUint32BE } from '../util/bytes.js';
import type { SecurityContext } from '../context.js';

export interface FramingOptions {
  /** Seal (true) or sign only (false); a received frame must match. */
  confidentiality: boolean;
  /** The largest Wrap token the peer accepts. */
  maxSend: number;
  /** The largest Wrap token we accept. */
  maxReceive: number;
}

/**
 * Room left for the Wrap token's own bytes when cutting plaintext: RFC 4121 (16-octet header,
 * 16-octet encrypted header copy, confounder, checksum up to 24 octets) and RFC 4757 (GSS framing,
 * 32-octet token, confounder, padding) both stay well below it.
 */
const WRAP_ALLOWANCE = 128;

export class SaslFraming {
  private readonly ctx: SecurityContext;
  readonly confidentiality: boolean;
  readonly maxSend: number;
  readonly maxReceive: number;
  private chunks: Uint8Array[] = [];
  private held = 0;
  private broken = false;

  constructor(ctx: SecurityContext, o: FramingOptions) {
    if (!Number.isInteger(o.maxSend) || o.maxSend <= WRAP_ALLOWANCE) throw new UsageError(`the peer's max buffer (${o.maxSend}) leaves no room for data after a Wrap token's ${WRAP_ALLOWANCE} octets`);
    if (!Number.isInteger(o.maxReceive) || o.maxReceive < 1) throw new UsageError('maxReceive must be a positive integer');
    this.ctx = ctx;
    this.confidentiality = o.confidentiality;
    this.maxSend = o.maxSend;
    this.maxReceive = o.maxReceive;
  }

  /** The largest plaintext put in one frame. */
  get maxPlaintext(): number {
    return this.maxSend - WRAP_ALLOWANCE;
  }

  /** Frames (length + Wrap token) for `data`, cut so that no token exceeds the peer's max buffer. */
  encode(data: Uint8Array): Uint8Array[] {
    this.check();
    const frames: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += this.maxPlaintext) {
      const token = this.ctx.wrap(data.subarray(off, off + this.maxPlaintext), { encrypt: this.confidentiality });
      if (token.length > this.maxSend) {
        this.broken = true;
        throw new UsageError(`a Wrap token of ${token.length} octets exceeds the peer's max buffer ${this.maxSend}: not sent`);
      }
      const f = new Uint8Array(4 + token.length);
      new DataView(f.buffer).setUint32(0, token.length);
      f.set(token, 4);
      frames.push(f);
    }
    return frames;
  }

  /** Bytes received: the plaintext of every complete frame, in order. Throws on a bad frame and stays failed. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.check();
    try {
      if (chunk.length) {
        this.chunks.push(chunk.slice());
        this.held += chunk.length;
      }
      const out: Uint8Array[] = [];
      while (this.held >= 4) {
        const head = this.peek(4);
        const len = readUint32BE(head, 0);
        // Checked on the header, before buffering the body: an oversize frame is never read.
        if (len > this.maxReceive) throw new DecodeError('SASL.frame.length', `a frame of ${len} octets exceeds our max buffer ${this.maxReceive}`);
        if (len === 0) throw new DecodeError('SASL.frame.length', 'an empty frame carries no Wrap token');
        if (this.held < 4 + len) break;
        const token = this.take(4 + len).subarray(4);
        const r = this.ctx.unwrap(token);
        // A sealed layer accepts only sealed frames: a signed-only one would be a downgrade.
        if (this.confidentiality && !r.encrypted) throw new IntegrityError('a frame arrived signed but not sealed on a confidentiality layer');
        out.push(r.message);
      }
      return out;
    } catch (e) {
      this.broken = true;
      this.chunks = [];
      this.held = 0;
      throw e;
    }
  }

  /** Octets of an incomplete frame held. */
  get pending(): number {
    return this.held;
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0]!.length < n) this.chunks = [concatBytes(...this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Uint8Array {
    if (this.chunks[0]!.length < n) this.chunks = [concatBytes(...this.chunks)];
    const first = this.chunks[0]!;
    const r = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.held -= n;
    return r;
  }

  private check(): void {
    if (this.broken) throw new UsageError('this SASL layer failed earlier: the connection must be closed');
  }
}

