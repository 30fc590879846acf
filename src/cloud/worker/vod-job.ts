// VOD jobs: fan a source playlist out into segment messages (one FIFO group per shard), and publish
// the rendition once every segment is stored. Completion costs O(1) store requests per segment:
// a shard is checked (one listing) only when its last segment is stored, or when a segment of an
// already finished shard lands late (a dead-lettered segment redriven); each complete shard
// creates a marker, and the job publishes when the markers of all shards exist.
import type { JobMessage, JobLayout, JobRecord } from '../jobs.js';
import type { SegmentMetrics } from '../metrics.js';
import type { SegmentResult } from '../../types.js';
import { estimateCheck, qualityReport, reportCsv } from '../../report/quality-report.js';
import { LOCAL } from '../../estimate/tables.js';
import { jobTotals } from '../progress.js';
import { dedupOf, groupOf, segmentMessages, type SegmentMessage } from '../jobs.js';
import { bytesToText, putOnce } from '../object-store/object-store.js';
import { readStoredPlan, segmentSpecOf } from '../source.js';
import { restoredFactsSchema, type RestoredFacts } from './rendition-publisher.js';
import type { WorkerContext } from './worker-context.js';
import { streamOf } from './streams.js';

export async function fanOutVod(ctx: WorkerContext, m: Extract<JobMessage, { type: 'vod' }>, signal: AbortSignal): Promise<void> {
  const { store } = ctx.o;
  const plan = await readStoredPlan(store, m.sourceKey, signal);
  const stream = streamOf(plan, m.job, 'vod', store);
  const specs = plan.media.segments.map((s) => segmentSpecOf(s, store));
  await ctx.records.write(plan, m.sourceKey, stream, m.shards, specs, m.estimate);
  // Re-running a fan-out (redelivery) re-sends the same dedup ids: dropped, or skipped by the worker.
  const messages = segmentMessages(stream, specs, { shards: m.shards, endList: true });
  for (const sm of messages) await ctx.o.queue.send(sm, { group: groupOf(sm), dedupId: dedupOf(sm) });
  ctx.log({ event: 'vod-fanned-out', job: m.job, segments: specs.length, shards: Math.min(m.shards, specs.length) });
}

/**
 * After segment m is stored: mark its shard complete when it is, and publish when all shards are.
 * `facts` describe the segment just restored (undefined when a duplicate skipped the restore).
 */
export async function completeVodShard(
  ctx: WorkerContext,
  m: SegmentMessage,
  layout: JobLayout,
  facts: RestoredFacts | undefined,
): Promise<void> {
  const { store } = ctx.o;
  const shard = m.shard;
  if (shard === undefined) return; // every VOD segment message names its shard
  const container = m.stream.container;
  const isLast = m.segment.sn === shard.last;
  const present = async (sn: number): Promise<boolean> =>
    (await store.head(layout.segment(sn, container))) !== undefined || (await store.head(layout.gap(sn))) !== undefined;
  if (!isLast && !(await present(shard.last))) return;
  if ((await store.head(layout.shardDone(shard.index))) === undefined) {
    const record = await ctx.records.read(layout);
    const stored = new Set([...(await store.list(layout.restoredPrefix)), ...(await store.list(layout.gapsPrefix))].map((o) => o.key));
    const wanted = (record.segments ?? []).filter((s) => s.sn >= shard.first && s.sn <= shard.last);
    if (wanted.some((s) => !stored.has(layout.segment(s.sn, container)) && !stored.has(layout.gap(s.sn)))) return;
    await putOnce(store, layout.shardDone(shard.index), '', { contentType: 'text/plain' });
  }
  const done = await store.list(layout.shardsDonePrefix);
  if (done.length < shard.count) return;
  await publishVod(ctx, layout, facts);
}

/** Every segment is stored: the rendition (once), then the multivariant (once). */
async function publishVod(ctx: WorkerContext, layout: JobLayout, facts: RestoredFacts | undefined): Promise<void> {
  const { store } = ctx.o;
  if (await store.head(layout.multivariant)) return; // published, multivariant included
  const record = await ctx.records.read(layout);
  await ctx.publisher.writeVod(record, layout);
  if (record.multivariantKey === undefined) return;
  const specs = record.segments ?? [];
  const sizes = new Map((await store.list(layout.restoredPrefix)).map((o) => [o.key, o.size]));
  let known = facts;
  // From the first restored segment (a segment published as a gap has none).
  for (const s of specs) {
    if (known !== undefined) break;
    known = await storedFacts(ctx, layout, s.sn);
  }
  if (known === undefined) return;
  await ctx.publisher.publishMultivariant(
    record,
    layout,
    specs.map((s) => ({ bytes: sizes.get(layout.segment(s.sn, record.container)) ?? 0, duration: s.duration })),
    known,
  );
}

/**
 * The job's quality report from its segments' metrics records, created once beside the playlists
 * (after the last segment's metrics are stored: the caller runs it once the rendition is published
 * and its own segment's records are written).
 */
export async function writeReport(ctx: WorkerContext, layout: JobLayout, record: JobRecord): Promise<void> {
  const { store } = ctx.o;
  if ((await store.head(layout.report)) !== undefined) return;
  const results: SegmentResult[] = [];
  for (const s of record.segments ?? []) {
    const got = await store.get(layout.metrics(s.sn));
    if (got === undefined) {
      // Published as a gap: no media, a row that keeps the timeline.
      results.push({ sn: s.sn, frames: 0, seconds: 0, fps: 0, bytes: 0, duration: s.duration, fallback: 'published as a gap (no media)' });
      continue;
    }
    const m = JSON.parse(bytesToText(got.body)) as Partial<SegmentMetrics>;
    results.push({
      sn: s.sn,
      frames: m.frames ?? 0,
      seconds: m.processingSeconds ?? 0,
      fps: m.fps ?? 0,
      bytes: m.bytes ?? 0,
      duration: s.duration,
      ...(m.fallback === true ? { fallback: m.fallbackReason ?? 'plain upscale' } : {}),
      ...(m.changed === undefined ? {} : { changed: m.changed }),
      ...(m.boundaryFlicker === undefined ? {} : { boundaryFlicker: m.boundaryFlicker }),
      ...(m.fidelityPsnrY === undefined ? {} : { fidelityPsnrY: m.fidelityPsnrY }),
      ...(m.fidelitySsimY === undefined ? {} : { fidelitySsimY: m.fidelitySsimY }),
    });
  }
  const totals = await jobTotals(store, layout, record.shards);
  const report = qualityReport({
    job: record.job,
    input: record.sourceKey,
    model: ctx.pool.modelName,
    results,
    ...(record.estimate === undefined
      ? {}
      : {
          estimate: estimateCheck(record.estimate, ctx.o.instanceType ?? LOCAL, {
            frames: totals.frames,
            wallSeconds: Math.max(0, (Date.now() - Date.parse(record.createdAt)) / 1000),
            computeSeconds: totals.seconds,
            ...(totals.costUsd === undefined ? {} : { costUsd: totals.costUsd }),
            outputBytes: results.reduce((n, r) => n + r.bytes, 0),
          }),
        }),
  });
  await putOnce(store, layout.reportCsv, reportCsv(report), { contentType: 'text/csv' });
  await putOnce(store, layout.report, JSON.stringify(report, null, 2) + '\n', { contentType: 'application/json' });
}

/** A restored segment's facts from its stored metrics (read back, so checked). */
async function storedFacts(ctx: WorkerContext, layout: JobLayout, sn: number): Promise<RestoredFacts | undefined> {
  const got = await ctx.o.store.get(layout.metrics(sn));
  if (got === undefined) return undefined;
  const r = restoredFactsSchema.safeParse(JSON.parse(bytesToText(got.body)));
  return r.success ? r.data : undefined;
}
