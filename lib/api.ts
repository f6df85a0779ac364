/**
 * createInitiator / createAcceptor: one API over both backends. backend 'auto' takes native when
 * the addon and a GSSAPI/SSPI library load, else pure; ctx.info.backend says which ran.
 */
import { UsageError } from './errors.js';
import type { AcceptorOptions, Backend, InitiatorOptions, SecurityContext } from './context.js';
import { createNativeContext, nativeInfo } from './native/index.js';
import { createPureAcceptor, createPureInitiator } from './pure/index.js';

function pickBackend(choice: InitiatorOptions['backend'], library?: string, krb5Config?: string): Backend {
  const b = choice ?? 'auto';
  if (b === 'pure' || b === 'native') return b;
  if (b !== 'auto') throw new UsageError(`backend must be 'auto', 'native' or 'pure', not '${String(b)}'`);
  // A krb5.conf other than KRB5_CONFIG can only be honoured by the pure backend.
  if (krb5Config && krb5Config !== process.env.KRB5_CONFIG) return 'pure';
  return nativeInfo(library).loaded ? 'native' : 'pure';
}

function checkMech(m: unknown): void {
  if (m !== undefined && m !== 'spnego' && m !== 'kerberos') throw new UsageError(`mech must be 'spnego' or 'kerberos', not '${String(m)}'`);
}

export function createInitiator(opts: InitiatorOptions): SecurityContext {
  if (!opts || typeof opts.target !== 'string' || !opts.target) throw new UsageError('createInitiator needs { target: "HTTP@host" | "HTTP/host@REALM" }');
  checkMech(opts.mech);
  const ctx = pickBackend(opts.backend, opts.gssapiLibrary, opts.krb5Config) === 'native' ? createNativeContext('initiator', opts) : createPureInitiator(opts);
  return opts.recorder ? opts.recorder.watch(ctx) : ctx;
}

export function createAcceptor(opts: AcceptorOptions = {}): SecurityContext {
  checkMech(opts.mech);
  const ctx = pickBackend(opts.backend, opts.gssapiLibrary) === 'native' ? createNativeContext('acceptor', opts) : createPureAcceptor(opts);
  return opts.recorder ? opts.recorder.watch(ctx) : ctx;
}
