// Queue messages and the object layout of a cloud job. A job restores one stream; its id is
// the source playlist key without the source prefix and the `.m3u8` suffix, so submitting
// the same source twice names the same job (and the second submit is harmless).
//
// Output layout, all under `<outputPrefix>/<job>/`:
//   job.json                  the job record (source, mode, shards, segment count)
//   restored/seg_<sn>.<ext>   restored segments, deterministic keys, created once
//   restored/media.m3u8       the upscaled rendition (VOD: written once complete; live: sliding window)
//   index.m3u8                the source multivariant plus the upscaled variant (when the source had one)
//   state/<sn>.bin            carried-state checkpoint after segment sn, tagged STATE_TAG
//   segments/<sn>.json        per-segment metrics of the attempt that published it
//   errors/<sn>-<attempt>.json one record per failed attempt
//   fallbacks/<sn>.json       live: a segment published as a plain upscale, and why
//   done/shard-<i>            VOD: written once every segment of shard i is stored

import { describeIssues } from '../util/zod-issues.js';
import { z } from 'zod';
import { badInput, SwiftvrError } from '../errors.js';
import type { ContainerKind } from '../types.js';
import { jobEstimateSchema } from '../estimate/estimate.js';
import { outputInitName, outputSegmentName } from '../hls/output-names.js';
import { joinKey } from './object-store/object-store.js';

// Every message and record read back from the queue or the store is untrusted: parsed by these
// schemas at the edge (a malformed one names the field and the rule), typed inside.
const nonEmpty = z.string().min(1, 'must be a non-empty string');
const sn = z.number().int('must be an integer').min(0, 'must be >= 0');
const byteRange = z.object({ offset: z.number().int().min(0), length: z.number().int().min(1) });

const segmentSpecSchema = z.object({
  sn,
  /** Object key of the segment in the bucket. */
  key: nonEmpty,
  byteRange: byteRange.optional(),
  duration: z.number().gt(0, 'must be a number > 0').lt(86_400, 'must be under a day'),
  discontinuity: z.boolean(),
  discontinuitySequence: sn,
  /** ISO 8601, from EXT-X-PROGRAM-DATE-TIME. */
  programDateTime: z.iso.datetime({ offset: true }).optional(),
  /** Object key of the EXT-X-MAP init section (fMP4). */
  mapKey: nonEmpty.optional(),
});

const streamSpecSchema = z.object({
  job: nonEmpty,
  /** Key of the media playlist restored. */
  mediaKey: nonEmpty,
  container: z.enum(['ts', 'fmp4']),
  /** EXT-X-TARGETDURATION of the source; the output keeps it. 0 is valid: every segment under 0.5 s (RFC 8216 §4.3.3.1). */
  targetDuration: z.number().int().min(0),
  mode: z.enum(['vod', 'live']),
});

const shardSpecSchema = z
  .object({ index: z.number().int().min(0), count: z.number().int().min(1), first: sn, last: sn })
  .refine((s) => s.index < s.count, { message: 'index must be below count' })
  .refine((s) => s.first <= s.last, { message: 'first must not be after last' });

export const jobMessageSchema = z.discriminatedUnion('type', [
  /** Restore a whole VOD playlist: the worker fans it out into segment messages. */
  /** `estimate`: the one `swiftvr submit` made and printed; the job record keeps it. */
  z.object({
    type: z.literal('vod'),
    job: nonEmpty,
    sourceKey: nonEmpty,
    shards: z.number().int().min(1).max(1000),
    estimate: jobEstimateSchema.optional(),
  }),
  /** Follow a live playlist until EXT-X-ENDLIST, restoring segments as they appear. */
  z.object({ type: z.literal('live'), job: nonEmpty, sourceKey: nonEmpty, estimate: jobEstimateSchema.optional() }),
  /** Restore one segment; segments of one group arrive in order. */
  z.object({
    type: z.literal('segment'),
    stream: streamSpecSchema,
    segment: segmentSpecSchema,
    /** The segment before, to warm the state on when no checkpoint exists. */
    prev: segmentSpecSchema.optional(),
    /** VOD: the contiguous run of segments this one belongs to (the whole stream when unsharded). */
    shard: shardSpecSchema.optional(),
    /** The source playlist had EXT-X-ENDLIST and this is its last segment. */
    last: z.boolean(),
    /**
     * VOD: the source segment is unrecoverable; publish it as an EXT-X-GAP entry instead of
     * restoring it (sent by `swiftvr redrive --gap`).
     */
    gap: z.literal(true).optional(),
  }),
]);

/** What `status` and the publisher need to know about a job; written once at submit/route time. */
export const jobRecordSchema = z.object({
  job: nonEmpty,
  sourceKey: nonEmpty,
  mediaKey: nonEmpty,
  /** The source multivariant playlist, when the job was submitted with one. */
  multivariantKey: nonEmpty.optional(),
  container: z.enum(['ts', 'fmp4']),
  targetDuration: z.number().int().min(0),
  mode: z.enum(['vod', 'live']),
  shards: z.number().int().min(1),
  /** VOD: every source segment, for the final playlist. */
  segments: z.array(segmentSpecSchema).optional(),
  createdAt: z.iso.datetime(),
  /** The estimate made when the job was created (`swiftvr estimate`'s figures for its source). */
  estimate: jobEstimateSchema.optional(),
});

/** One source segment as a worker needs it, carried in the message so no re-read is needed. */
export type SegmentSpec = Readonly<z.infer<typeof segmentSpecSchema>>;
/** What every segment message repeats about its stream. */
export type StreamSpec = Readonly<z.infer<typeof streamSpecSchema>>;
export type ShardSpec = Readonly<z.infer<typeof shardSpecSchema>>;
export type JobMessage = Readonly<z.infer<typeof jobMessageSchema>>;
export type JobRecord = Readonly<z.infer<typeof jobRecordSchema>>;

export { describeIssues };

export type SegmentMessage = Extract<JobMessage, { type: 'segment' }>;

/** Job id of a source playlist key: the key without source prefix and `.m3u8`. */
export function jobIdOf(sourceKey: string, sourcePrefix: string): string {
  const prefix = joinKey(sourcePrefix);
  const key = joinKey(sourceKey);
  if (prefix !== '' && !key.startsWith(`${prefix}/`)) {
    throw badInput(`source ${key} must be inside the source prefix ${prefix}/`, { uri: key });
  }
  if (!key.endsWith('.m3u8')) throw badInput(`source ${key} must be a playlist ending in .m3u8`, { uri: key });
  const id = key.slice(prefix === '' ? 0 : prefix.length + 1, -'.m3u8'.length);
  if (!/^[A-Za-z0-9._\-/]+$/.test(id)) {
    throw badInput(`job id ${JSON.stringify(id)} (from ${key}) may hold only letters, digits and . _ - /`, { uri: key });
  }
  return id;
}

/**
 * Tag on every state checkpoint. Checkpoints sit inside each job's folder (job ids hold '/'),
 * so no key prefix selects them all; the CDK storage construct's lifecycle rule expires
 * objects with this tag (cdk/lib/storage.ts imports it from here).
 */
export const STATE_TAG = { key: 'swiftvr-kind', value: 'state' } as const;

const pad = (sn: number): string => String(sn).padStart(6, '0');

/** Keys of one job's outputs. */
export class JobLayout {
  readonly root: string;
  constructor(
    outputPrefix: string,
    readonly job: string,
  ) {
    this.root = joinKey(outputPrefix, job);
  }
  get record(): string {
    return joinKey(this.root, 'job.json');
  }
  get rendition(): string {
    return joinKey(this.root, 'restored', 'media.m3u8');
  }
  get multivariant(): string {
    return joinKey(this.root, 'index.m3u8');
  }
  /** The quality report (report.json, and report.csv beside it). */
  get report(): string {
    return joinKey(this.root, 'report.json');
  }
  get reportCsv(): string {
    return joinKey(this.root, 'report.csv');
  }
  segment(sn: number, container: ContainerKind): string {
    return joinKey(this.root, 'restored', outputSegmentName(sn, container));
  }
  /** fMP4 output init section: one per discontinuity sequence (the picture size may change there). */
  init(discontinuitySequence: number): string {
    return joinKey(this.root, 'restored', outputInitName(discontinuitySequence));
  }
  checkpoint(sn: number): string {
    return joinKey(this.root, 'state', `${pad(sn)}.bin`);
  }
  metrics(sn: number): string {
    return joinKey(this.root, 'segments', `${pad(sn)}.json`);
  }
  get metricsPrefix(): string {
    return joinKey(this.root, 'segments') + '/';
  }
  error(sn: number, attempt: number): string {
    return joinKey(this.root, 'errors', `${pad(sn)}-${attempt}.json`);
  }
  /** Live: the record of a segment published as a plain upscale, and why. */
  fallback(sn: number): string {
    return joinKey(this.root, 'fallbacks', `${pad(sn)}.json`);
  }
  get fallbacksPrefix(): string {
    return joinKey(this.root, 'fallbacks') + '/';
  }
  /** VOD: marker of a segment published as an EXT-X-GAP entry. */
  gap(sn: number): string {
    return joinKey(this.root, 'gaps', `${pad(sn)}.json`);
  }
  get gapsPrefix(): string {
    return joinKey(this.root, 'gaps') + '/';
  }
  get errorsPrefix(): string {
    return joinKey(this.root, 'errors') + '/';
  }
  get restoredPrefix(): string {
    return joinKey(this.root, 'restored') + '/';
  }
  /** VOD: marker created once every segment of shard `index` is stored. */
  shardDone(index: number): string {
    return joinKey(this.root, 'done', `shard-${pad(index)}`);
  }
  get shardsDonePrefix(): string {
    return joinKey(this.root, 'done') + '/';
  }
  /** Where a job-level failure (no segment) is recorded. */
  jobError(attempt: number): string {
    return joinKey(this.root, 'errors', `job-${attempt}.json`);
  }
  /** A shard's progress counter (segments, frames, fallbacks, gaps counted once each). */
  progressShard(index: number): string {
    return joinKey(this.root, 'progress', `shard-${pad(index)}.json`);
  }
  /** An event sent, by its id (`<job>:<TYPE>[:<seq>]`): a repeat of it is not sent again. */
  event(id: string): string {
    const tail = id.startsWith(`${this.job}:`) ? id.slice(this.job.length + 1) : id;
    return joinKey(this.root, 'events', `${tail.replace(/[^A-Za-z0-9+_.-]/g, '_')}.json`);
  }
  get eventsPrefix(): string {
    return joinKey(this.root, 'events') + '/';
  }
  /** The job's cancel record (who, when, why), created once by `swiftvr cancel`. */
  get cancel(): string {
    return joinKey(this.root, 'cancel.json');
  }
}

/** FIFO group of a segment message: the stream, or the stream's shard. */
export const groupOf = (m: SegmentMessage): string =>
  m.shard === undefined || m.shard.count === 1 ? m.stream.job : `${m.stream.job}#${m.shard.index}`;

/**
 * Deduplication id: the same segment (stream, sn, source key) is one message. The closing
 * message (`last`) differs, so the news that the source ended is never dropped as a repeat.
 */
export const dedupOf = (m: SegmentMessage): string => `${m.stream.job}:${m.segment.sn}:${m.segment.key}${m.last ? ':last' : ''}`;

/** Parses and checks a message body; a malformed one is bad input naming the field and the rule. */
export function parseJobMessage(body: unknown): JobMessage {
  const r = jobMessageSchema.safeParse(body);
  if (r.success) return r.data;
  throw new SwiftvrError(
    'bad-input',
    `queue message rejected: ${describeIssues(r.error)} (message: ${JSON.stringify(body)?.slice(0, 160)})`,
  );
}

/** Parses a job record read back from the store. */
export function parseJobRecord(body: unknown, where: string): JobRecord {
  const r = jobRecordSchema.safeParse(body);
  if (r.success) return r.data;
  throw new SwiftvrError('internal', `job record ${where} is malformed: ${describeIssues(r.error)}`);
}

/**
 * The segment messages of one stream, in send order. With `shards` > 1 the segments split
 * into that many contiguous runs of nearly equal length, each its own FIFO group; every
 * message carries the segment before it (across shard seams too) for warming.
 */
export function segmentMessages(
  stream: StreamSpec,
  segments: readonly SegmentSpec[],
  opts: { readonly shards: number; readonly endList: boolean },
): SegmentMessage[] {
  const n = segments.length;
  if (!Number.isInteger(opts.shards) || opts.shards < 1) {
    throw badInput(`--shards is ${opts.shards}; it must be an integer >= 1`);
  }
  const count = Math.min(opts.shards, n);
  const out: SegmentMessage[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * n) / count);
    const to = Math.floor(((i + 1) * n) / count);
    const shard: ShardSpec = { index: i, count, first: segments[from]!.sn, last: segments[to - 1]!.sn };
    for (let j = from; j < to; j++) {
      const prev = j > 0 ? segments[j - 1] : undefined;
      out.push({
        type: 'segment',
        stream,
        segment: segments[j]!,
        ...(prev === undefined ? {} : { prev }),
        // VOD messages always name their shard (the whole stream when unsharded): the worker knows
        // from it when a run of segments is complete without listing the output.
        ...(count > 1 || stream.mode === 'vod' ? { shard } : {}),
        last: opts.endList && j === n - 1,
      });
    }
  }
  return out;
}
