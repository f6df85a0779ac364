/**
 * The directory of this module, from which the addon's package root is found. This is the ESM
 * source; scripts/build.mjs replaces its CommonJS output with `exports.here = __dirname`.
 */
import { fileURLToPath } from 'node:url';

// @ts-ignore TS1343 under the CommonJS build only: that output is replaced (scripts/build.mjs).
export const here: string = fileURLToPath(new URL('.', import.meta.url));
