// The worker's side of the job events (src/events/job-events.ts): SUBMITTED when a job record is
// created (job-records.ts), PROGRESSING after each stored segment, COMPLETE when the rendition is
// published (VOD) or ended (live). Counts come from one small counter object per shard: a shard's
// segments run one at a time in order (one FIFO group), so its counter has one writer, and a
// redelivered segment (sn at or below the counter's last) is not counted twice. The job's totals
// are the sum over its shards: a few reads per segment, never a listing.
import { jobEvent, type SegmentSummary } from '../../events/job-events.js';
import type { JobLayout, JobRecord, SegmentMessage } from '../jobs.js';
import { jobTotals } from '../progress.js';
import type { WorkerContext } from './worker-context.js';

const round = (v: number, per: number): number => Math.round(v * per) / per;

/** After segment `m` is stored, published and counted: the job's PROGRESSING event. */
export async function segmentProgressed(ctx: WorkerContext, layout: JobLayout, m: SegmentMessage, segment: SegmentSummary): Promise<void> {
  const shards = m.shard?.count ?? 1;
  const t = await jobTotals(ctx.o.store, layout, shards);
  const vod = m.stream.mode === 'vod';
  const record = vod ? await ctx.records.read(layout) : undefined;
  const total = record?.segments?.length ?? null;
  const since = record !== undefined ? Date.parse(record.createdAt) : (t.startedAt ?? Date.now());
  const seconds = Math.max(0, (Date.now() - since) / 1000);
  const fps = seconds > 0 ? t.frames / seconds : 0;
  const done = t.segments + t.gaps;
  // From the share of the job's segments done so far.
  const secondsLeft = total === null || done === 0 || seconds === 0 ? null : round((seconds * Math.max(0, total - done)) / done, 10);
  await ctx.events.publish(
    jobEvent(
      'PROGRESSING',
      m.stream.job,
      {
        segmentsDone: t.segments,
        segmentsTotal: total,
        framesDone: t.frames,
        percent: total === null || total === 0 ? null : round(Math.min(100, (100 * done) / total), 10),
        fps: round(fps, 100),
        secondsLeft,
        segment,
      },
      { seq: m.segment.sn },
    ),
  );
}

/** The job's outputs are published (VOD), or its live rendition ended with its source. */
export async function jobComplete(ctx: WorkerContext, layout: JobLayout, record: JobRecord): Promise<void> {
  // Sent already (by this segment's worker or another): nothing to count again.
  if ((await ctx.o.store.head(layout.event(`${record.job}:COMPLETE`))) !== undefined) return;
  const t = await jobTotals(ctx.o.store, layout, record.shards);
  const seconds = Math.max(0, (Date.now() - Date.parse(record.createdAt)) / 1000);
  await ctx.events.publish(
    jobEvent('COMPLETE', record.job, {
      outputs: {
        ...(record.multivariantKey === undefined ? {} : { multivariant: layout.multivariant }),
        rendition: layout.rendition,
        ...((await ctx.o.store.head(layout.report)) === undefined ? {} : { report: layout.report }),
      },
      segments: t.segments,
      frames: t.frames,
      durationSeconds: round(seconds, 1000),
      figures: { fps: seconds > 0 ? round(t.frames / seconds, 100) : 0, fallbacks: t.fallbacks, ...(t.gaps > 0 ? { gaps: t.gaps } : {}) },
    }),
  );
}
