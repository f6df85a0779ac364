/** One line for an error, as the CLI prints it: typed errors by their message, others by their first line. */
import { SpnegoError } from '../errors.js';

export function describeError(err: unknown): string {
  if (err instanceof SpnegoError) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0]!;
  return String(err);
}
