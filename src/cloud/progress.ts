// A job's progress in the store: one small counter object per shard (segments, frames, fallbacks,
// gaps, worker seconds). A shard's segments run one at a time in order (one FIFO group), so its
// counter has one writer, and a redelivered segment (sn at or below the counter's last) is not
// counted twice. A job's totals are the sum over its shards: a few reads, never a listing.
import { createHash } from 'node:crypto';
import type { JobLayout, SegmentMessage } from './jobs.js';
import { bytesToText, putOnce, type ObjectStore } from './object-store/object-store.js';

interface ShardProgress {
  segments: number;
  frames: number;
  fallbacks: number;
  gaps: number;
  /** Worker seconds spent on the counted segments (restore or plain upscale, encode, upload). */
  seconds?: number;
  /** What those seconds cost at the price of the workers' instance type (absent: unpriced). */
  costUsd?: number;
  /** The instance type of the worker that counted the newest segment. */
  instanceType?: string;
  /** The newest segment counted. */
  lastSn: number;
  /** When the shard's first segment was counted (live jobs have no total to time against). */
  startedAt: string;
}

async function readCounter(store: ObjectStore, key: string): Promise<ShardProgress | undefined> {
  const got = await store.get(key);
  if (got === undefined) return undefined;
  try {
    return JSON.parse(bytesToText(got.body)) as ShardProgress;
  } catch {
    return undefined;
  }
}

/** Counts segment `sn` of message `m`'s shard once: as restored or plain media, or as a gap. */
export async function countSegment(
  store: ObjectStore,
  layout: JobLayout,
  m: SegmentMessage,
  s: {
    readonly frames: number;
    readonly fallback: boolean;
    readonly gap: boolean;
    readonly seconds?: number;
    readonly pricePerHour?: number;
    readonly instanceType?: string;
  },
): Promise<void> {
  const key = layout.progressShard(m.shard?.index ?? 0);
  const c = (await readCounter(store, key)) ?? {
    segments: 0,
    frames: 0,
    fallbacks: 0,
    gaps: 0,
    seconds: 0,
    lastSn: -1,
    startedAt: new Date().toISOString(),
  };
  if (m.segment.sn <= c.lastSn) return;
  c.lastSn = m.segment.sn;
  if (s.gap) c.gaps++;
  else {
    c.segments++;
    c.frames += s.frames;
    if (s.fallback) c.fallbacks++;
  }
  c.seconds = (c.seconds ?? 0) + (s.seconds ?? 0);
  if (s.pricePerHour !== undefined) c.costUsd = (c.costUsd ?? 0) + ((s.seconds ?? 0) / 3600) * s.pricePerHour;
  if (s.instanceType !== undefined) c.instanceType = s.instanceType;
  await store.put(key, JSON.stringify(c), { contentType: 'application/json' });
}

export interface JobTotals {
  readonly segments: number;
  readonly frames: number;
  readonly fallbacks: number;
  readonly gaps: number;
  readonly seconds: number;
  /** Cost of the priced seconds; undefined when no shard's worker was priced. */
  readonly costUsd?: number;
  /** The workers' instance type, as the newest counted segment of a shard says. */
  readonly instanceType?: string;
  readonly startedAt?: number;
}

/** A job's totals: the sum of its shards' counters. */
export async function jobTotals(store: ObjectStore, layout: JobLayout, shards: number): Promise<JobTotals> {
  let t = {
    segments: 0,
    frames: 0,
    fallbacks: 0,
    gaps: 0,
    seconds: 0,
    costUsd: undefined as number | undefined,
    instanceType: undefined as string | undefined,
    startedAt: undefined as number | undefined,
  };
  for (let i = 0; i < shards; i++) {
    const c = await readCounter(store, layout.progressShard(i));
    if (c === undefined) continue;
    const started = Date.parse(c.startedAt);
    t = {
      segments: t.segments + c.segments,
      frames: t.frames + c.frames,
      fallbacks: t.fallbacks + c.fallbacks,
      gaps: t.gaps + c.gaps,
      seconds: t.seconds + (c.seconds ?? 0),
      costUsd: c.costUsd === undefined ? t.costUsd : (t.costUsd ?? 0) + c.costUsd,
      instanceType: t.instanceType ?? c.instanceType,
      startedAt: t.startedAt === undefined || started < t.startedAt ? started : t.startedAt,
    };
  }
  return t;
}

// ---- the job index: one small object per job, so `swiftvr jobs` lists jobs without listing outputs

export interface JobIndexEntry {
  readonly job: string;
  readonly mode: 'vod' | 'live';
  readonly source: string;
  readonly createdAt: string;
}

const indexPrefix = (outputPrefix: string): string => `${outputPrefix.replace(/\/?$/, '/')}.jobs/`;

/** Adds a job to the index once (its record's facts). */
export async function indexJob(store: ObjectStore, outputPrefix: string, e: JobIndexEntry): Promise<void> {
  const key = `${indexPrefix(outputPrefix)}${createHash('sha256').update(e.job).digest('hex').slice(0, 24)}.json`;
  await putOnce(store, key, JSON.stringify(e), { contentType: 'application/json' });
}

/** The indexed jobs, newest first. */
export async function listIndexedJobs(store: ObjectStore, outputPrefix: string): Promise<JobIndexEntry[]> {
  const out: JobIndexEntry[] = [];
  for (const o of await store.list(indexPrefix(outputPrefix))) {
    const got = await store.get(o.key);
    if (got === undefined) continue;
    try {
      out.push(JSON.parse(bytesToText(got.body)) as JobIndexEntry);
    } catch {
      // an entry this version cannot read is left out
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
