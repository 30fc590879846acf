// One segment: restore it with the stream's carried state, then publish, in the order that makes a
// crash at any point harmless:
//   checkpoint(sn)  ->  init section, segment (create-once)  ->  playlist  ->  metrics
// A redelivered message whose segment and checkpoint exist skips straight to publishing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { withContext } from '../../errors.js';
import { restoreSegment } from '../../pipeline/segment.js';
import { checkS3Key, policyForInput } from '../../hls/uri-policy.js';
import { JobLayout, STATE_TAG, type SegmentMessage, type SegmentSpec } from '../jobs.js';
import { segmentMetricsLine, type SegmentMetrics } from '../metrics.js';
import { putOnce } from '../object-store/object-store.js';
import { readSegmentInput } from '../source.js';
import { completeVodShard } from './vod-job.js';
import type { RestoredFacts } from './rendition-publisher.js';
import type { SegmentTicket, WorkerContext } from './worker-context.js';

export type SegmentOutcome = 'restored' | 'skipped';

export async function runSegmentJob(ctx: WorkerContext, m: SegmentMessage, t: SegmentTicket): Promise<SegmentOutcome> {
  const { store } = ctx.o;
  const { job } = m.stream;
  const sn = m.segment.sn;
  const layout = new JobLayout(ctx.o.outputPrefix, job);
  const segKey = layout.segment(sn, m.stream.container);
  checkSourceKeys(ctx, m);
  ctx.log({ event: 'segment-start', job, sn, attempt: t.attempt, worker: ctx.workerId });
  const started = performance.now();

  const [segHead, ckHead] = await Promise.all([store.head(segKey), store.head(layout.checkpoint(sn))]);
  if (segHead !== undefined && ckHead !== undefined) {
    // Done before (a duplicate, or a crash after upload): publishing again is harmless.
    await publish(ctx, m, layout, segHead.size, undefined);
    ctx.log({ event: 'segment-skipped', job, sn, reason: 'segment and checkpoint already stored' });
    return 'skipped';
  }

  const slot = ctx.pool.take(job, sn);
  try {
    await ctx.pool.prepare(slot, m, layout, t.signal);
    const input = await readSegmentInput(store, m.segment, m.stream.container, t.signal);
    const dir = await mkdtemp(path.join(ctx.workDir, 'seg-'));
    try {
      const outPath = path.join(dir, `out.${m.stream.container === 'ts' ? 'ts' : 'm4s'}`);
      const initOutPath = m.stream.container === 'fmp4' ? path.join(dir, 'init.mp4') : undefined;
      const { encoded, result, info } = await restoreSegment(input, slot.restorer, { outPath, encoder: ctx.o.encoder, ...(initOutPath ? { initOutPath } : {}) }, {
        workDir: dir,
        signal: t.signal,
      });
      const body = new Uint8Array(await readFile(encoded.path));
      // 1. checkpoint: deterministic for a given input state, so overwriting is harmless.
      await store.put(layout.checkpoint(sn), await ctx.pool.checkpoint(slot, job, sn), {
        contentType: 'application/octet-stream',
        // The bucket's lifecycle rule expires checkpoints by this tag.
        tags: { [STATE_TAG.key]: STATE_TAG.value },
      });
      // 2. init section (fMP4) and segment, each created once.
      const immutable = { cacheControl: 'public, max-age=31536000, immutable' };
      if (encoded.initPath !== undefined) {
        await putOnce(store, layout.init(m.segment.discontinuitySequence), new Uint8Array(await readFile(encoded.initPath)), { contentType: 'video/mp4', ...immutable }, true);
      }
      await putOnce(store, segKey, body, { contentType: m.stream.container === 'ts' ? 'video/mp2t' : 'video/iso.segment', ...immutable });
      // 3. playlist(s)
      const facts: RestoredFacts = {
        codecs: encoded.codecs,
        width: info.video.width * ctx.pool.scale,
        height: info.video.height * ctx.pool.scale,
        frameRate: info.video.frameRate,
      };
      const publishedAt = await publish(ctx, m, layout, body.length, facts);
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
        attempt: t.attempt,
        worker: ctx.workerId,
        at: new Date(publishedAt).toISOString(),
      };
      await store.put(layout.metrics(sn), JSON.stringify(metrics), { contentType: 'application/json' });
      ctx.log(segmentMetricsLine(metrics));
      return 'restored';
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } catch (e) {
    await ctx.pool.forget(slot);
    throw withContext(e, { stream: job, sn });
  } finally {
    ctx.pool.release(slot);
  }
}

/** Publishes what the segment completes; returns the time it was listed (epoch ms). */
async function publish(ctx: WorkerContext, m: SegmentMessage, layout: JobLayout, bytes: number, facts: RestoredFacts | undefined): Promise<number> {
  if (m.stream.mode === 'live') {
    await ctx.publisher.appendLive(m, layout);
    if (facts !== undefined) {
      await ctx.publisher.publishMultivariant(await ctx.records.read(layout), layout, [{ bytes, duration: m.segment.duration }], facts);
    }
  } else {
    await completeVodShard(ctx, m, layout, facts);
  }
  return Date.now();
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
