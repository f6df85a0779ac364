/** `spnego decode <base64|hex|@file> `: prints a token as JSON. */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { Command } from './main.js';
import { describeToken } from './describe.js';
import { readTokenArg } from './input.js';

export const decodeCommand: Command = {
  summary: 'print any SPNEGO, Kerberos or GSS token as JSON',
  usage: [
    'usage: spnego decode <base64|hex|@file> ',
    '',
    'Prints the token as JSON: SPNEGO NegTokenInit/Init2/Resp, Kerberos AS/TGS/AP/KRB-ERROR/KRB-CRED,',
    'GSS MIC and Wrap tokens, nested.',
  ].join('\n'),
  async run(argv) {
    const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new UsageError('expected exactly one token argument (try: spnego decode --help)');
    const bytes = readTokenArg(positionals[0]);
    console.log(JSON.stringify(describeToken(bytes), null, 2));
    return 0;
  },
};
