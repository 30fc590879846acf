// Router: S3 "Object Created" events (EventBridge detail shape) -> segment messages.
// A source media playlist that was written (created or replaced) is read, and every segment it
// lists that the upscaled rendition does not list yet becomes a segment message in the stream's
// FIFO group. Segment objects themselves are not routed: a writer uploads a segment before the
// playlist that lists it, so the playlist event is the one that knows sn, duration and order.

import { isSwiftvrError } from '../errors.js';
import type { EventSink } from '../events/job-events.js';
import { parseRendition } from '../hls/rendition-playlist.js';
import { dedupOf, groupOf, JobLayout, jobIdOf, segmentMessages, type JobMessage, type StreamSpec } from './jobs.js';
import { bytesToText, joinKey, type ObjectStore } from './object-store/object-store.js';
import type { JobQueue } from './queue/job-queue.js';
import { mediaKeyOf, readStoredPlan, segmentSpecOf } from './source.js';
import { JobRecords } from './worker/job-records.js';

/** The parts of an EventBridge S3 "Object Created" event the router reads. */
export interface ObjectCreatedEvent {
  readonly source?: string;
  readonly 'detail-type'?: string;
  readonly detail: {
    readonly bucket: { readonly name: string };
    readonly object: { readonly key: string; readonly etag?: string; readonly size?: number };
  };
}

export interface RouterDeps {
  readonly store: ObjectStore;
  readonly queue: JobQueue<JobMessage>;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  /** Where the job's SUBMITTED event goes (a StoreEventSink: a repeat is dropped). @default none */
  readonly events?: EventSink;
}

export type RouteResult =
  | { readonly action: 'ignored'; readonly key: string; readonly reason: string }
  | { readonly action: 'queued'; readonly key: string; readonly job: string; readonly sns: readonly number[] };

export async function routeObjectCreated(event: ObjectCreatedEvent, deps: RouterDeps): Promise<RouteResult> {
  const { store, queue } = deps;
  const key = event.detail.object.key;
  const ignored = (reason: string): RouteResult => ({ action: 'ignored', key, reason });
  if (event['detail-type'] !== undefined && event['detail-type'] !== 'Object Created') {
    return ignored(`detail-type ${event['detail-type']} is not "Object Created"`);
  }
  if (event.detail.bucket.name !== store.bucket) return ignored(`bucket ${event.detail.bucket.name} is not ${store.bucket}`);
  const out = joinKey(deps.outputPrefix);
  if (out !== '' && key.startsWith(`${out}/`)) return ignored(`key is under the output prefix ${out}/ (our own output)`);
  const src = joinKey(deps.sourcePrefix);
  if (src !== '' && !key.startsWith(`${src}/`)) return ignored(`key is outside the source prefix ${src}/`);
  if (!key.endsWith('.m3u8')) return ignored('not a playlist: segments are routed when a playlist lists them');

  const job = jobIdOf(key, deps.sourcePrefix);
  const plan = await readStoredPlan(store, key);
  if (plan.multivariant !== undefined) {
    return ignored('a multivariant playlist: its media playlists are routed as they are written (or submit it as a job)');
  }
  const media = plan.media;
  const mode = media.playlistType === 'VOD' ? 'vod' : 'live';
  const stream: StreamSpec = {
    job,
    mediaKey: mediaKeyOf(plan, store),
    container: media.container,
    targetDuration: media.targetDuration,
    mode,
  };
  const specs = media.segments.map((s) => segmentSpecOf(s, store));
  const layout = new JobLayout(deps.outputPrefix, job);
  // The job record, its index entry and its SUBMITTED event, as a worker writes them (once).
  await new JobRecords(store, deps.outputPrefix, deps.sourcePrefix, 'router', () => undefined, deps.events).write(
    plan,
    key,
    stream,
    1,
    mode === 'vod' ? specs : undefined,
  );

  // Skip what the rendition already lists; re-sent ones are dropped by FIFO deduplication
  // (5 minutes) and, after that, skipped by the worker (deterministic output keys).
  const rendition = await store.get(layout.rendition);
  let newest = -1;
  let ended = false;
  if (rendition !== undefined) {
    try {
      const p = parseRendition(bytesToText(rendition.body), layout.rendition);
      newest = p.entries.at(-1)?.sourceSn ?? -1;
      ended = p.ended;
    } catch (e) {
      if (!isSwiftvrError(e)) throw e;
    }
  }
  // The closing message goes out even when its segment is already published: it carries ENDLIST.
  const messages = segmentMessages(stream, specs, { shards: 1, endList: media.endList }).filter(
    (m) => m.segment.sn > newest || (m.last && !ended),
  );
  for (const m of messages) await queue.send(m, { group: groupOf(m), dedupId: dedupOf(m) });
  return { action: 'queued', key, job, sns: messages.map((m) => m.segment.sn) };
}
