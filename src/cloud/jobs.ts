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

import { badInput, SwiftvrError } from '../errors.js';
import type { ByteRange, ContainerKind } from '../types.js';
import { joinKey } from './object-store/object-store.js';

/** One source segment as a worker needs it, carried in the message so no re-read is needed. */
export interface SegmentSpec {
  readonly sn: number;
  /** Object key of the segment in the bucket. */
  readonly key: string;
  readonly byteRange?: ByteRange;
  readonly duration: number;
  readonly discontinuity: boolean;
  readonly discontinuitySequence: number;
  /** ISO 8601, from EXT-X-PROGRAM-DATE-TIME. */
  readonly programDateTime?: string;
  /** Object key of the EXT-X-MAP init section (fMP4). */
  readonly mapKey?: string;
}

/** What every segment message repeats about its stream. */
export interface StreamSpec {
  readonly job: string;
  /** Key of the media playlist restored. */
  readonly mediaKey: string;
  readonly container: ContainerKind;
  /** EXT-X-TARGETDURATION of the source; the output keeps it (it must not change). */
  readonly targetDuration: number;
  readonly mode: 'vod' | 'live';
}

export interface ShardSpec {
  readonly index: number;
  readonly count: number;
  /** First and last sn of this shard. */
  readonly first: number;
  readonly last: number;
}

export type JobMessage =
  /** Restore a whole VOD playlist: the worker fans it out into segment messages. */
  | { readonly type: 'vod'; readonly job: string; readonly sourceKey: string; readonly shards: number }
  /** Follow a live playlist until EXT-X-ENDLIST, restoring segments as they appear. */
  | { readonly type: 'live'; readonly job: string; readonly sourceKey: string }
  /** Restore one segment; segments of one group arrive in order. */
  | {
      readonly type: 'segment';
      readonly stream: StreamSpec;
      readonly segment: SegmentSpec;
      /** The segment before, to warm the state on when no checkpoint exists. */
      readonly prev?: SegmentSpec;
      readonly shard?: ShardSpec;
      /** The source playlist had EXT-X-ENDLIST and this is its last segment. */
      readonly last: boolean;
    };

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
  constructor(outputPrefix: string, readonly job: string) {
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
  segment(sn: number, container: ContainerKind): string {
    return joinKey(this.root, 'restored', `seg_${pad(sn)}.${container === 'ts' ? 'ts' : 'm4s'}`);
  }
  /** fMP4 output init section: one per discontinuity sequence (the picture size may change there). */
  init(discontinuitySequence: number): string {
    return joinKey(this.root, 'restored', discontinuitySequence === 0 ? 'init.mp4' : `init_${discontinuitySequence}.mp4`);
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
  get errorsPrefix(): string {
    return joinKey(this.root, 'errors') + '/';
  }
  /** Where a job-level failure (no segment) is recorded. */
  jobError(attempt: number): string {
    return joinKey(this.root, 'errors', `job-${attempt}.json`);
  }
}

/** FIFO group of a segment message: the stream, or the stream's shard. */
export const groupOf = (m: SegmentMessage): string => (m.shard === undefined || m.shard.count === 1 ? m.stream.job : `${m.stream.job}#${m.shard.index}`);

/**
 * Deduplication id: the same segment (stream, sn, source key) is one message. The closing
 * message (`last`) differs, so the news that the source ended is never dropped as a repeat.
 */
export const dedupOf = (m: SegmentMessage): string => `${m.stream.job}:${m.segment.sn}:${m.segment.key}${m.last ? ':last' : ''}`;

/** Parses and checks a message body; a malformed one names the field and the rule. */
export function parseJobMessage(body: unknown): JobMessage {
  const bad = (rule: string): SwiftvrError => new SwiftvrError('bad-input', `queue message ${JSON.stringify(body)?.slice(0, 200)}: ${rule}`);
  if (typeof body !== 'object' || body === null) throw bad('must be a JSON object');
  const m = body as Record<string, unknown>;
  const str = (o: Record<string, unknown>, k: string): string => {
    if (typeof o[k] !== 'string' || o[k] === '') throw bad(`${k} must be a non-empty string`);
    return o[k] as string;
  };
  const int = (o: Record<string, unknown>, k: string, min: number): number => {
    if (!Number.isInteger(o[k]) || (o[k] as number) < min) throw bad(`${k} must be an integer >= ${min}`);
    return o[k] as number;
  };
  switch (m.type) {
    case 'vod':
      str(m, 'job');
      str(m, 'sourceKey');
      int(m, 'shards', 1);
      return m as unknown as JobMessage;
    case 'live':
      str(m, 'job');
      str(m, 'sourceKey');
      return m as unknown as JobMessage;
    case 'segment': {
      const s = m.stream as Record<string, unknown> | undefined;
      const g = m.segment as Record<string, unknown> | undefined;
      if (typeof s !== 'object' || s === null) throw bad('stream must be an object');
      if (typeof g !== 'object' || g === null) throw bad('segment must be an object');
      str(s, 'job');
      str(s, 'mediaKey');
      if (s.container !== 'ts' && s.container !== 'fmp4') throw bad('stream.container must be "ts" or "fmp4"');
      if (s.mode !== 'vod' && s.mode !== 'live') throw bad('stream.mode must be "vod" or "live"');
      int(s, 'targetDuration', 0); // 0 is valid: every segment under 0.5 s (RFC 8216 §4.3.3.1)
      int(g, 'sn', 0);
      str(g, 'key');
      if (typeof g.duration !== 'number' || !(g.duration > 0)) throw bad('segment.duration must be a number > 0');
      if (typeof m.last !== 'boolean') throw bad('last must be a boolean');
      return m as unknown as JobMessage;
    }
    default:
      throw bad(`type ${JSON.stringify(m.type)} must be one of "vod", "live", "segment"`);
  }
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
        ...(count > 1 ? { shard } : {}),
        last: opts.endList && j === n - 1,
      });
    }
  }
  return out;
}

/** What `status` and the publisher need to know about a job; written once at submit/route time. */
export interface JobRecord {
  readonly job: string;
  readonly sourceKey: string;
  readonly mediaKey: string;
  /** The source multivariant playlist, when the job was submitted with one. */
  readonly multivariantKey?: string;
  readonly container: ContainerKind;
  readonly targetDuration: number;
  readonly mode: 'vod' | 'live';
  readonly shards: number;
  /** VOD: every source segment, for the final playlist and the completeness check. */
  readonly segments?: readonly SegmentSpec[];
  readonly createdAt: string;
}
