/**
 * The `spnego` command line: `spnego <command> [options]`.
 * Every failure prints one line on stderr and exits with status 1: no stack traces.
 */
import { describeError } from './error-text.js';

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  decode: async () => (await import('./decode.js')).decodeCommand,
  mic: async () => (await import('./mic.js')).micCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  compare: async () => (await import('./compare.js')).compareCommand,
  'smb-probe': async () => (await import('./smb-probe.js')).smbProbeCommand,
};

function usage(): string {
  return [
    'usage: spnego <command> [options]',
    '',
    'commands:',
    '  decode <base64|hex|@file>   print any SPNEGO / Kerberos / GSS token as JSON',
    '  mic --enctype E --key HEX --seq N [--acceptor] [--acceptor-subkey] <data-hex>',
    '                              print the MIC token (RFC 4121, or RFC 4757 for rc4) in hex',
    '  demo [--brief] [--pcap FILE]  the whole negotiation against an embedded KDC, native and pure, MICs compared;',
    '                              --pcap: the exchanges for Wireshark (FILE) and the demo realm\'s keys (FILE.keytab)',
    '  compare --target SPN [--keytab FILE] [--mechs ms-krb5,krb5,ntlm] [--pcap FILE [--export-keys]]',
    '                              negotiate with each backend pairing in your realm and compare the mechListMICs',
    '  smb-probe //host/IPC$ [--address IP] [--target SPN]  authenticate over SMB 3.1.1 and show the exchange decoded',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`spnego: unknown command "${name}" (try: spnego --help)`);
    return 1;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    console.error(`spnego ${name}: ${describeError(err)}`);
    return 1;
  }
}

/** One line, no stack: the typed error's message, or the plain message of anything else. */
export { describeError };
