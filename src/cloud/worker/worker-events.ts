// What a worker says as it works: one JSON line per event on stdout (CloudWatch Logs in AWS; the
// `segment-done` line is also an embedded-metric document). Each event is one member of this union,
// so a line's fields are checked where it is written and known where it is read.
import type { SegmentDoneLine } from '../metrics.js';

type Job = { readonly job: string };
type Segment = Job & { readonly sn: number };
type Why = { readonly message: string };

export type WorkerEvent =
  | {
      readonly event: 'worker-started';
      readonly worker: string;
      readonly queue: string;
      readonly store: string;
      readonly slots: number;
      readonly instanceType: string;
      readonly pricePerHour: number | null;
    }
  | { readonly event: 'worker-stopped'; readonly worker: string }
  | ({ readonly event: 'instance-type-unpriced'; readonly instanceType: string } & Why)
  | ({ readonly event: 'queue-error' } & Why)
  | (Job & { readonly event: 'message-dropped'; readonly type: string | undefined; readonly sn?: number; readonly reason: string })
  | { readonly event: 'dead-lettered'; readonly job: string | undefined; readonly sn: number | undefined; readonly reason: string }
  | (Job & { readonly event: 'vod-fanned-out'; readonly segments: number; readonly shards: number })
  | (Job & { readonly event: 'vod-published'; readonly segments: number; readonly gaps?: number })
  | (Job & { readonly event: 'multivariant-published'; readonly key: string })
  | (Segment & { readonly event: 'segment-start'; readonly attempt: number; readonly worker: string })
  | (Segment & { readonly event: 'segment-skipped'; readonly reason: string })
  | (Segment & { readonly event: 'segment-gap'; readonly reason?: string })
  | (Segment & { readonly event: 'segment-fallback'; readonly reason: string; readonly plainSeconds: number })
  | (Segment & Why & { readonly event: 'segment-retry'; readonly attempt: number; readonly waitMs: number })
  | SegmentDoneLine
  | (Segment & { readonly event: 'state-loaded'; readonly from: number })
  | (Segment & { readonly event: 'state-warmed'; readonly on: number })
  | (Segment & Why & { readonly event: 'state-warm-failed'; readonly on: number })
  | (Job & { readonly event: 'live-ended'; readonly after: number; readonly reason: string })
  | (Job & { readonly event: 'handed-back'; readonly type: 'live'; readonly after: number; readonly reason: string })
  | { readonly event: 'job-event'; readonly type: string; readonly job: string; readonly id: string }
  | (Why & { readonly event: 'job-event-failed'; readonly type: string; readonly job: string; readonly id?: string; readonly sn?: number })
  | (Job & Why & { readonly event: 'estimate-failed' })
  | ({ readonly event: 'error' } & ErrorRecord)
  | (Why & { readonly event: 'error-record-failed'; readonly job: string; readonly sn: number | undefined })
  | { readonly event: 'task-protection'; readonly enabled: boolean }
  | (Why & { readonly event: 'task-protection-failed'; readonly enabled: boolean });

/** The record of one failed attempt (errors/<sn>-<attempt>.json), also logged as an `error` event. */
export interface ErrorRecord {
  readonly job: string | undefined;
  readonly sn: number | undefined;
  readonly segment: string | undefined;
  readonly type: string | undefined;
  readonly attempt: number;
  /** No attempt follows: the next stop is the dead-letter queue. */
  readonly final: boolean;
  readonly kind: string;
  readonly code: string;
  /** Where in the segment's run it failed (load, probe, restore, encode, ...), when known. */
  readonly stage?: string;
  readonly retryable: boolean;
  readonly message: string;
  readonly worker: string;
  readonly at: string;
}

/** Where a worker's events go: one JSON line each on stdout unless told otherwise. */
export type WorkerLog = (line: WorkerEvent) => void;
