/** Throwing RFC 4120 section 7.5.9 errors by code, with the registry name filled in. */
import { KerberosError } from '../errors.js';
import { errorCodeName } from './constants.js';

export function kerberosError(code: number, message: string, eText?: string, cause?: unknown): KerberosError {
  return new KerberosError(code, errorCodeName(code), message, eText, cause === undefined ? undefined : { cause });
}
