// Flag checks shared by the commands: one message shape for a bad value, one for what node's
// parseArgs rejects.
import { usageError, type SwiftvrError } from '../errors.js';

/** An integer flag (undefined when absent): at least `min`, and at most `max` when given. */
export function intFlag(flag: string, value: string | undefined, min: number, max?: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || (max !== undefined && Number(value) > max)) {
    throw usageError(
      `--${flag} is ${JSON.stringify(value)}; it must be an integer ${max === undefined ? `>= ${min}` : `from ${min} to ${max}`}`,
    );
  }
  return Number(value);
}

/** parseArgs's rejection as a usage error, without its hint about `--`, followed by the usage. */
export const parseFailure = (e: unknown, usage: string): SwiftvrError =>
  usageError(`${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}\n\n${usage}`);
