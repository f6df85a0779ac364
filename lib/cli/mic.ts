/**
 * `spnego mic --enctype <n|name> --key <hex> --seq <n> [--acceptor] [--acceptor-subkey] <data-hex>`:
 * prints the MIC token (RFC 4121, or RFC 4757 for rc4) in hex, to cross-check a mechListMIC
 * against another implementation.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { EncType } from '../krb5/constants.js';
import { getEncType } from '../krb5/crypto/index.js';
import { getMic } from '../krb5/gss/mic.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { Command } from './main.js';

function parseEnctype(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const key = s.replace(/-/g, '_') as keyof typeof EncType;
  const n = EncType[key];
  if (n === undefined) throw new UsageError(`unknown enctype "${s}" (e.g. 18 or aes256-cts-hmac-sha1-96)`);
  return n;
}

function hexArg(name: string, v: string | undefined): Uint8Array {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  try {
    return fromHex(v);
  } catch {
    throw new UsageError(`--${name} is not hex`);
  }
}

export const micCommand: Command = {
  summary: 'print the MIC token for a key, sequence number and data',
  usage: [
    'usage: spnego mic --enctype <number|name> --key <hex> --seq <n> [--acceptor] [--acceptor-subkey] <data-hex>',
    '',
    '--acceptor         the token is sent by the acceptor (flag SentByAcceptor, key usage 23; else 25)',
    '--acceptor-subkey  the key is the acceptor subkey (flag AcceptorSubkey)',
    'rc4-hmac (23) gives the RFC 4757 token format.',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        enctype: { type: 'string' },
        key: { type: 'string' },
        seq: { type: 'string' },
        acceptor: { type: 'boolean', default: false },
        'acceptor-subkey': { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected the data as one hex argument');
    if (values.enctype === undefined) throw new UsageError('--enctype is required');
    const enctype = parseEnctype(values.enctype);
    const profile = getEncType(enctype, { allowWeak: true });
    const key = hexArg('key', values.key);
    if (key.length !== profile.keyBytes) throw new UsageError(`${profile.name} keys are ${profile.keyBytes} bytes, --key has ${key.length}`);
    if (values.seq === undefined || !/^\d+$/.test(values.seq) || BigInt(values.seq) >= 2n ** 64n) throw new UsageError('--seq must be an unsigned 64-bit integer');
    const data = positionals[0] === '' ? new Uint8Array(0) : hexArg('data', positionals[0]);
    const token = getMic({ key: { enctype, keyvalue: key }, seqNumber: BigInt(values.seq), fromAcceptor: values.acceptor!, acceptorSubkey: values['acceptor-subkey']! }, data);
    console.log(toHex(token));
    return 0;
  },
};
