// Live jobs: follow the source playlist until EXT-X-ENDLIST, restoring new segments in order.
// A follow outlives any one delivery: when the worker stops, or the handler timeout nears, the
// follow continues as a fresh message (fresh receive count, so it never drifts to the DLQ) and this
// one completes. Another worker resumes from the rendition and the checkpoints.
//
// What real live sources do never stops the rendition:
// - a segment that cannot be restored or upscaled (corrupt, missing, deleted from the source window
//   before it was read) becomes an EXT-X-GAP entry of its duration, with an error record, and the
//   stream goes on; a transient failure is retried with backoff first, while the segment could
//   still be listed in time;
// - a source that gains no segment for the idle timeout ends the rendition with EXT-X-ENDLIST and
//   the job with a record saying why (`swiftvr status` shows it).
import { setTimeout as sleep } from 'node:timers/promises';
import { isSwiftvrError, SwiftvrError } from '../../errors.js';
import { JobLayout, segmentMessages, type JobMessage, type SegmentMessage } from '../jobs.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { readStoredPlan, segmentSpecOf } from '../source.js';
import { countSegment } from '../progress.js';
import { jobComplete } from './job-events.js';
import { runSegmentJob } from './segment-job.js';
import { streamOf } from './streams.js';
import type { WorkerContext } from './worker-context.js';

/** Tries of one live segment before it becomes a gap (transient failures only). */
const LIVE_TRIES = 3;
/** First backoff between tries, doubled each time. */
const LIVE_BACKOFF_MS = 250;

/**
 * When a source segment was listed: its object's last-modified time (a packager writes the segment
 * before it lists it, so the listing is no earlier), or when a poll first saw it if that is earlier
 * (clock skew). The deadline counts from here, not from a later poll.
 */
async function listedAt(store: ObjectStore, key: string, seen: Date): Promise<Date> {
  const head = await store.head(key).catch(() => undefined);
  return head !== undefined && head.lastModified.getTime() < seen.getTime() ? head.lastModified : seen;
}

export async function followLive(ctx: WorkerContext, m: Extract<JobMessage, { type: 'live' }>, signal: AbortSignal): Promise<void> {
  const { store } = ctx.o;
  const layout = new JobLayout(ctx.o.outputPrefix, m.job);
  // Resume after the newest segment the rendition already lists.
  const current = await ctx.publisher.readRendition(layout);
  let done = current?.playlist.entries.at(-1)?.sourceSn ?? -1;
  if (current?.playlist.ended === true) return;
  // A segment's deadline counts from when it was listed at the source. A watcher polls the
  // playlist beside the restores, so a segment that appears while another is being restored is
  // dated then, not when the restore ends.
  const firstSeen = new Map<number, Promise<Date>>();
  const note = (segments: readonly { sn: number; key: string }[]): void => {
    const now = new Date(ctx.clock.now());
    for (const s of segments) {
      if (s.sn > done && !firstSeen.has(s.sn)) firstSeen.set(s.sn, listedAt(store, s.key, now));
    }
  };
  const stopWatch = new AbortController();
  const watchSignal = AbortSignal.any([signal, stopWatch.signal]);
  const watcher = (async () => {
    while (!watchSignal.aborted) {
      // Read failures are the main loop's to report; the watcher only dates segments.
      const plan = await readStoredPlan(store, m.sourceKey, watchSignal).catch(() => undefined);
      if (plan !== undefined) note(plan.media.segments.map((s) => segmentSpecOf(s, store)));
      await sleep(ctx.o.livePollMs, undefined, { signal: watchSignal }).catch(() => {});
    }
  })();
  try {
    await follow();
  } finally {
    stopWatch.abort();
    await watcher;
  }

  /**
   * One live segment: restored or plain-upscaled (runSegmentJob decides by the deadline), retried
   * with backoff on a transient failure while there is time, else published as a gap.
   */
  async function liveSegment(sm: SegmentMessage, availableAt: Date): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await runSegmentJob(ctx, sm, { signal, queueWaitSeconds: 0, availableAt, attempt });
        return;
      } catch (e) {
        if (signal.aborted) throw e;
        const retryable = isSwiftvrError(e) ? e.retryable && e.kind !== 'bad-input' : false;
        const budget = ctx.o.liveLatencyBudgetSeconds ?? Math.max(1, sm.stream.targetDuration);
        const wait = LIVE_BACKOFF_MS * 2 ** (attempt - 1);
        const stillInTime = ctx.clock.now() + wait < availableAt.getTime() + (budget + sm.stream.targetDuration) * 1000;
        if (retryable && attempt < LIVE_TRIES && stillInTime) {
          ctx.log({
            event: 'segment-retry',
            job: m.job,
            sn: sm.segment.sn,
            attempt,
            waitMs: wait,
            message: e instanceof Error ? e.message : String(e),
          });
          await sleep(wait, undefined, { signal });
          continue;
        }
        // Given up: the records say why, the rendition lists a gap of the segment's duration.
        await ctx.records.recordError(sm, e, attempt, attempt, false, true);
        await store.put(
          layout.gap(sm.segment.sn),
          JSON.stringify({
            job: m.job,
            sn: sm.segment.sn,
            source: sm.segment.key,
            reason: e instanceof Error ? e.message : String(e),
            at: new Date().toISOString(),
          }),
          { contentType: 'application/json' },
        );
        await ctx.publisher.appendLive(sm, layout, { gap: true });
        await countSegment(store, layout, sm, { frames: 0, fallback: false, gap: true });
        ctx.log({ event: 'segment-gap', job: m.job, sn: sm.segment.sn, reason: e instanceof Error ? e.message : String(e) });
        return;
      }
    }
  }

  async function follow(): Promise<void> {
    let lastProgress = ctx.clock.now();
    let recorded = false;
    const started = ctx.clock.now();
    /** Cancelled (`swiftvr cancel`): the rendition ends with EXT-X-ENDLIST where it stands. */
    const cancelled = async (): Promise<boolean> => {
      if ((await store.head(layout.cancel)) === undefined) return false;
      await ctx.publisher.endLive(layout);
      ctx.log({ event: 'live-ended', job: m.job, after: done, reason: 'job cancelled' });
      return true;
    };
    const handBack = async (): Promise<boolean> => {
      const late = ctx.clock.now() - started > 0.8 * ctx.o.consume.handlerTimeoutMs;
      if (!ctx.draining() && !late) return false;
      const next: JobMessage = { type: 'live', job: m.job, sourceKey: m.sourceKey };
      await ctx.o.queue.send(next, { group: `${m.job}#live`, dedupId: `live:${m.job}:after:${done}:${Date.now()}` });
      ctx.log({
        event: 'handed-back',
        type: 'live',
        job: m.job,
        after: done,
        reason: ctx.draining() ? 'worker stopping' : 'handler timeout near',
      });
      return true;
    };
    for (;;) {
      signal.throwIfAborted();
      if (await cancelled()) return;
      if (await handBack()) return;
      const plan = await readStoredPlan(store, m.sourceKey, signal);
      const stream = streamOf(plan, m.job, 'live', store);
      const specs = plan.media.segments.map((s) => segmentSpecOf(s, store));
      if (!recorded) {
        await ctx.records.write(plan, m.sourceKey, stream, 1, undefined, m.estimate);
        recorded = true;
      }
      note(specs);
      const messages = segmentMessages(stream, specs, { shards: 1, endList: plan.media.endList });
      for (const sm of messages) {
        if (sm.segment.sn <= done && !(sm.last && sm.segment.sn === done)) continue;
        const availableAt = await (firstSeen.get(sm.segment.sn) ?? Promise.resolve(new Date(ctx.clock.now())));
        if (await cancelled()) return;
        await liveSegment(sm, availableAt);
        done = sm.segment.sn;
        firstSeen.delete(done);
        lastProgress = ctx.clock.now();
        if (sm.last) {
          await jobComplete(ctx, layout, await ctx.records.read(layout));
          return;
        }
        if (await handBack()) return;
      }
      if (plan.media.endList) {
        await jobComplete(ctx, layout, await ctx.records.read(layout));
        return;
      }
      if (ctx.clock.now() - lastProgress > ctx.o.liveIdleTimeoutMs) {
        // The source stopped for good: players are told the rendition ended, and the job says why.
        const reason = `live source ${m.sourceKey} gained no segment for ${ctx.o.liveIdleTimeoutMs} ms and has no EXT-X-ENDLIST`;
        await ctx.publisher.endLive(layout);
        await ctx.records.recordError(
          m,
          new SwiftvrError('bad-input', `${reason}; the rendition was ended with EXT-X-ENDLIST after sn ${done}`, {
            context: { stream: m.job, uri: m.sourceKey },
          }),
          1,
          1,
          false,
        );
        ctx.log({ event: 'live-ended', job: m.job, after: done, reason });
        return;
      }
      await sleep(ctx.o.livePollMs, undefined, { signal });
    }
  }
}
