// Cloud configuration from flags and environment, read once at start into a frozen object.
// Flags win over environment variables; every message names the flag, its variable and the rule.

import { existsSync } from 'node:fs';
import { SwiftvrError } from '../errors.js';
import { sidecarPath } from '../inference/model-contract.js';
import type { ExecutionProvider } from '../types.js';
import type { EncoderChoice } from '../pipeline/segment-step.js';
import type { JobMessage } from './jobs.js';
import { FsObjectStore } from './object-store/fs-object-store.js';
import type { ObjectStore } from './object-store/object-store.js';
import { makeS3Client, S3ObjectStore } from './object-store/s3-object-store.js';
import type { ConsumeOptions, JobQueue } from './queue/job-queue.js';
import { MemoryQueue } from './queue/memory-queue.js';
import { makeSqsClient, SqsQueue } from './queue/sqs-queue.js';

export type StoreConfig =
  { readonly kind: 's3'; readonly bucket: string } | { readonly kind: 'fs'; readonly dir: string; readonly bucket: string };

export type QueueConfig = { readonly kind: 'sqs'; readonly url: string } | { readonly kind: 'memory' };

export interface CloudConfig {
  readonly store: StoreConfig;
  readonly queue: QueueConfig;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  readonly region: string;
  readonly endpoint?: string;
  /** EventBridge bus the job events go to (`default`, a name or an ARN); none: events stay in the store. */
  readonly eventBus?: string;
  /** The instance type the workers run on (its price makes the cost); `local`: this machine's CPU. */
  readonly instanceType: string;
  /** A price table replacing the shipped one (src/estimate/prices.json). */
  readonly prices?: string;
}

export interface WorkerConfig extends CloudConfig {
  readonly model: string;
  readonly ep: ExecutionProvider | 'auto';
  readonly intraOpThreads?: number;
  readonly chunkFrames?: number;
  readonly encoder: EncoderChoice;
  readonly consume: ConsumeOptions;
  readonly liveWindow: number;
  readonly livePollMs: number;
  readonly liveIdleTimeoutMs: number;
  /** Live: seconds from a source segment appearing to its restored one being listed. @default the target duration */
  readonly liveLatencyBudgetSeconds?: number;
  readonly workerId?: string;
}

/** Flag name -> environment variable, and the help text shared by the cloud commands. */
export const CLOUD_ENV = {
  'queue-url': 'SWIFTVR_QUEUE_URL',
  bucket: 'SWIFTVR_BUCKET',
  'store-dir': 'SWIFTVR_STORE_DIR',
  'source-prefix': 'SWIFTVR_SOURCE_PREFIX',
  'output-prefix': 'SWIFTVR_OUTPUT_PREFIX',
  region: 'AWS_REGION',
  endpoint: 'SWIFTVR_ENDPOINT',
  model: 'SWIFTVR_MODEL',
  ep: 'SWIFTVR_EP',
  threads: 'SWIFTVR_THREADS',
  'chunk-frames': 'SWIFTVR_CHUNK_FRAMES',
  encoder: 'SWIFTVR_ENCODER',
  concurrency: 'SWIFTVR_CONCURRENCY',
  'visibility-timeout': 'SWIFTVR_VISIBILITY_TIMEOUT',
  heartbeat: 'SWIFTVR_HEARTBEAT',
  'handler-timeout': 'SWIFTVR_HANDLER_TIMEOUT',
  'wait-time': 'SWIFTVR_WAIT_TIME',
  'live-window': 'SWIFTVR_LIVE_WINDOW',
  'live-poll': 'SWIFTVR_LIVE_POLL',
  'live-idle-timeout': 'SWIFTVR_LIVE_IDLE_TIMEOUT',
  'latency-budget': 'SWIFTVR_LATENCY_BUDGET',
  'worker-id': 'SWIFTVR_WORKER_ID',
  'event-bus': 'SWIFTVR_EVENT_BUS',
  'instance-type': 'SWIFTVR_INSTANCE_TYPE',
  prices: 'SWIFTVR_PRICES',
} as const;

export type CloudFlag = keyof typeof CLOUD_ENV;

/**
 * The worker's liveness file: with the first variable set, `swiftvr worker` touches that file while
 * its event loop runs; the container health check (containers/healthcheck.mjs) fails when it is
 * older than the second (seconds).
 */
export const HEARTBEAT_ENV = { file: 'SWIFTVR_HEARTBEAT_FILE', maxAgeSeconds: 'SWIFTVR_HEARTBEAT_MAX_AGE_S' } as const;

export const CLOUD_OPTIONS_HELP = `  --bucket <name>           S3 bucket of sources and outputs            (SWIFTVR_BUCKET)
  --store-dir <dir>         or: a local folder as the store (embedded)   (SWIFTVR_STORE_DIR)
  --queue-url <url>         SQS FIFO queue URL; without it, an in-process queue (SWIFTVR_QUEUE_URL)
  --source-prefix <p>       key prefix of source playlists (default: none) (SWIFTVR_SOURCE_PREFIX)
  --output-prefix <p>       key prefix of outputs (default: output/)     (SWIFTVR_OUTPUT_PREFIX)
  --region <r>              AWS region (default: us-east-1)              (AWS_REGION)
  --endpoint <url>          S3/SQS/EventBridge endpoint override, e.g. a local moto (SWIFTVR_ENDPOINT)
  --event-bus <name|arn>    EventBridge bus for the job events (docs/events.md): default, a bus
                            name or ARN; without it events are kept in the store only (SWIFTVR_EVENT_BUS)
  --instance-type <t>       instance type the workers run on, priced by the price table; local:
                            this machine's CPU, unpriced; imds: the worker asks the EC2 instance
                            metadata service (default: local) (SWIFTVR_INSTANCE_TYPE)
  --prices <file>           price table replacing src/estimate/prices.json (SWIFTVR_PRICES)

  AWS credentials come from the SDK's usual chain (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY,
  AWS_PROFILE, or a task role). A local endpoint such as moto needs them too: any dummy pair,
  e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test.`;

export const WORKER_OPTIONS_HELP = `  --model <onnx>            model with its JSON sidecar (required)        (SWIFTVR_MODEL)
  --ep cpu|cuda|auto        execution provider (default: auto)           (SWIFTVR_EP)
  --threads <N>             onnxruntime intra-op threads (default: 0 = all cores) (SWIFTVR_THREADS)
  --chunk-frames <N>        frames per model call (default: the model's t_max) (SWIFTVR_CHUNK_FRAMES)
  --encoder <name>          libx264, h264_nvenc or auto (default: auto)  (SWIFTVR_ENCODER)
  --concurrency <N>         messages handled at once (default: 1)        (SWIFTVR_CONCURRENCY)
  --visibility-timeout <s>  seconds a message stays hidden, renewed by the heartbeat; a killed
                            worker's stream resumes elsewhere after this (default: 30) (SWIFTVR_VISIBILITY_TIMEOUT)
  --heartbeat <s>           visibility extension period (default: a third of it, at most 10) (SWIFTVR_HEARTBEAT)
  --handler-timeout <s>     longest a message may run (default: 21600; live follows run long) (SWIFTVR_HANDLER_TIMEOUT)
  --wait-time <s>           SQS long-poll wait, 0..20 (default: 20)      (SWIFTVR_WAIT_TIME)
  --live-window <N>         segments in live renditions, >= 6 (default: 6) (SWIFTVR_LIVE_WINDOW)
  --live-poll <ms>          live source re-read period (default: 1000)   (SWIFTVR_LIVE_POLL)
  --live-idle-timeout <s>   fail a live follow after this long without a new segment (default: 120) (SWIFTVR_LIVE_IDLE_TIMEOUT)
  --latency-budget <s>      live: seconds from a source segment appearing to its restored one being
                            listed; a segment that would miss it is published as a marked plain
                            upscale (default: the stream's target duration) (SWIFTVR_LATENCY_BUDGET)
  --worker-id <name>        name in metrics and error records (default: host:pid) (SWIFTVR_WORKER_ID)`;

type Values = Partial<Record<CloudFlag, string | undefined>>;

const usage = (m: string): SwiftvrError => new SwiftvrError('usage', m);

/** The value of a flag, else its environment variable, trimmed; undefined when neither is set. */
function pick(values: Values, env: NodeJS.ProcessEnv, flag: CloudFlag): { value: string; from: string } | undefined {
  const v = values[flag];
  if (v !== undefined) return { value: v.trim(), from: `--${flag}` };
  const e = env[CLOUD_ENV[flag]];
  if (e !== undefined && e.trim() !== '') return { value: e.trim(), from: CLOUD_ENV[flag] };
  return undefined;
}

function intOf(values: Values, env: NodeJS.ProcessEnv, flag: CloudFlag, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const p = pick(values, env, flag);
  if (p === undefined) return dflt;
  if (!/^\d+$/.test(p.value) || Number(p.value) < min || Number(p.value) > max) {
    throw usage(
      `${p.from} is ${JSON.stringify(p.value)}; it must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any size' : max}`,
    );
  }
  return Number(p.value);
}

function prefixOf(values: Values, env: NodeJS.ProcessEnv, flag: CloudFlag, dflt: string): string {
  const p = pick(values, env, flag);
  const v = p?.value ?? dflt;
  if (v.split('/').some((part) => part === '..' || part === '.') || v.startsWith('/')) {
    throw usage(`${p?.from ?? `--${flag}`} is ${JSON.stringify(v)}; a key prefix must not start with / or hold . or .. parts`);
  }
  return v === '' ? '' : v.endsWith('/') ? v : `${v}/`;
}

/** Store, queue, prefixes, region and endpoint: what every cloud command needs. */
export function readCloudConfig(values: Values, env: NodeJS.ProcessEnv, opts: { bucketFromInput?: string } = {}): CloudConfig {
  const bucket = pick(values, env, 'bucket');
  const dir = pick(values, env, 'store-dir');
  if (bucket !== undefined && dir !== undefined) {
    throw usage(`${bucket.from} and ${dir.from} are both set; the store is either an S3 bucket or a local folder`);
  }
  let store: StoreConfig;
  if (dir !== undefined) {
    store = { kind: 'fs', dir: dir.value, bucket: opts.bucketFromInput ?? 'local' };
  } else {
    const name = bucket?.value ?? opts.bucketFromInput;
    if (name === undefined)
      throw usage('the store is not set: give --bucket <name> (SWIFTVR_BUCKET) or --store-dir <dir> (SWIFTVR_STORE_DIR)');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
      throw usage(`bucket ${JSON.stringify(name)} is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
    }
    if (opts.bucketFromInput !== undefined && opts.bucketFromInput !== name) {
      throw usage(`the input names bucket ${opts.bucketFromInput} but ${bucket?.from} is ${name}; sources and outputs share one bucket`);
    }
    store = { kind: 's3', bucket: name };
  }
  const url = pick(values, env, 'queue-url');
  if (url !== undefined && !/^https?:\/\/.+\.fifo$/.test(url.value)) {
    throw usage(`${url.from} is ${JSON.stringify(url.value)}; it must be the http(s) URL of an SQS FIFO queue (ending in .fifo)`);
  }
  const endpoint = pick(values, env, 'endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint.value)) {
    throw usage(
      `${endpoint.from} is ${JSON.stringify(endpoint.value)}; it must be an http(s) URL with no path, e.g. http://127.0.0.1:5000`,
    );
  }
  const bus = pick(values, env, 'event-bus');
  if (bus !== undefined && !/^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[A-Za-z0-9._\-/]{1,256}$/.test(bus.value)) {
    throw usage(
      `${bus.from} is ${JSON.stringify(bus.value)}; it must be default, an event bus name (letters, digits, . _ - /) or an event bus ARN`,
    );
  }
  const instanceType = pick(values, env, 'instance-type');
  if (
    instanceType !== undefined &&
    !['local', 'imds'].includes(instanceType.value) &&
    !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType.value)
  ) {
    throw usage(`${instanceType.from} is ${JSON.stringify(instanceType.value)}; it must be local, imds or an instance type like g5.xlarge`);
  }
  const prices = pick(values, env, 'prices');
  const region = pick(values, env, 'region')?.value ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw usage(`region ${JSON.stringify(region)} is not an AWS region name like us-east-1`);
  return {
    store,
    queue: url === undefined ? { kind: 'memory' } : { kind: 'sqs', url: url.value },
    sourcePrefix: prefixOf(values, env, 'source-prefix', ''),
    outputPrefix: prefixOf(values, env, 'output-prefix', 'output/'),
    region,
    ...(endpoint === undefined ? {} : { endpoint: endpoint.value.replace(/\/$/, '') }),
    ...(bus === undefined ? {} : { eventBus: bus.value }),
    instanceType: instanceType?.value ?? 'local',
    ...(prices === undefined ? {} : { prices: prices.value }),
  };
}

/** The worker's whole configuration, validated and frozen. */
export function readWorkerConfig(
  values: Values,
  env: NodeJS.ProcessEnv,
  opts: { requireQueue: boolean; bucketFromInput?: string },
): WorkerConfig {
  const cloud = readCloudConfig(values, env, opts.bucketFromInput === undefined ? {} : { bucketFromInput: opts.bucketFromInput });
  if (opts.requireQueue && cloud.queue.kind !== 'sqs') {
    throw usage('the worker needs a queue: give --queue-url <SQS FIFO URL> (SWIFTVR_QUEUE_URL)');
  }
  const model = pick(values, env, 'model');
  if (model === undefined) throw usage('--model <onnx> (SWIFTVR_MODEL) is required');
  if (!existsSync(model.value)) throw new SwiftvrError('missing-dependency', `${model.from} names ${model.value}, which does not exist`);
  if (!existsSync(sidecarPath(model.value))) {
    throw new SwiftvrError(
      'missing-dependency',
      `${model.from} names ${model.value}, but its sidecar ${sidecarPath(model.value)} does not exist`,
    );
  }
  const ep = pick(values, env, 'ep')?.value ?? 'auto';
  if (ep !== 'cpu' && ep !== 'cuda' && ep !== 'auto')
    throw usage(`--ep (SWIFTVR_EP) is ${JSON.stringify(ep)}; it must be cpu, cuda or auto`);
  const encoder = pick(values, env, 'encoder')?.value ?? 'auto';
  if (encoder !== 'libx264' && encoder !== 'h264_nvenc' && encoder !== 'auto') {
    throw usage(`--encoder (SWIFTVR_ENCODER) is ${JSON.stringify(encoder)}; it must be libx264, h264_nvenc or auto`);
  }
  // Short, and kept up by the heartbeat while work runs: a killed worker's message is visible
  // again within `visibility` seconds, so its stream resumes on another worker that soon.
  const visibility = intOf(values, env, 'visibility-timeout', 30, 1, 43_200);
  const heartbeat = intOf(values, env, 'heartbeat', Math.min(10, Math.max(1, Math.floor(visibility / 3))), 1);
  if (heartbeat >= visibility) {
    throw usage(
      `heartbeat (${heartbeat} s) must be less than visibility-timeout (${visibility} s), or messages reappear while still being worked on`,
    );
  }
  const threads = pick(values, env, 'threads') === undefined ? undefined : intOf(values, env, 'threads', 0, 0, 256);
  const chunkFrames = pick(values, env, 'chunk-frames') === undefined ? undefined : intOf(values, env, 'chunk-frames', 1, 1, 1024);
  const workerId = pick(values, env, 'worker-id')?.value;
  const budget = pick(values, env, 'latency-budget');
  if (budget !== undefined && !(/^\d+(\.\d+)?$/.test(budget.value) && Number(budget.value) > 0 && Number(budget.value) <= 3600)) {
    throw usage(`${budget.from} is ${JSON.stringify(budget.value)}; it must be a number of seconds above 0 and at most 3600`);
  }
  const config: WorkerConfig = {
    ...cloud,
    model: model.value,
    ep,
    ...(threads === undefined ? {} : { intraOpThreads: threads }),
    ...(chunkFrames === undefined ? {} : { chunkFrames }),
    encoder,
    consume: Object.freeze({
      concurrency: intOf(values, env, 'concurrency', 1, 1, 64),
      visibilityTimeoutSeconds: visibility,
      heartbeatSeconds: heartbeat,
      handlerTimeoutMs: intOf(values, env, 'handler-timeout', 21_600, 1) * 1000,
      waitTimeSeconds: intOf(values, env, 'wait-time', 20, 0, 20),
    }),
    liveWindow: intOf(values, env, 'live-window', 6, 6, 10_000),
    livePollMs: intOf(values, env, 'live-poll', 1000, 50, 600_000),
    liveIdleTimeoutMs: intOf(values, env, 'live-idle-timeout', 120, 1) * 1000,
    ...(budget === undefined ? {} : { liveLatencyBudgetSeconds: Number(budget.value) }),
    ...(workerId === undefined ? {} : { workerId }),
  };
  return Object.freeze(config);
}

/** Builds the store the configuration names. */
export function openStore(c: CloudConfig): ObjectStore {
  if (c.store.kind === 'fs') return new FsObjectStore(c.store.dir, { bucket: c.store.bucket });
  return new S3ObjectStore({
    bucket: c.store.bucket,
    client: makeS3Client({ region: c.region, ...(c.endpoint === undefined ? {} : { endpoint: c.endpoint }) }),
  });
}

/** Builds the queue the configuration names (an in-process one when no URL is given). */
export function openQueue(c: CloudConfig, memoryMaxReceives = 3): JobQueue<JobMessage> {
  if (c.queue.kind === 'memory') return new MemoryQueue<JobMessage>({ maxReceives: memoryMaxReceives });
  return new SqsQueue<JobMessage>({
    client: makeSqsClient({ region: c.region, ...(c.endpoint === undefined ? {} : { endpoint: c.endpoint }) }),
    queueUrl: c.queue.url,
  });
}
