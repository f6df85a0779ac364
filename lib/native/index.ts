/**
 * The native backend's loader: the C++ addon over the system GSSAPI (MIT or Heimdal, dlopen'ed) or
 * SSPI. When the addon is absent or fails to load, nativeInfo() says why and the pure backend works.
 */
import { UsageError } from '../errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAddonContext, loadAddon, packageRoot } from './addon.js';
import type { AcceptorOptions, InitiatorOptions, SecurityContext } from '../context.js';
import type { AcquireCredentialsOptions, Credential } from '../credentials.js';
import { acquireNativeCredential } from './credential.js';

export interface NativeInfo {
  /** True when the addon and its security library loaded. */
  loaded: boolean;
  /** 'MIT', 'Heimdal', 'GSS.framework', 'SSPI'. */
  library?: string;
  path?: string;
  version?: string;
  /** Why native is unavailable. */
  error?: string;
  /** Which optional library calls exist (gss_acquire_cred_from, gss_store_cred_into...). */
  features?: Record<string, boolean>;
}

export interface NativeBinding {
  info(library?: string): NativeInfo;
  createContext(role: 'initiator' | 'acceptor', opts: InitiatorOptions | AcceptorOptions): SecurityContext;
  /** One gss_acquire_cred / AcquireCredentialsHandle on the pool; the credential serves many contexts. */
  acquireCredential(o: AcquireCredentialsOptions): Promise<Credential>;
}

let binding: NativeBinding | undefined;
let loadError: string | undefined;
let tried = false;

/** The reason scripts/install.mjs recorded when it could not build the addon. */
function installNote(): string | undefined {
  try {
    const f = join(packageRoot(), 'build', 'native-unavailable.txt');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n')[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Loads the compiled addon once (lazily: importing spnego never touches the system GSSAPI). */
function ensureLoaded(): void {
  if (tried || binding) return;
  tried = true;
  if (process.env.SPNEGO_DISABLE_NATIVE === '1') {
    loadError = 'the native backend is disabled by SPNEGO_DISABLE_NATIVE=1';
    return;
  }
  try {
    const addon = loadAddon();
    binding = {
      info: (library) => addon.info(library),
      createContext: (role, opts) => createAddonContext(addon, role, opts),
      acquireCredential: (o) => acquireNativeCredential(addon, o),
    };
  } catch (e) {
    const why = installNote();
    if (why) {
      loadError = `the native addon was not built at install time: ${why}`;
      return;
    }
    loadError = `the native addon is not built in this installation (${(e as Error).message.split('\n')[0]}); run \`npm rebuild spnego\` with a C++ compiler, or use the pure backend`;
  }
}

/** Registers the addon adapter (lib/native/addon.ts does this when the compiled addon is present). */
export function registerNativeBinding(b: NativeBinding): void {
  binding = b;
}
export function setNativeLoadError(why: string): void {
  loadError = why;
}

export function nativeInfo(library?: string): NativeInfo {
  ensureLoaded();
  if (!binding) return { loaded: false, error: loadError ?? 'the native addon is not built in this installation (no native/ build output); the pure backend is used' };
  return binding.info(library);
}

export function createNativeContext(role: 'initiator' | 'acceptor', opts: InitiatorOptions | AcceptorOptions): SecurityContext {
  ensureLoaded();
  const info = nativeInfo(opts.gssapiLibrary);
  if (!binding || !info.loaded) throw new UsageError(`backend 'native' is not available: ${info.error}`);
  return binding.createContext(role, opts);
}

/** acquireCredentials() for backend 'native' (lib/api.ts dispatches here). */
export function acquireNativeCredentials(o: AcquireCredentialsOptions): Promise<Credential> {
  ensureLoaded();
  const info = nativeInfo(o.gssapiLibrary);
  if (!binding || !info.loaded) return Promise.reject(new UsageError(`backend 'native' is not available: ${info.error}`));
  return binding.acquireCredential(o);
}
