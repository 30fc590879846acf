// `swiftvr estimate <input>`: duration, frames and output size of a job, then compute seconds,
// wall time and cost per instance type, from measured frames/s only (src/estimate/measured.json)
// and the price table (src/estimate/prices.json, or --prices). Nothing is restored.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { explainCloudError } from '../cloud/aws-errors.js';
import { CLOUD_ENV, openStore, readCloudConfig, type CloudFlag } from '../cloud/config.js';
import { parseS3Input } from '../cloud/submit.js';
import { readStoredPlan } from '../cloud/source.js';
import { SwiftvrError, usageError } from '../errors.js';
import { estimateWithModel, formatEstimate, type JobEstimate } from '../estimate/estimate.js';
import { factsOfPlan, factsOfVideoFile } from '../estimate/input-facts.js';
import { priceTable } from '../estimate/tables.js';
import { readSourcePlan } from '../hls/playlist-reader.js';
import { DEFAULT_CRF } from '../media/encoder.js';
import { prepareInput } from '../pipeline/input.js';
import { whereOf } from './cloud-args.js';
import { intFlag, parseFailure } from './flags.js';
import type { CliIo, Command } from './command.js';
import { defaultModelPath } from './package-root.js';

export const ESTIMATE_USAGE = `usage: swiftvr estimate <input> [options]

Says before a job runs what it will take: duration, frames and output size, then for the local
CPU and each priced instance type the frames/s, compute seconds, wall time and cost. Frames/s
come only from measurements (src/estimate/measured.json: hardware, date, command each); an
instance type without one is listed as not measured. A live stream is estimated per hour.

  <input>              HLS playlist (a path, an http(s) URL or s3://bucket/key.m3u8) or a
                       plain video file
  --model <onnx>       model the job will use (default: models/swiftvr-x2.onnx)
  --crf <N>            output quality the job will use (default: ${DEFAULT_CRF})
  --shards <N>         VOD shards restored in parallel, one worker each (default: 1)
  --variant <V>        variant of a multivariant input: index, URI or WxH (default: highest BANDWIDTH)
  --allow-host <host>  also accept segment URIs on this host (repeatable)
  --prices <file>      price table replacing src/estimate/prices.json (SWIFTVR_PRICES)
  --json               print the estimate as one JSON object
  -h, --help           show this help

  An s3:// input is read with the cloud options of \`swiftvr submit\` (--endpoint, --region, ...).`;

/** The estimate of `input` as the CLI makes it (also used by `swiftvr submit`). */
export async function estimateInput(o: {
  readonly input: string;
  readonly model: string;
  readonly crf: number;
  readonly shards: number;
  readonly variant?: number | string;
  readonly allowedHosts: readonly string[];
  readonly prices?: string;
  readonly cloud?: Partial<Record<CloudFlag, string>>;
  readonly signal: AbortSignal;
}): Promise<JobEstimate> {
  const prices = priceTable(o.prices ?? process.env.SWIFTVR_PRICES);
  let facts;
  if (o.input.startsWith('s3://')) {
    const { bucket, key } = parseS3Input(o.input);
    const config = readCloudConfig(o.cloud ?? {}, process.env, { bucketFromInput: bucket });
    const store = openStore(config);
    facts = await (async () => factsOfPlan(await readStoredPlan(store, key, o.signal), o.input, o.signal))().catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
  } else {
    // A plain video file is probed as it is; a playlist (path or URL) is planned like a restore's.
    const prepared = /^[a-z][a-z0-9+.-]*:\/\//i.test(o.input) ? undefined : await prepareInput(o.input, '', o.signal, { cut: false });
    if (prepared?.kind === 'video') {
      facts = await factsOfVideoFile(prepared.playlist, o.input, o.signal);
    } else {
      const plan = await readSourcePlan(prepared?.playlist ?? o.input, {
        ...(o.variant === undefined ? {} : { variant: o.variant }),
        allowedHosts: o.allowedHosts,
        signal: o.signal,
      });
      facts = await factsOfPlan(plan, o.input, o.signal);
    }
  }
  return estimateWithModel(facts, o.model, { crf: o.crf, shards: o.shards, prices });
}

export const estimateCommand: Command = {
  usage: ESTIMATE_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
      crf: { type: 'string' },
      shards: { type: 'string' },
      variant: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    };
    for (const flag of Object.keys(CLOUD_ENV)) options[flag] = { type: 'string' };
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
    } catch (e) {
      throw parseFailure(e, ESTIMATE_USAGE);
    }
    const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
    if (v.help === true) {
      io.stdout.write(`${ESTIMATE_USAGE}\n`);
      return 0;
    }
    if (parsed.positionals.length !== 1)
      throw usageError(`estimate takes exactly one <input>; got ${parsed.positionals.length}\n\n${ESTIMATE_USAGE}`);
    const model = typeof v.model === 'string' ? v.model : defaultModelPath();
    if (!existsSync(model))
      throw new SwiftvrError(typeof v.model === 'string' ? 'bad-input' : 'missing-dependency', `--model ${model} does not exist`);
    const variantText = typeof v.variant === 'string' ? v.variant : undefined;
    const cloud: Partial<Record<CloudFlag, string>> = {};
    for (const flag of Object.keys(CLOUD_ENV) as CloudFlag[]) if (typeof v[flag] === 'string') cloud[flag] = v[flag];
    const estimate = await estimateInput({
      input: parsed.positionals[0]!,
      model,
      crf: intFlag('crf', v.crf as string | undefined, 0, 51) ?? DEFAULT_CRF,
      shards: intFlag('shards', v.shards as string | undefined, 1, 1000) ?? 1,
      ...(variantText === undefined ? {} : { variant: /^\d+$/.test(variantText) ? Number(variantText) : variantText }),
      allowedHosts: (v['allow-host'] as string[] | undefined) ?? [],
      ...(typeof v.prices === 'string' ? { prices: v.prices } : {}),
      cloud,
      signal: io.signal,
    });
    io.stdout.write(v.json === true ? `${JSON.stringify(estimate)}\n` : `${formatEstimate(estimate)}\n`);
    return 0;
  },
};
