/**
 * createInitiator / createAcceptor / acquireCredentials: one API over both backends. backend 'auto'
 * takes native when the addon and a GSSAPI/SSPI library load, else pure; ctx.info.backend says which
 * ran. A Credential belongs to one backend: 'auto' with a credential means the credential's backend.
 */
import { UsageError } from './errors.js';
import type { AcceptorOptions, Backend, BackendChoice, InitiatorOptions, SecurityContext } from './context.js';
import { type AcquireCredentialsOptions, type Credential, isCredential, pureOnlyOptions } from './credentials.js';
import * as native from './native/index.js';
import { createPureAcceptor, createPureInitiator } from './pure/index.js';
import { acquirePureCredential } from './pure/credentials.js';

function pickBackend(choice: BackendChoice | undefined, library?: string, krb5Config?: string, pureOnly = false): Backend {
  const b = choice ?? 'auto';
  if (b === 'pure' || b === 'native') return b;
  if (b !== 'auto') throw new UsageError(`backend must be 'auto', 'native' or 'pure', not '${String(b)}'`);
  // The ntlm option (and raw mech 'ntlm') are the pure backend's; native NTLM is gss-ntlmssp's, configured outside.
  if (pureOnly) return 'pure';
  // A krb5.conf other than KRB5_CONFIG can only be honoured by the pure backend.
  if (krb5Config && krb5Config !== process.env.KRB5_CONFIG) return 'pure';
  return native.nativeInfo(library).loaded ? 'native' : 'pure';
}

function checkMech(m: unknown): void {
  if (m !== undefined && m !== 'spnego' && m !== 'kerberos' && m !== 'ntlm') throw new UsageError(`mech must be 'spnego', 'kerberos' or 'ntlm', not '${String(m)}'`);
}

/**
 * The backend a context runs on when it is given a Credential: the credential's. Refuses a
 * credential of the other usage, of a backend other than the one asked for, or disposed.
 */
function credentialBackend(cred: Credential, usage: 'initiate' | 'accept', choice: BackendChoice | undefined): Backend {
  const fn = usage === 'initiate' ? 'createInitiator' : 'createAcceptor';
  if (cred.usage !== usage) throw new UsageError(`${fn} needs a credential acquired with usage '${usage}', not '${cred.usage}'`);
  if (choice !== undefined && choice !== 'auto' && choice !== cred.backend) {
    throw new UsageError(`${fn}: backend '${choice}' was asked for with a ${cred.backend} credential: acquire it with backend '${choice}', or leave backend out`);
  }
  if (cred.disposed) throw new UsageError(`${fn}: the credential was disposed: acquire a new one`);
  return cred.backend;
}

export function createInitiator(opts: InitiatorOptions): SecurityContext {
  if (!opts || typeof opts.target !== 'string' || !opts.target) throw new UsageError('createInitiator needs { target: "HTTP@host" | "HTTP/host@REALM" }');
  checkMech(opts.mech);
  const backend = isCredential(opts.credentials)
    ? credentialBackend(opts.credentials, 'initiate', opts.backend)
    : pickBackend(opts.backend, opts.gssapiLibrary, opts.krb5Config, !!opts.ntlm || opts.mech === 'ntlm');
  const ctx = backend === 'native' ? native.createNativeContext('initiator', opts) : createPureInitiator(opts);
  return opts.recorder ? opts.recorder.watch(ctx) : ctx;
}

export function createAcceptor(opts: AcceptorOptions = {}): SecurityContext {
  checkMech(opts.mech);
  if (opts.credentials !== undefined && !isCredential(opts.credentials)) {
    throw new UsageError('createAcceptor: credentials must be a Credential from acquireCredentials({ usage: \'accept\' }) (or leave it out and pass keytab/principal)');
  }
  const backend = opts.credentials
    ? credentialBackend(opts.credentials, 'accept', opts.backend)
    : pickBackend(opts.backend, opts.gssapiLibrary, undefined, !!opts.ntlm || opts.mech === 'ntlm');
  const ctx = backend === 'native' ? native.createNativeContext('acceptor', opts) : createPureAcceptor(opts);
  return opts.recorder ? opts.recorder.watch(ctx) : ctx;
}

/**
 * Acquires a credential once (gss_acquire_cred, RFC 2743 2.1.1; AcquireCredentialsHandle) for many
 * contexts: createInitiator({ credentials: cred, target }) / createAcceptor({ credentials: cred }).
 * The backend is chosen as createInitiator/createAcceptor choose it. Call cred.dispose() when done.
 */
export async function acquireCredentials(o: AcquireCredentialsOptions): Promise<Credential> {
  if (!o || (o.usage !== 'initiate' && o.usage !== 'accept')) {
    throw new UsageError(`acquireCredentials needs { usage: 'initiate' | 'accept' }, not ${JSON.stringify((o as { usage?: unknown } | undefined)?.usage)}`);
  }
  const backend = pickBackend(o.backend, o.gssapiLibrary, o.krb5Config, pureOnlyOptions(o).length > 0);
  if (backend === 'pure') return acquirePureCredential(o);
  return native.acquireNativeCredentials(o);
}
