// Flag parsing shared by `swiftvr worker`, `submit` and `status`.
import { parseArgs } from 'node:util';
import { usageError } from '../errors.js';
import { CLOUD_ENV, type CloudFlag } from '../cloud/config.js';

export interface ParsedCloudArgs {
  readonly values: Partial<Record<CloudFlag, string>>;
  readonly flags: { readonly help: boolean; readonly live: boolean; readonly json: boolean; readonly shards?: string; readonly wait: boolean };
  readonly positionals: readonly string[];
}

export function parseCloudArgs(argv: readonly string[], usage: string, extra: readonly ('live' | 'shards' | 'json' | 'wait')[] = []): ParsedCloudArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const flag of Object.keys(CLOUD_ENV)) options[flag] = { type: 'string' };
  if (extra.includes('live')) options.live = { type: 'boolean' };
  if (extra.includes('shards')) options.shards = { type: 'string' };
  if (extra.includes('json')) options.json = { type: 'boolean' };
  if (extra.includes('wait')) options.wait = { type: 'boolean' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (e) {
    throw usageError(`${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}\n\n${usage}`);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const values: Partial<Record<CloudFlag, string>> = {};
  for (const flag of Object.keys(CLOUD_ENV) as CloudFlag[]) {
    const x = v[flag];
    if (typeof x === 'string') values[flag] = x;
  }
  return {
    values,
    flags: {
      help: v.help === true,
      live: v.live === true,
      json: v.json === true,
      wait: v.wait === true,
      ...(typeof v.shards === 'string' ? { shards: v.shards } : {}),
    },
    positionals: parsed.positionals,
  };
}
