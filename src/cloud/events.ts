// Job events in the cloud: every event is kept in the job's folder in the store under its id
// (`<job>/events/...`), and sent on (EventBridge) only when it was not there yet, so a redelivered
// message that emits an event again sends nothing new, and a job has one COMPLETE. The store
// copy is also what `swiftvr status` and `swiftvr jobs` read.
import type { WorkerEvent } from './worker/worker-events.js';
import { EventBridgeClient, PutEventsCommand, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, jobEventSchema, type EventSink, type JobEvent } from '../events/job-events.js';
import { JobLayout } from './jobs.js';
import { bytesToText, putOnce, type ObjectStore } from './object-store/object-store.js';

type Log = (line: Extract<WorkerEvent, { event: 'job-event' | 'job-event-failed' }>) => void;

/**
 * Keeps each event in the store (create-once under its id) and forwards it when it is new. The
 * copy is written after the forward succeeds: a crash between the two sends the event again
 * with the same id (consumers drop it by `detail.id`), never loses it.
 */
export class StoreEventSink implements EventSink {
  constructor(
    private readonly store: ObjectStore,
    private readonly outputPrefix: string,
    private readonly forward: EventSink | undefined,
    private readonly log: Log,
  ) {}

  async publish(event: JobEvent): Promise<void> {
    try {
      const key = new JobLayout(this.outputPrefix, event.job).event(event.id);
      if ((await this.store.head(key)) !== undefined) return;
      await this.forward?.publish(event);
      await putOnce(this.store, key, JSON.stringify(event), { contentType: 'application/json' });
      this.log({ event: 'job-event', type: event.type, job: event.job, id: event.id });
    } catch (e) {
      this.log({
        event: 'job-event-failed',
        type: event.type,
        job: event.job,
        id: event.id,
        message: e instanceof Error ? e.message : String(e),
      });
    }
  }
}

/** The events of a job kept in the store, oldest first (by time, then id). */
export async function storedEvents(store: ObjectStore, layout: JobLayout): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for (const o of await store.list(layout.eventsPrefix)) {
    const got = await store.get(o.key);
    if (got === undefined) continue;
    try {
      out.push(jobEventSchema.parse(JSON.parse(bytesToText(got.body))));
    } catch {
      // not an event this version reads: left out
    }
  }
  return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

export function makeEventBridgeClient(opts: { region: string; endpoint?: string }): EventBridgeClient {
  const config: EventBridgeClientConfig = { region: opts.region };
  if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
  return new EventBridgeClient(config);
}

/**
 * Sends events to an EventBridge bus: source `swiftvr.jobs`, detail-type `SwiftVR Job State
 * Change`, the event as detail. A failed entry is retried twice, then the failure is thrown (the
 * StoreEventSink above logs it and keeps no copy, so the next emission of the same id tries again).
 */
export class EventBridgeSink implements EventSink {
  constructor(
    private readonly client: EventBridgeClient,
    /** Bus name or ARN; `default` for the account's default bus. */
    private readonly busName: string,
  ) {}

  async publish(event: JobEvent): Promise<void> {
    let last = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await this.client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: EVENT_SOURCE,
              DetailType: EVENT_DETAIL_TYPE,
              Detail: JSON.stringify(event),
              EventBusName: this.busName,
              Time: new Date(event.time),
              Resources: [],
            },
          ],
        }),
      );
      const entry = r.Entries?.[0];
      if ((r.FailedEntryCount ?? 0) === 0 && entry?.EventId !== undefined) return;
      last = `${entry?.ErrorCode ?? 'unknown'}: ${entry?.ErrorMessage ?? 'no event id returned'}`;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
    throw new Error(`EventBridge PutEvents to ${this.busName} failed for ${event.id}: ${last}`);
  }
}
