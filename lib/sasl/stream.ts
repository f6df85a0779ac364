/**
 * SaslStream: a Duplex that replaces the socket once a SASL security layer is in force. What is
 * written to it leaves as frames (length + Wrap token); what the socket receives comes out as
 * plaintext. A bad frame (oversize, malformed, failing its integrity check, signed-only on a sealed
 * layer) destroys both this stream and the socket with the typed error: nothing after it is read.
 */
import { Duplex } from 'node:stream';
import type { SaslFraming } from './framing.js';
import { DecodeError } from '../errors.js';

export class SaslStream extends Duplex {
  readonly socket: Duplex;
  private readonly framing: SaslFraming;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onError: (e: Error) => void;
  private readonly onClose: () => void;

  constructor(socket: Duplex, framing: SaslFraming) {
    super();
    this.socket = socket;
    this.framing = framing;
    this.onData = (chunk) => {
      let plain: Uint8Array[];
      try {
        plain = this.framing.push(chunk);
      } catch (e) {
        this.destroy(e as Error);
        return;
      }
      for (const p of plain) if (!this.push(Buffer.from(p.buffer, p.byteOffset, p.length))) socket.pause();
    };
    this.onEnd = () => {
      // A connection that ends in the middle of a frame lost data: say so rather than end quietly.
      if (this.framing.pending) this.destroy(new DecodeError('SASL.frame', `the connection ended inside a frame (${this.framing.pending} octets held)`));
      else this.push(null);
    };
    this.onError = (e) => this.destroy(e);
    this.onClose = () => {
      if (!this.destroyed && !this.readableEnded) this.onEnd();
    };
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    let frames: Uint8Array[];
    try {
      frames = this.framing.encode(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (frames.length === 0) return cb();
    for (let i = 0; i < frames.length - 1; i++) this.socket.write(frames[i]);
    this.socket.write(frames[frames.length - 1], (e) => cb(e ?? null));
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.socket.destroy();
    cb(err);
  }
}
