/**
 * KerberosFlags helpers (RFC 4120 section 5.2.8): flags are unsigned 32-bit numbers where bit 0
 * is the most significant bit, so bit n is `0x80000000 >>> n`. Names come from the TicketFlags,
 * KdcOptions and ApOptions tables of constants.ts.
 */
import { TicketFlags, KdcOptions, ApOptions } from '../constants.js';
import { UsageError } from '../../errors.js';

export type FlagTable = Record<string, number>;

/** The mask of bit `n` (0 = MSB). */
export const flagBit = (n: number): number => (0x80000000 >>> n) >>> 0;

export function hasFlag(flags: number, bit: number): boolean {
  return ((flags >>> 0) & flagBit(bit)) !== 0;
}

/** Builds a flags value from names of `table` (e.g. ['forwardable', 'renewable']) or bit numbers. */
export function makeFlags(table: FlagTable, names: readonly (string | number)[]): number {
  let v = 0;
  for (const n of names) {
    const bit = typeof n === 'number' ? n : table[n];
    if (bit === undefined || !Number.isInteger(bit) || bit < 0 || bit > 31) throw new UsageError(`unknown flag ${String(n)}`);
    v |= flagBit(bit);
  }
  return v >>> 0;
}

/** Names of the bits set in `flags`; bits missing from the table are named "bit<n>". */
export function flagNames(table: FlagTable, flags: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (!hasFlag(flags, bit)) continue;
    const name = Object.keys(table).find((k) => table[k] === bit);
    out.push(name ?? `bit${bit}`);
  }
  return out;
}

export const ticketFlagNames = (f: number) => flagNames(TicketFlags, f);
export const kdcOptionNames = (f: number) => flagNames(KdcOptions, f);
export const apOptionNames = (f: number) => flagNames(ApOptions, f);
export const makeTicketFlags = (names: readonly (keyof typeof TicketFlags | number)[]) => makeFlags(TicketFlags, names);
export const makeKdcOptions = (names: readonly (keyof typeof KdcOptions | number)[]) => makeFlags(KdcOptions, names);
export const makeApOptions = (names: readonly (keyof typeof ApOptions | number)[]) => makeFlags(ApOptions, names);
