/**
 * Router Lambda: EventBridge S3 "Object Created" events -> SQS FIFO segment messages.
 *
 * Bundled by the CDK stack with NodejsFunction (entry `src/cloud/router-lambda.ts`,
 * handler `handler`). Environment:
 *  - `QUEUE_URL`      (required) URL of the SQS FIFO work queue (ends in `.fifo`).
 *  - `SOURCE_PREFIX`  (required, may be empty) key prefix of source playlists, e.g. `input/`.
 *  - `OUTPUT_PREFIX`  (required) key prefix the workers publish under, e.g. `output/`;
 *                     events for keys under it are ignored (our own writes).
 *  - `SWIFTVR_ENDPOINT` (optional) endpoint override for S3, SQS and EventBridge (tests on loopback).
 *  - `SWIFTVR_EVENT_BUS` (optional) EventBridge bus of the job events (docs/events.md); the
 *                     router sends a routed job's SUBMITTED event there.
 *  - `AWS_REGION` is set by Lambda.
 * Permissions: s3:GetObject on the source prefix and output prefix, s3:PutObject on
 * `<OUTPUT_PREFIX>*` (the job record and its events), sqs:SendMessage on the queue,
 * events:PutEvents on the bus.
 * The bucket comes from each event; one event is one playlist write.
 */

import { SwiftvrError } from '../errors.js';
import { makeS3Client, S3ObjectStore } from './object-store/s3-object-store.js';
import { makeSqsClient, SqsQueue } from './queue/sqs-queue.js';
import { routeObjectCreated, type ObjectCreatedEvent, type RouteResult } from './router.js';
import { EventBridgeSink, makeEventBridgeClient, StoreEventSink } from './events.js';
import type { JobMessage } from './jobs.js';

interface RouterEnv {
  readonly queueUrl: string;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly eventBus?: string;
}

/** Reads the environment once per cold start; names the variable that is wrong. */
export function readRouterEnv(env: NodeJS.ProcessEnv): RouterEnv {
  const need = (name: string, allowEmpty = false): string => {
    const v = env[name];
    if (v === undefined || (!allowEmpty && v.trim() === '')) {
      throw new SwiftvrError(
        'usage',
        `environment variable ${name} must be set${allowEmpty ? ' (it may be empty)' : ' to a non-empty value'}`,
      );
    }
    return v.trim();
  };
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') throw new SwiftvrError('usage', 'environment variable AWS_REGION must be set');
  const endpoint = env.SWIFTVR_ENDPOINT?.trim();
  const eventBus = env.SWIFTVR_EVENT_BUS?.trim();
  return Object.freeze({
    ...(eventBus ? { eventBus } : {}),
    queueUrl: need('QUEUE_URL'),
    sourcePrefix: need('SOURCE_PREFIX', true),
    outputPrefix: need('OUTPUT_PREFIX'),
    region,
    ...(endpoint ? { endpoint } : {}),
  });
}

let cached: { env: RouterEnv; queue: SqsQueue<JobMessage>; stores: Map<string, S3ObjectStore>; bus?: EventBridgeSink } | undefined;

export async function handler(event: ObjectCreatedEvent): Promise<RouteResult> {
  if (cached === undefined) {
    const env = readRouterEnv(process.env);
    const clientOpts = { region: env.region, ...(env.endpoint === undefined ? {} : { endpoint: env.endpoint }) };
    cached = {
      env,
      queue: new SqsQueue<JobMessage>({ client: makeSqsClient(clientOpts), queueUrl: env.queueUrl }),
      stores: new Map(),
      ...(env.eventBus === undefined ? {} : { bus: new EventBridgeSink(makeEventBridgeClient(clientOpts), env.eventBus) }),
    };
    cached.stores.set('', new S3ObjectStore({ bucket: '-', client: makeS3Client(clientOpts) }));
  }
  const { env, queue, stores } = cached;
  const bucket = event.detail.bucket.name;
  let store = stores.get(bucket);
  if (store === undefined) {
    store = new S3ObjectStore({ bucket, client: stores.get('')!.client });
    stores.set(bucket, store);
  }
  const log = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));
  const events = new StoreEventSink(store, env.outputPrefix, cached.bus, log);
  const result = await routeObjectCreated(event, { store, queue, sourcePrefix: env.sourcePrefix, outputPrefix: env.outputPrefix, events });
  // One structured line per event, for CloudWatch Logs Insights.
  console.log(JSON.stringify({ event: 'route', ...result }));
  return result;
}
