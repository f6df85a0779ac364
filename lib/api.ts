/**
 * createInitiator / createAcceptor: one API over both backends. backend 'auto' takes native when
 * the addon and a GSSAPI/SSPI library load, else pure; ctx.info.backend says which ran.
 */
import { UsageError } from './errors.js';
import type { AcceptorOptions, Backend, InitiatorOptions, SecurityContext } from './context.js';
import { createNativeContext, nativeInfo } from './native/index.js';
import { createPureAcceptor, createPureInitiator } from './pure/index.js';

function pickBackend(choice: InitiatorOptions['backend'], library?: string): Backend {
  const b = choice ?? 'auto';
  if (b === 'pure' || b === 'native') return b;
  if (b !== 'auto') throw new UsageError(`backend must be 'auto', 'native' or 'pure', not '${String(b)}'`);
  return nativeInfo(library).loaded ? 'native' : 'pure';
}

function checkMech(m: unknown): void {
  if (m !== undefined && m !== 'spnego' && m !== 'kerberos') throw new UsageError(`mech must be 'spnego' or 'kerberos', not '${String(m)}'`);
}

export function createInitiator(opts: InitiatorOptions): SecurityContext {
  if (!opts || typeof opts.target !== 'string' || !opts.target) throw new UsageError('createInitiator needs { target: "HTTP@host" | "HTTP/host@REALM" }');
  checkMech(opts.mech);
  return pickBackend(opts.backend, opts.gssapiLibrary) === 'native' ? createNativeContext('initiator', opts) : createPureInitiator(opts);
}

export function createAcceptor(opts: AcceptorOptions = {}): SecurityContext {
  checkMech(opts.mech);
  return pickBackend(opts.backend, opts.gssapiLibrary) === 'native' ? createNativeContext('acceptor', opts) : createPureAcceptor(opts);
}
