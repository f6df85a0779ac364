/** Reads a token given on the command line as hex, base64 (optionally "Negotiate <b64>") or @file. */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { fromHex } from '../util/bytes.js';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function fromText(text: string): Uint8Array | undefined {
  let t = text.trim().replace(/^(?:WWW-Authenticate|Authorization)\s*:\s*/i, '').replace(/^(?:Negotiate|Kerberos)\s+/i, '');
  t = t.replace(/\s+/g, '');
  if (t.length === 0) return undefined;
  if (HEX.test(t)) return fromHex(t);
  if (B64.test(t) && t.length % 4 !== 1) return new Uint8Array(Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  return undefined;
}

export function readTokenArg(arg: string | undefined): Uint8Array {
  if (arg === undefined || arg === '') throw new UsageError('missing token: give hex, base64 or @file');
  if (arg.startsWith('@')) {
    const path = arg.slice(1);
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    // A file holds either the token's text form (hex/base64) or its raw bytes.
    const asText = /^[\x20-\x7e\r\n\t]*$/.test(raw.toString('latin1')) ? fromText(raw.toString('latin1')) : undefined;
    if (asText) return asText;
    if (raw.length === 0) throw new UsageError(`${path} is empty`);
    return new Uint8Array(raw);
  }
  const bytes = fromText(arg);
  if (!bytes) throw new UsageError('the token is neither hex nor base64');
  return bytes;
}
