// What the worker's job handlers share: its options, its name and log, the job records, the
// restorer pool and the rendition publisher.
import type { EventSink } from '../../events/job-events.js';
import type { Clock } from '../../util/clock.js';
import type { EncoderChoice } from '../../pipeline/segment-step.js';
import type { Restorer } from '../../inference/restorer.js';
import type { JobMessage } from '../jobs.js';
import type { ObjectStore } from '../object-store/object-store.js';
import type { ConsumeOptions, JobQueue } from '../queue/job-queue.js';
import type { JobEstimator, JobRecords } from './job-records.js';
import type { WorkerLog } from './worker-events.js';
import type { Pace } from './pace.js';
import type { RenditionPublisher } from './rendition-publisher.js';
import type { RestorerPool } from './restorer-pool.js';

export type { WorkerLog } from './worker-events.js';

export interface WorkerOptions {
  readonly store: ObjectStore;
  readonly queue: JobQueue<JobMessage>;
  /** Opens one restorer (an inference thread with its session) per concurrency slot. */
  readonly openRestorer: () => Promise<Restorer>;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  readonly consume: ConsumeOptions;
  /** Segments kept in live renditions (>= 6). */
  readonly liveWindow: number;
  /** How often a live follower re-reads the source playlist, ms. */
  readonly livePollMs: number;
  /** A live source that gains no segment for this long fails the follow (the message comes back). */
  readonly liveIdleTimeoutMs: number;
  /**
   * Live: seconds from a source segment appearing to its restored one being listed. A segment that
   * would miss it, or whose restore fails for a reason other than bad input, is published as a
   * marked plain upscale instead. @default the stream's target duration (1 s when that is 0)
   */
  readonly liveLatencyBudgetSeconds?: number;
  readonly encoder: EncoderChoice;
  /** Name in metrics and error records. */
  readonly workerId?: string;
  /** Structured log lines (JSON objects); default: one JSON line on stdout. */
  readonly log?: WorkerLog;
  /** ECS agent endpoint ($ECS_AGENT_URI) for task scale-in protection while a message is in flight. */
  readonly ecsAgentUri?: string;
  /**
   * Where job events go besides the store (EventBridge). Every event is also kept in the job's
   * folder, which makes a repeat of it (redelivery) a no-op. @default the store only
   */
  readonly events?: EventSink;
  /** The instance type this worker runs on (`local`: unpriced), and its price per hour when priced. */
  readonly instanceType?: string;
  readonly pricePerHour?: number;
  /**
   * Makes a new job's estimate from its source plan, kept in its job record (the report sets the
   * job's actual figures beside it). @default none: records carry no estimate
   */
  readonly estimate?: JobEstimator;
  /** The time live deadlines, lags and idle limits are reckoned in. @default the system clock */
  readonly clock?: Clock;
}

export interface WorkerContext {
  readonly o: WorkerOptions;
  readonly workerId: string;
  readonly log: WorkerLog;
  /** Scratch folder of this worker (removed when it stops). */
  readonly workDir: string;
  readonly records: JobRecords;
  readonly pool: RestorerPool;
  readonly publisher: RenditionPublisher;
  /** How fast this worker restores and plain-upscales (live deadlines). */
  readonly pace: Pace;
  /** True once the worker is stopping: long live follows hand their message back. */
  readonly draining: () => boolean;
  /** Job events (kept in the store, sent on once). */
  readonly events: EventSink;
  readonly clock: Clock;
}

/** How a segment message reached the worker. */
export interface SegmentTicket {
  readonly signal: AbortSignal;
  readonly queueWaitSeconds: number;
  /** When the segment became available (sent to the queue, or first seen in a live playlist). */
  readonly availableAt: Date;
  readonly attempt: number;
}
