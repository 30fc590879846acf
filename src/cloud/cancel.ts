// Cancelling a job: `swiftvr cancel <job>` creates the job's cancel record (who, when, why) once
// and sends its CANCELED event. Workers read the record: a queued message of the job is dropped
// when it is received, a segment in flight stops at its next frame (nothing of it is stored), and a
// live follow ends its rendition with EXT-X-ENDLIST. A VOD job's rendition and multivariant
// playlists are written only once every segment is stored, so a cancelled VOD job publishes no
// playlist: the segments stored before the cancel are listed nowhere.
import { z } from 'zod';
import { badInput } from '../errors.js';
import { jobEvent, type EventSink } from '../events/job-events.js';
import { JobLayout } from './jobs.js';
import { bytesToText, putOnce, type ObjectStore } from './object-store/object-store.js';

export const cancelRecordSchema = z.object({
  job: z.string().min(1),
  by: z.string().min(1).max(200),
  reason: z.string().min(1).max(1000),
  at: z.iso.datetime(),
});
export type CancelRecord = z.infer<typeof cancelRecordSchema>;

/** The job's cancel record, or undefined while it is not cancelled. */
export async function readCancel(store: ObjectStore, layout: JobLayout): Promise<CancelRecord | undefined> {
  const got = await store.get(layout.cancel);
  if (got === undefined) return undefined;
  const r = cancelRecordSchema.safeParse(JSON.parse(bytesToText(got.body)));
  // A record this version cannot read still cancels: the job must not run on.
  return r.success ? r.data : { job: layout.job, by: 'unknown', reason: 'cancel record unreadable', at: new Date(0).toISOString() };
}

/** Cancels `job` once: the record, then the CANCELED event. 'already' when it was cancelled before. */
export async function cancelJob(o: {
  readonly store: ObjectStore;
  readonly outputPrefix: string;
  readonly job: string;
  readonly by: string;
  readonly reason: string;
  readonly events: EventSink;
  readonly now?: () => Date;
}): Promise<{ readonly result: 'cancelled' | 'already'; readonly record: CancelRecord }> {
  const layout = new JobLayout(o.outputPrefix, o.job);
  if ((await o.store.head(layout.record)) === undefined) {
    throw badInput(
      `job ${o.job} has no job record at ${o.store.name}/${layout.record}; there is nothing to cancel (check the job name and --output-prefix)`,
    );
  }
  const record = cancelRecordSchema.parse({ job: o.job, by: o.by, reason: o.reason, at: (o.now ?? (() => new Date()))().toISOString() });
  if ((await putOnce(o.store, layout.cancel, JSON.stringify(record), { contentType: 'application/json' })) === 'existed') {
    return { result: 'already', record: (await readCancel(o.store, layout))! };
  }
  await o.events.publish(
    jobEvent('CANCELED', o.job, { code: 'canceled', reason: record.reason, by: record.by }, { now: () => new Date(record.at) }),
  );
  return { result: 'cancelled', record };
}

/**
 * Watches a job's cancel record while one of its segments runs (a HEAD every `everyMs`); `signal`
 * aborts when it appears or when `parent` aborts. Call stop() when the segment is done.
 */
export function watchCancel(
  store: ObjectStore,
  layout: JobLayout,
  parent: AbortSignal,
  everyMs = 1000,
): {
  readonly signal: AbortSignal;
  cancelled(): boolean;
  stop(): void;
} {
  const controller = new AbortController();
  let cancelled = false;
  const onParent = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onParent, { once: true });
  const timer = setInterval(() => {
    void store.head(layout.cancel).then(
      (h) => {
        if (h !== undefined && !controller.signal.aborted) {
          cancelled = true;
          controller.abort(new Error(`job ${layout.job} was cancelled`));
        }
      },
      () => {},
    );
  }, everyMs);
  timer.unref();
  return {
    signal: controller.signal,
    cancelled: () => cancelled,
    stop: () => {
      clearInterval(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}
