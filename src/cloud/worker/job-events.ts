// The worker's side of the job events (src/events/job-events.ts): SUBMITTED when a job record is
// created, PROGRESSING after each stored segment, COMPLETE when the rendition is published (VOD)
// or ended (live), ERROR when a job cannot go on. Counts come from the store (a progress marker
// per segment, its frame count in the key), so any worker of a sharded job tells the same totals.
import { jobEvent, type SegmentSummary } from '../../events/job-events.js';
import type { JobLayout, JobRecord } from '../jobs.js';
import type { WorkerContext } from './worker-context.js';

interface Progress {
  /** Segment numbers done. */
  readonly sns: ReadonlySet<number>;
  readonly segments: number;
  readonly frames: number;
  readonly seconds: number;
}

/** Segments and frames done, and seconds since the job was created, from the progress markers. */
async function progressOf(ctx: WorkerContext, layout: JobLayout, record: JobRecord): Promise<Progress> {
  const sns = new Set<number>();
  let frames = 0;
  for (const o of await ctx.o.store.list(layout.progressPrefix)) {
    const m = /(\d+)-(\d+)$/.exec(o.key);
    if (m === null) continue;
    sns.add(Number(m[1]));
    frames += Number(m[2]);
  }
  return { sns, segments: sns.size, frames, seconds: Math.max(0, (Date.now() - Date.parse(record.createdAt)) / 1000) };
}

export async function jobSubmitted(ctx: WorkerContext, record: JobRecord): Promise<void> {
  const segments = record.segments;
  await ctx.events.publish(jobEvent('SUBMITTED', record.job, {
    input: record.sourceKey,
    mode: record.mode,
    segments: segments === undefined ? null : segments.length,
    durationSeconds: segments === undefined ? null : Math.round(segments.reduce((t, s) => t + s.duration, 0) * 1000) / 1000,
  }));
}

/** After segment `sn` is stored and published: its marker, then a PROGRESSING event. */
export async function segmentProgressed(ctx: WorkerContext, layout: JobLayout, sn: number, segment: SegmentSummary): Promise<void> {
  await ctx.o.store.put(layout.progress(sn, segment.frames), '', { contentType: 'text/plain' });
  const record = await ctx.records.read(layout);
  const p = await progressOf(ctx, layout, record);
  const specs = record.segments;
  const total = specs === undefined ? null : specs.length;
  const fps = p.seconds > 0 ? p.frames / p.seconds : 0;
  let secondsLeft: number | null = null;
  if (specs !== undefined && p.segments > 0 && p.seconds > 0) {
    // From the share of the job's duration done so far (segments differ in length, not in rate).
    const all = specs.reduce((t, s) => t + s.duration, 0);
    const done = specs.filter((s) => p.sns.has(s.sn)).reduce((t, s) => t + s.duration, 0);
    secondsLeft = done > 0 ? Math.round((p.seconds * (all - done)) / done * 10) / 10 : null;
  }
  await ctx.events.publish(jobEvent('PROGRESSING', record.job, {
    segmentsDone: p.segments,
    segmentsTotal: total,
    framesDone: p.frames,
    percent: total === null || total === 0 ? null : Math.round(Math.min(100, (100 * p.segments) / total) * 10) / 10,
    fps: Math.round(fps * 100) / 100,
    secondsLeft,
    segment,
  }, { seq: sn }));
}

/** The job's outputs are published (VOD), or its live rendition ended with its source. */
export async function jobComplete(ctx: WorkerContext, layout: JobLayout, record: JobRecord): Promise<void> {
  const p = await progressOf(ctx, layout, record);
  const fallbacks = (await ctx.o.store.list(layout.fallbacksPrefix)).length;
  const gaps = (await ctx.o.store.list(layout.gapsPrefix)).length;
  await ctx.events.publish(jobEvent('COMPLETE', record.job, {
    outputs: {
      ...(record.multivariantKey === undefined ? {} : { multivariant: layout.multivariant }),
      rendition: layout.rendition,
      ...((await ctx.o.store.head(layout.report)) === undefined ? {} : { report: layout.report }),
    },
    segments: p.segments,
    frames: p.frames,
    durationSeconds: Math.round(p.seconds * 1000) / 1000,
    figures: { fps: p.seconds > 0 ? Math.round((p.frames / p.seconds) * 100) / 100 : 0, fallbacks, ...(gaps > 0 ? { gaps } : {}) },
  }));
}
