/**
 * Native credentials: one gss_acquire_cred (RFC 2743 2.1.1; gss_acquire_cred_from on MIT) or
 * AcquireCredentialsHandle on the libuv pool, then many contexts from the handle
 * (native/gss/credential.cc, native/sspi/credential.cc). The handle never leaves C++; contexts
 * made from it hold it alive, so dispose() while they run is safe.
 */
import { UsageError } from '../errors.js';
import { type AcquireCredentialsOptions, type Credential, type CredentialInfo, pureOnlyOptions } from '../credentials.js';
import type { Addon, AddonCredential } from './addon.js';
import { addonError, describeLibrary, refuseForeignKrb5Config } from './addon.js';

export class NativeCredential implements Credential {
  readonly backend = 'native' as const;
  readonly info: CredentialInfo;
  #handle: AddonCredential | undefined;

  constructor(
    handle: AddonCredential,
    info: CredentialInfo,
    /** The `gssapiLibrary` option it was acquired with: contexts must name the same library. */
    readonly gssapiLibrary: string | undefined,
    readonly allowWeakCrypto: boolean,
    /** Accept: where delegated credentials go (a ccache name). */
    readonly delegatedCcache: string | undefined,
  ) {
    this.#handle = handle;
    this.info = info;
  }

  get usage(): 'initiate' | 'accept' {
    return this.info.usage;
  }
  get disposed(): boolean {
    return this.#handle === undefined;
  }

  /** The addon's handle, for createAddonContext; UsageError once disposed. */
  handle(): AddonCredential {
    if (!this.#handle) throw new UsageError('the credential was disposed: acquire a new one with acquireCredentials()');
    return this.#handle;
  }

  /** Drops this object's hold on the handle; contexts still running keep theirs (the addon frees it with the last). */
  dispose(): void {
    const h = this.#handle;
    this.#handle = undefined;
    h?.dispose();
  }
}

/** Whether x is a credential of this backend (as opposed to a pure one or an option form). */
export function isNativeCredential(x: unknown): x is NativeCredential {
  return x instanceof NativeCredential;
}

/** acquireCredentials() for the native backend: the options checked, then one acquisition on the pool. */
export async function acquireNativeCredential(addon: Addon, o: AcquireCredentialsOptions): Promise<Credential> {
  const lib = addon.info(o.gssapiLibrary);
  if (!lib.loaded) throw new UsageError(`backend 'native' is not available: ${lib.error}`);
  refuseForeignKrb5Config(o.krb5Config);
  const opts: Record<string, unknown> = { library: o.gssapiLibrary ?? '', usage: o.usage, allowWeakCrypto: o.allowWeakCrypto === true };
  let delegatedCcache: string | undefined;
  const [refused] = pureOnlyOptions(o);
  if (refused) throw new UsageError(`${refused.option} applies to the pure backend only; ${refused.why}: leave ${refused.option} unset or use backend: 'pure'`);
  if (o.usage === 'initiate') {
    const c = o.credentials;
    if (c && 'ccache' in c) opts.ccache = c.ccache;
    else if (c && 'password' in c) Object.assign(opts, { principal: c.principal, password: c.password });
    else if (c && 'keytab' in c) Object.assign(opts, { principal: c.principal, clientKeytab: c.keytab });
  } else if (o.usage === 'accept') {
    if (o.keytab) opts.keytab = o.keytab;
    if (o.principal) opts.principal = o.principal;
    if (o.delegatedCcache) delegatedCcache = o.delegatedCcache.includes(':') ? o.delegatedCcache : `FILE:${o.delegatedCcache}`;
  } else {
    throw new UsageError(`acquireCredentials: usage must be 'initiate' or 'accept', not ${JSON.stringify((o as { usage?: unknown }).usage)}`);
  }
  const library = describeLibrary(lib);
  let handle: AddonCredential;
  try {
    handle = await addon.acquireCredential(opts);
  } catch (e) {
    throw addonError(e, library);
  } finally {
    delete opts.password;
  }
  const d = handle.info();
  const info: CredentialInfo = { usage: o.usage, backend: 'native', library };
  if (d.principal) info.principal = d.principal;
  // gss_inquire_cred's lifetime is the seconds left (GSS_C_INDEFINITE: unknown, e.g. an acceptor's keys).
  if (o.usage === 'initiate' && d.lifetime !== 0xffffffff) info.expiresAt = new Date(Date.now() + d.lifetime * 1000);
  return new NativeCredential(handle, Object.freeze(info), o.gssapiLibrary, o.allowWeakCrypto === true, delegatedCcache);
}
