// Submitting a job: a `vod` or `live` message in the job's own FIFO group. Submitting the same
// source again within the deduplication window is dropped; after it, the worker skips what is done.

import { badInput } from '../errors.js';
import { locationFromInput } from '../hls/uri-policy.js';
import { jobIdOf, type JobMessage } from './jobs.js';
import type { JobEstimate } from '../estimate/estimate.js';
import type { JobQueue } from './queue/job-queue.js';

export interface SubmitRequest {
  /** `s3://bucket/key.m3u8` */
  readonly input: string;
  readonly live: boolean;
  readonly shards: number;
  /** The estimate made at submit (kept in the job record). */
  readonly estimate?: JobEstimate;
}

export function parseS3Input(input: string): { bucket: string; key: string } {
  const loc = locationFromInput(input);
  if (loc.kind !== 's3') throw badInput(`input ${input} must be an s3://bucket/key.m3u8 URL`, { uri: input });
  return { bucket: loc.bucket, key: loc.key };
}

export function jobMessageOf(req: SubmitRequest, sourcePrefix: string): JobMessage {
  const { key } = parseS3Input(req.input);
  const job = jobIdOf(key, sourcePrefix);
  if (!Number.isInteger(req.shards) || req.shards < 1) throw badInput(`--shards is ${req.shards}; it must be an integer >= 1`);
  if (req.live && req.shards !== 1) throw badInput(`--shards ${req.shards} with --live: a live stream is restored in order by one worker`);
  const estimate = req.estimate === undefined ? {} : { estimate: req.estimate };
  return req.live
    ? { type: 'live', job, sourceKey: key, ...estimate }
    : { type: 'vod', job, sourceKey: key, shards: req.shards, ...estimate };
}

export async function submitJob(queue: JobQueue<JobMessage>, message: JobMessage): Promise<void> {
  if (message.type === 'segment') throw badInput('segment messages are sent by the router and by vod fan-out, not submitted');
  const shards = message.type === 'vod' ? message.shards : 1;
  await queue.send(message, { group: `${message.job}#${message.type}`, dedupId: `submit:${message.type}:${message.job}:${shards}` });
}
