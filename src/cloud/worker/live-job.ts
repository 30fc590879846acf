// Live jobs: follow the source playlist until EXT-X-ENDLIST, restoring new segments in order.
// A follow outlives any one delivery: when the worker stops, or the handler timeout nears, the
// follow continues as a fresh message (fresh receive count, so it never drifts to the DLQ) and this
// one completes. Another worker resumes from the rendition and the checkpoints.
import { setTimeout as sleep } from 'node:timers/promises';
import { SwiftvrError } from '../../errors.js';
import { JobLayout, segmentMessages, type JobMessage } from '../jobs.js';
import { readStoredPlan, segmentSpecOf } from '../source.js';
import { runSegmentJob } from './segment-job.js';
import { streamOf } from './streams.js';
import type { WorkerContext } from './worker-context.js';

export async function followLive(ctx: WorkerContext, m: Extract<JobMessage, { type: 'live' }>, signal: AbortSignal): Promise<void> {
  const { store } = ctx.o;
  const layout = new JobLayout(ctx.o.outputPrefix, m.job);
  // Resume after the newest segment the rendition already lists.
  const current = await ctx.publisher.readRendition(layout);
  let done = current?.playlist.entries.at(-1)?.sourceSn ?? -1;
  if (current?.playlist.ended === true) return;
  // A segment's deadline counts from when it first appeared in the source playlist. A watcher
  // polls the playlist beside the restores, so a segment that appears while another is being
  // restored is dated when it appeared, not when the restore ends.
  const firstSeen = new Map<number, Date>();
  const note = (sns: readonly number[]): void => {
    const now = new Date();
    for (const sn of sns) if (sn > done && !firstSeen.has(sn)) firstSeen.set(sn, now);
  };
  const stopWatch = new AbortController();
  const watchSignal = AbortSignal.any([signal, stopWatch.signal]);
  const watcher = (async () => {
    while (!watchSignal.aborted) {
      // Read failures are the main loop's to report; the watcher only dates segments.
      const plan = await readStoredPlan(store, m.sourceKey, watchSignal).catch(() => undefined);
      if (plan !== undefined) note(plan.media.segments.map((s) => s.sn));
      await sleep(ctx.o.livePollMs, undefined, { signal: watchSignal }).catch(() => {});
    }
  })();
  try {
    await follow();
  } finally {
    stopWatch.abort();
    await watcher;
  }

  async function follow(): Promise<void> {
    let lastProgress = Date.now();
    let recorded = false;
    const started = Date.now();
    const handBack = async (): Promise<boolean> => {
      const late = Date.now() - started > 0.8 * ctx.o.consume.handlerTimeoutMs;
      if (!ctx.draining() && !late) return false;
      const next: JobMessage = { type: 'live', job: m.job, sourceKey: m.sourceKey };
      await ctx.o.queue.send(next, { group: `${m.job}#live`, dedupId: `live:${m.job}:after:${done}:${Date.now()}` });
      ctx.log({ event: 'handed-back', type: 'live', job: m.job, after: done, reason: ctx.draining() ? 'worker stopping' : 'handler timeout near' });
      return true;
    };
    for (;;) {
      signal.throwIfAborted();
      if (await handBack()) return;
      const plan = await readStoredPlan(store, m.sourceKey, signal);
      const stream = streamOf(plan, m.job, 'live', store);
      const specs = plan.media.segments.map((s) => segmentSpecOf(s, store));
      if (!recorded) {
        await ctx.records.write(plan, m.sourceKey, stream, 1, undefined);
        recorded = true;
      }
      note(specs.map((s) => s.sn));
      const now = new Date();
      const messages = segmentMessages(stream, specs, { shards: 1, endList: plan.media.endList });
      for (const sm of messages) {
        if (sm.segment.sn <= done && !(sm.last && sm.segment.sn === done)) continue;
        await runSegmentJob(ctx, sm, { signal, queueWaitSeconds: 0, availableAt: firstSeen.get(sm.segment.sn) ?? now, attempt: 1 });
        done = sm.segment.sn;
        firstSeen.delete(done);
        lastProgress = Date.now();
        if (sm.last) return;
        if (await handBack()) return;
      }
      if (plan.media.endList) return;
      if (Date.now() - lastProgress > ctx.o.liveIdleTimeoutMs) {
        throw new SwiftvrError('transient', `live source ${m.sourceKey} gained no segment for ${ctx.o.liveIdleTimeoutMs} ms and has no EXT-X-ENDLIST`, {
          context: { stream: m.job, uri: m.sourceKey },
        });
      }
      await sleep(ctx.o.livePollMs, undefined, { signal });
    }
  }
}
