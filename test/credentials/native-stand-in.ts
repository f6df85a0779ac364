// For tests of how options choose and are refused by the native backend, on machines with and
// without the built addon.
import assert from 'node:assert/strict';
import type { Addon } from '../../lib/native/addon.js';
import { acquireNativeCredential } from '../../lib/native/credential.js';
import { nativeInfo, registerNativeBinding } from '../../lib/native/index.js';

/**
 * Runs `fn` while the native backend says it loaded: the real addon when it loads here, else a
 * stand-in wired as lib/native/index.ts wires the real one (the same option checks in
 * acquireNativeCredential), which fails loudly if an acquisition ever reaches a GSSAPI library.
 */
export async function withNativeLoaded<T>(fn: () => Promise<T>): Promise<T> {
  const fake = !nativeInfo().loaded;
  if (fake) {
    const addon = {
      info: () => ({ loaded: true, library: 'MIT' }),
      GssContext: class {},
      acquireCredential: () => Promise.reject(new Error('the fake GSSAPI library was reached')),
    } as unknown as Addon;
    registerNativeBinding({ info: addon.info, createContext: () => assert.fail('no context here'), acquireCredential: (o) => acquireNativeCredential(addon, o) });
  }
  try {
    return await fn();
  } finally {
    if (fake) registerNativeBinding(undefined as never);
  }
}
