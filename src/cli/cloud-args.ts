// Flag parsing shared by `swiftvr worker`, `submit` and `status`.
import { parseArgs } from 'node:util';
import { parseFailure } from './flags.js';
import type { CloudWhere } from '../cloud/aws-errors.js';
import { CLOUD_ENV, type CloudConfig, type CloudFlag, type WorkerConfig } from '../cloud/config.js';
import type { JobMessage } from '../cloud/jobs.js';
import type { ObjectStore } from '../cloud/object-store/object-store.js';
import type { ConsumeOptions, JobQueue } from '../cloud/queue/job-queue.js';
import type { WorkerLog } from '../cloud/worker/worker-events.js';
import { Worker, type WorkerOptions } from '../cloud/worker/worker.js';
import { estimateWithModel } from '../estimate/estimate.js';
import { factsOfPlan } from '../estimate/input-facts.js';
import { priceTable } from '../estimate/tables.js';
import { DEFAULT_CRF } from '../media/encoder.js';
import { EventBridgeSink, makeEventBridgeClient } from '../cloud/events.js';
import { openRestorer } from '../inference/restorer.js';

export interface ParsedCloudArgs {
  readonly values: Partial<Record<CloudFlag, string>>;
  readonly flags: {
    readonly help: boolean;
    readonly live: boolean;
    readonly json: boolean;
    readonly shards?: string;
    readonly wait: boolean;
    readonly gap: boolean;
  };
  readonly positionals: readonly string[];
}

export function parseCloudArgs(
  argv: readonly string[],
  usage: string,
  extra: readonly ('live' | 'shards' | 'json' | 'wait' | 'gap')[] = [],
): ParsedCloudArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const flag of Object.keys(CLOUD_ENV)) options[flag] = { type: 'string' };
  if (extra.includes('live')) options.live = { type: 'boolean' };
  if (extra.includes('shards')) options.shards = { type: 'string' };
  if (extra.includes('json')) options.json = { type: 'boolean' };
  if (extra.includes('wait')) options.wait = { type: 'boolean' };
  if (extra.includes('gap')) options.gap = { type: 'boolean' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (e) {
    throw parseFailure(e, usage);
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
      gap: v.gap === true,
      ...(typeof v.shards === 'string' ? { shards: v.shards } : {}),
    },
    positionals: parsed.positionals,
  };
}

/** The worker a `WorkerConfig` describes, on the given store and queue. */
export function workerOf(
  config: WorkerConfig,
  o: { readonly store: ObjectStore; readonly queue: JobQueue<JobMessage>; readonly log: WorkerLog; readonly consume?: ConsumeOptions },
): Worker {
  return new Worker({
    store: o.store,
    queue: o.queue,
    openRestorer: () =>
      openRestorer(config.model, {
        ep: config.ep,
        ...(config.intraOpThreads === undefined ? {} : { intraOpThreads: config.intraOpThreads }),
        ...(config.chunkFrames === undefined ? {} : { chunkFrames: config.chunkFrames }),
      }),
    sourcePrefix: config.sourcePrefix,
    outputPrefix: config.outputPrefix,
    consume: o.consume ?? config.consume,
    liveWindow: config.liveWindow,
    livePollMs: config.livePollMs,
    liveIdleTimeoutMs: config.liveIdleTimeoutMs,
    ...(config.liveLatencyBudgetSeconds === undefined ? {} : { liveLatencyBudgetSeconds: config.liveLatencyBudgetSeconds }),
    encoder: config.encoder,
    ...(config.workerId === undefined ? {} : { workerId: config.workerId }),
    log: o.log,
    ...(process.env.ECS_AGENT_URI ? { ecsAgentUri: process.env.ECS_AGENT_URI } : {}),
    ...pricingOf(config),
    ...(config.eventBus === undefined
      ? {}
      : {
          events: new EventBridgeSink(
            makeEventBridgeClient({ region: config.region, ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }) }),
            config.eventBus,
          ),
        }),
  });
}

/** The workers' instance type and price, and the estimator that makes each new job's estimate. */
function pricingOf(config: WorkerConfig): Pick<WorkerOptions, 'instanceType' | 'pricePerHour' | 'estimate'> {
  const prices = priceTable(config.prices);
  const price = prices.instances[config.instanceType];
  return {
    instanceType: config.instanceType,
    ...(price === undefined ? {} : { pricePerHour: price.perHour }),
    estimate: async (plan, sourceKey, shards, signal) => {
      return estimateWithModel(await factsOfPlan(plan, sourceKey, signal), config.model, { crf: DEFAULT_CRF, shards, prices });
    },
  };
}

/** What a configuration points at, for error messages. */
export function whereOf(c: CloudConfig): CloudWhere {
  return {
    ...(c.queue.kind === 'sqs' ? { queueUrl: c.queue.url } : {}),
    bucket: c.store.bucket,
    region: c.region,
    ...(c.endpoint === undefined ? {} : { endpoint: c.endpoint }),
  };
}
