/** `spnego decode <base64|hex|@file> [--keytab FILE]`: prints a token as JSON. */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { openKeytab } from '../krb5/keytab.js';
import type { Command } from './main.js';
import { describeToken } from './describe.js';
import { readTokenArg } from './input.js';

export const decodeCommand: Command = {
  summary: 'print any SPNEGO, Kerberos or GSS token as JSON',
  usage: [
    'usage: spnego decode <base64|hex|@file> [--keytab FILE]',
    '',
    'Prints the token as JSON: SPNEGO NegTokenInit/Init2/Resp, Kerberos AS/TGS/AP/KRB-ERROR/KRB-CRED,',
    'GSS MIC and Wrap tokens, nested.',
    '',
    '  --keytab FILE   decrypt the tickets with the service keys of FILE (shown under "enc-part-decrypted",',
    '                  with the PAC decoded) and the AP-REQ authenticator with the ticket session key',
    '                  ("authenticator-decrypted"). Key material is never printed.',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv, options: { keytab: { type: 'string' } }, allowPositionals: true, strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one token argument (try: spnego decode --help)');
    const keytab = values.keytab === undefined ? undefined : openKeytab(values.keytab);
    const bytes = readTokenArg(positionals[0]!);
    console.log(JSON.stringify(describeToken(bytes, { keytab }), null, 2));
    return 0;
  },
};
