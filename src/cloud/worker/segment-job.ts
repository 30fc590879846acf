// One segment: restore it with the stream's carried state, then publish, in the order that makes a
// crash at any point harmless:
//   checkpoint(sn)  ->  init section, segment (create-once)  ->  playlist  ->  metrics
// A redelivered message whose segment and checkpoint exist skips straight to publishing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { SwiftvrError, withContext } from '../../errors.js';
import { segmentStep } from '../../pipeline/segment-step.js';
import { readSegment } from '../../pipeline/segment-input.js';
import { checkS3Key, policyForInput } from '../../hls/uri-policy.js';
import { JobLayout, STATE_TAG, type SegmentMessage, type SegmentSpec } from '../jobs.js';
import { segmentMetricsLine, type SegmentMetrics } from '../metrics.js';
import { putOnce } from '../object-store/object-store.js';
import { storeSource } from '../source.js';
import { segmentSummary } from '../../events/job-events.js';
import { countSegment } from '../progress.js';
import { jobComplete, segmentProgressed } from './job-events.js';
import { completeVodShard, writeReport } from './vod-job.js';
import { watchCancel } from '../cancel.js';
import type { RestoredFacts } from './rendition-publisher.js';
import type { SegmentTicket, WorkerContext } from './worker-context.js';
import { liveGo } from './pace.js';

export type SegmentOutcome = 'restored' | 'plain' | 'skipped';

/** Live deadline: the source segment appeared at `availableAt`; its restored one is due this much later. */
function deadlineOf(ctx: WorkerContext, m: SegmentMessage, t: SegmentTicket): number | undefined {
  if (m.stream.mode !== 'live') return undefined;
  const budget = ctx.o.liveLatencyBudgetSeconds ?? Math.max(1, m.stream.targetDuration);
  return t.availableAt.getTime() + budget * 1000;
}

export async function runSegmentJob(ctx: WorkerContext, m: SegmentMessage, ticket: SegmentTicket): Promise<SegmentOutcome> {
  const layout = new JobLayout(ctx.o.outputPrefix, m.stream.job);
  // A cancel of the job stops the segment at its next frame: nothing of it is stored.
  const watch = watchCancel(ctx.o.store, layout, ticket.signal);
  try {
    return await runSegment(ctx, m, { ...ticket, signal: watch.signal }, layout);
  } catch (e) {
    if (watch.cancelled())
      throw new SwiftvrError('aborted', `segment sn=${m.segment.sn} of ${m.stream.job} stopped: the job was cancelled`, {
        context: { stream: m.stream.job, sn: m.segment.sn },
      });
    throw e;
  } finally {
    watch.stop();
  }
}

async function runSegment(ctx: WorkerContext, m: SegmentMessage, t: SegmentTicket, layout: JobLayout): Promise<SegmentOutcome> {
  const { store } = ctx.o;
  const { job } = m.stream;
  const sn = m.segment.sn;
  const segKey = layout.segment(sn, m.stream.container);
  checkSourceKeys(ctx, m);
  if (m.gap === true) {
    // An unrecoverable source segment the operator chose to publish as a gap (VOD only).
    if (m.stream.mode !== 'vod')
      throw new SwiftvrError('bad-input', `segment sn=${sn} of live job ${job}: only a VOD segment can be published as a gap`);
    await store.put(layout.gap(sn), JSON.stringify({ job, sn, source: m.segment.key, at: new Date().toISOString() }), {
      contentType: 'application/json',
    });
    ctx.log({ event: 'segment-gap', job, sn });
    await countSegment(store, layout, m, { frames: 0, fallback: false, gap: true });
    await completeVodShard(ctx, m, layout, undefined);
    await completeIfPublished(ctx, m, layout);
    return 'skipped';
  }
  ctx.log({ event: 'segment-start', job, sn, attempt: t.attempt, worker: ctx.workerId });
  const started = performance.now();

  const [segHead, ckHead] = await Promise.all([store.head(segKey), store.head(layout.checkpoint(sn))]);
  if (segHead !== undefined && ckHead !== undefined) {
    // Done before (a duplicate, or a crash after upload): publishing again is harmless.
    await publish(ctx, m, layout, segHead.size, undefined, t);
    ctx.log({ event: 'segment-skipped', job, sn, reason: 'segment and checkpoint already stored' });
    await completeIfPublished(ctx, m, layout);
    return 'skipped';
  }

  const slot = ctx.pool.take(job, sn);
  const dir = await mkdtemp(path.join(ctx.workDir, 'seg-'));
  try {
    const input = await readSegment(storeSource(store, m.stream.container), m.segment, m.prev, t.signal);
    const outPath = path.join(dir, `out.${m.stream.container === 'ts' ? 'ts' : 'm4s'}`);
    const initOutPath = m.stream.container === 'fmp4' ? path.join(dir, 'init.mp4') : undefined;
    const output = { outPath, encoder: ctx.o.encoder, ...(initOutPath ? { initOutPath } : {}) };
    // Live: would the restore (and a warm-up when the slot's state is elsewhere) still be listed in time?
    const deadline = deadlineOf(ctx, m, t);
    const go =
      deadline === undefined
        ? undefined
        : liveGo({
            now: ctx.clock.now(),
            deadline,
            warmSeconds:
              !ctx.pool.holdsStateBefore(slot, job, sn) && m.prev !== undefined
                ? ctx.pace.warmSeconds(ctx.pace.mediaSecondsOf(slot.restorer.chunkFrames, m.prev.duration))
                : 0,
            restoreSeconds: ctx.pace.restoreSeconds(m.segment.duration),
            plainSeconds: ctx.pace.plainSeconds(m.segment.duration),
          });
    if (go?.restore === false) ctx.pace.skipped();
    const step = await segmentStep(input, slot.restorer, output, {
      workDir: dir,
      signal: t.signal,
      policy: {
        // Live never waits for the model: a failed or late restore is published as a plain upscale,
        // with the encoder's fastest preset so the fallback itself keeps within the budget.
        plainOnFailure: deadline !== undefined,
        quickPlain: deadline !== undefined,
        ...(go === undefined ? {} : go.restore ? { timeoutMs: go.timeoutMs } : { skip: go.reason }),
      },
      state: {
        // The previous segment's checkpoint, or a warm-up on its frames (live: its last chunk only,
        // the state is the last frame's).
        prepare: async (signal) => {
          const t0 = performance.now();
          const state = await ctx.pool.prepare(slot, m, layout, signal, deadline === undefined ? undefined : slot.restorer.chunkFrames);
          if (state === 'warmed') ctx.pace.warmed((performance.now() - t0) / 1000);
        },
        // No checkpoint for a plain segment: the next one warms on this one's source.
        restart: async () => ctx.pool.forget(slot),
      },
    }).done;
    const fallback = step.fallback;
    if (step.restoreSeconds !== undefined) ctx.pace.restored(m.segment.duration, step.restoreSeconds, step.result.frames);
    // Stopped at the deadline: restoring (or warming) is at least this slow.
    if (step.stopped !== undefined) {
      if (step.stopped.inRestore) ctx.pace.restoreStopped(m.segment.duration, step.stopped.seconds);
      else ctx.pace.warmed(step.stopped.seconds);
    }
    if (fallback !== undefined) {
      const plainSeconds = step.plainSeconds ?? 0;
      ctx.pace.plain(m.segment.duration, plainSeconds, step.result.frames);
      ctx.log({ event: 'segment-fallback', job, sn, reason: fallback, plainSeconds: Math.round(plainSeconds * 1000) / 1000 });
      await store.put(
        layout.fallback(sn),
        JSON.stringify({ job, sn, reason: fallback, worker: ctx.workerId, at: new Date().toISOString() }),
        {
          contentType: 'application/json',
        },
      );
    }
    const { encoded, result, info } = step;
    const body = new Uint8Array(await readFile(encoded.path));
    if (fallback === undefined) {
      // 1. checkpoint: deterministic for a given input state, so overwriting is harmless.
      await store.put(layout.checkpoint(sn), await ctx.pool.checkpoint(slot, job, sn), {
        contentType: 'application/octet-stream',
        // The bucket's lifecycle rule expires checkpoints by this tag.
        tags: { [STATE_TAG.key]: STATE_TAG.value },
      });
    }
    // 2. init section (fMP4) and segment, each created once.
    const immutable = { cacheControl: 'public, max-age=31536000, immutable' };
    if (encoded.initPath !== undefined) {
      await putOnce(
        store,
        layout.init(m.segment.discontinuitySequence),
        new Uint8Array(await readFile(encoded.initPath)),
        { contentType: 'video/mp4', ...immutable },
        true,
      );
    }
    await putOnce(store, segKey, body, { contentType: m.stream.container === 'ts' ? 'video/mp2t' : 'video/iso.segment', ...immutable });
    // 3. playlist(s)
    const facts: RestoredFacts = {
      codecs: encoded.codecs,
      width: info.video.width * ctx.pool.scale,
      height: info.video.height * ctx.pool.scale,
      frameRate: info.video.frameRate,
      ...(info.video.picture.hdr !== undefined ? { videoRange: info.video.picture.hdr.transfer } : {}),
    };
    const publishedAt = await publish(ctx, m, layout, body.length, facts, t, fallback !== undefined);
    // 4. metrics
    const seconds = (performance.now() - started) / 1000;
    const metrics: SegmentMetrics = {
      job,
      sn,
      frames: result.frames,
      fps: seconds > 0 ? result.frames / seconds : 0,
      processingSeconds: seconds,
      queueWaitSeconds: t.queueWaitSeconds,
      ...(m.stream.mode === 'live' ? { lagSeconds: lagOf(m.segment, t.availableAt, publishedAt) } : {}),
      bytes: body.length,
      duration: m.segment.duration,
      ...facts,
      fallback: fallback !== undefined,
      ...(fallback === undefined ? {} : { fallbackReason: fallback }),
      ...(result.changed === undefined ? {} : { changed: result.changed }),
      ...(result.boundaryFlicker === undefined ? {} : { boundaryFlicker: result.boundaryFlicker }),
      ...(result.fidelityPsnrY === undefined ? {} : { fidelityPsnrY: result.fidelityPsnrY }),
      ...(result.fidelitySsimY === undefined ? {} : { fidelitySsimY: result.fidelitySsimY }),
      ...(result.picture === undefined ? {} : { picture: result.picture }),
      attempt: t.attempt,
      worker: ctx.workerId,
      at: new Date(publishedAt).toISOString(),
    };
    await store.put(layout.metrics(sn), JSON.stringify(metrics), { contentType: 'application/json' });
    ctx.log(segmentMetricsLine(metrics));
    // 5. the job's progress, its PROGRESSING event (after the metrics: a reader of the event finds
    // them), and COMPLETE once the VOD rendition is published (by this segment or an earlier one:
    // the same id). Live: the event goes out beside the next segment, off the latency path.
    await countSegment(store, layout, m, {
      frames: result.frames,
      fallback: fallback !== undefined,
      gap: false,
      seconds,
      ...(ctx.o.pricePerHour === undefined ? {} : { pricePerHour: ctx.o.pricePerHour }),
      ...(ctx.o.instanceType === undefined ? {} : { instanceType: ctx.o.instanceType }),
    });
    const progressed = segmentProgressed(ctx, layout, m, segmentSummary(result)).catch((e: unknown) =>
      ctx.log({ event: 'job-event-failed', type: 'PROGRESSING', job, sn, message: e instanceof Error ? e.message : String(e) }),
    );
    if (m.stream.mode === 'vod') await progressed;
    await completeIfPublished(ctx, m, layout);
    return fallback === undefined ? 'restored' : 'plain';
  } catch (e) {
    await ctx.pool.forget(slot);
    throw withContext(e, { stream: job, sn });
  } finally {
    ctx.pool.release(slot);
    await rm(dir, { recursive: true, force: true });
  }
}

/** VOD: once the rendition is published, the job's COMPLETE event (the same id from every segment that sees it). */
async function completeIfPublished(ctx: WorkerContext, m: SegmentMessage, layout: JobLayout): Promise<void> {
  if (m.stream.mode !== 'vod' || (await ctx.o.store.head(layout.rendition)) === undefined) return;
  const record = await ctx.records.read(layout);
  await writeReport(ctx, layout, record);
  await jobComplete(ctx, layout, record);
}

/** Publishes what the segment completes; returns the time it was listed (epoch ms). */
async function publish(
  ctx: WorkerContext,
  m: SegmentMessage,
  layout: JobLayout,
  bytes: number,
  facts: RestoredFacts | undefined,
  t: SegmentTicket,
  plain = false,
): Promise<number> {
  if (m.stream.mode === 'live') {
    await ctx.publisher.appendLive(m, layout, plain ? { plainUpscaleSeenAt: t.availableAt } : {});
    if (facts !== undefined) {
      await ctx.publisher.publishMultivariant(await ctx.records.read(layout), layout, [{ bytes, duration: m.segment.duration }], facts);
    }
  } else {
    await completeVodShard(ctx, m, layout, facts);
  }
  return ctx.clock.now();
}

/** Segment keys in a message must stay in the media playlist's folder, as the reader checked. */
function checkSourceKeys(ctx: WorkerContext, m: SegmentMessage): void {
  const policy = policyForInput({ kind: 's3', bucket: ctx.o.store.bucket, key: m.stream.mediaKey });
  for (const s of m.prev === undefined ? [m.segment] : [m.prev, m.segment]) {
    checkS3Key(ctx.o.store.bucket, s.key, policy);
    if (s.mapKey !== undefined) checkS3Key(ctx.o.store.bucket, s.mapKey, policy);
  }
}

/** Seconds from the moment the segment was live at the source to the moment we listed it. */
function lagOf(s: SegmentSpec, availableAt: Date, publishedAt: number): number {
  const liveAt = s.programDateTime !== undefined ? Date.parse(s.programDateTime) + s.duration * 1000 : availableAt.getTime();
  return Math.max(0, (publishedAt - liveAt) / 1000);
}
