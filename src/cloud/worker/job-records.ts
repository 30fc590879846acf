// The job record (written once when a job starts, read back schema-checked) and the error
// records of failed attempts; with them the job's SUBMITTED and ERROR events.
import { isSwiftvrError, SwiftvrError, withContext } from '../../errors.js';
import { jobEvent, noEvents, type EventSink } from '../../events/job-events.js';
import { indexJob } from '../progress.js';
import type { SourcePlan } from '../../types.js';
import { JobLayout, jobIdOf, parseJobRecord, type JobRecord, type SegmentSpec, type StreamSpec } from '../jobs.js';
import { bytesToText, isPreconditionFailed, type ObjectStore } from '../object-store/object-store.js';
import type { ErrorRecord, WorkerLog } from './worker-events.js';
import type { JobEstimate } from '../../estimate/estimate.js';

/** Makes a new job's estimate from its source plan (kept in its job record). */
export type JobEstimator = (plan: SourcePlan, sourceKey: string, shards: number, signal?: AbortSignal) => Promise<JobEstimate>;

export class JobRecords {
  constructor(
    private readonly store: ObjectStore,
    private readonly outputPrefix: string,
    private readonly sourcePrefix: string,
    private readonly workerId: string,
    private readonly log: WorkerLog,
    private readonly events: EventSink = noEvents,
    private readonly estimator?: JobEstimator,
  ) {}

  /** The job's estimate, or none when no estimator is set or the estimate cannot be made (logged). */
  private async estimate(plan: SourcePlan, sourceKey: string, job: string, shards: number): Promise<JobEstimate | undefined> {
    if (this.estimator === undefined) return undefined;
    try {
      return await this.estimator(plan, sourceKey, shards);
    } catch (e) {
      this.log({ event: 'estimate-failed', job, message: e instanceof Error ? e.message : String(e) });
      return undefined;
    }
  }

  /**
   * Creates the job record once; a later writer (redelivery, another worker) leaves it as is. The
   * job's SUBMITTED event goes out with it (a repeat of it is dropped by the event sink).
   */
  async write(
    plan: SourcePlan,
    sourceKey: string,
    stream: StreamSpec,
    shards: number,
    segments: readonly SegmentSpec[] | undefined,
    submitted?: JobEstimate,
  ): Promise<void> {
    const layout = new JobLayout(this.outputPrefix, stream.job);
    // Made once, for the record's first writer (a redelivery finds the record and skips it).
    // The submitter's estimate when it made one, else the worker's.
    const estimate =
      (await this.store.head(layout.record)) === undefined
        ? (submitted ?? (await this.estimate(plan, sourceKey, stream.job, shards)))
        : undefined;
    const record: JobRecord = {
      job: stream.job,
      sourceKey,
      mediaKey: stream.mediaKey,
      ...(plan.multivariant === undefined ? {} : { multivariantKey: sourceKey }),
      container: stream.container,
      targetDuration: stream.targetDuration,
      mode: stream.mode,
      shards,
      ...(segments === undefined ? {} : { segments: [...segments] }),
      createdAt: new Date().toISOString(),
      ...(estimate === undefined ? {} : { estimate }),
    };
    try {
      await this.store.put(layout.record, JSON.stringify(record, null, 2), {
        condition: { ifNoneMatch: '*' },
        contentType: 'application/json',
      });
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
    }
    // Also when the record existed: a worker that died between the two sends it now (same id).
    const stored = await this.read(layout);
    await indexJob(this.store, this.outputPrefix, {
      job: stored.job,
      mode: stored.mode,
      source: stored.sourceKey,
      createdAt: stored.createdAt,
    });
    await this.events.publish(
      jobEvent(
        'SUBMITTED',
        stored.job,
        {
          input: stored.sourceKey,
          mode: stored.mode,
          segments: stored.segments === undefined ? null : stored.segments.length,
          durationSeconds:
            stored.segments === undefined ? null : Math.round(stored.segments.reduce((t, s) => t + s.duration, 0) * 1000) / 1000,
        },
        { now: () => new Date(stored.createdAt) },
      ),
    );
  }

  async read(layout: JobLayout): Promise<JobRecord> {
    const where = `${this.store.name}/${layout.record}`;
    const got = await this.store.get(layout.record);
    if (got === undefined) throw new SwiftvrError('internal', `job record ${where} is missing`, { context: { stream: layout.job } });
    let json: unknown;
    try {
      json = JSON.parse(bytesToText(got.body));
    } catch (e) {
      throw new SwiftvrError('internal', `job record ${where} is not JSON: ${(e as Error).message}`, { context: { stream: layout.job } });
    }
    return parseJobRecord(json, where);
  }

  /** One record per failed attempt, naming the segment; `final` when the next stop is the DLQ. */
  /** `final`: no attempt follows (the receive limit is reached, or the message was dead-lettered at once). */
  /** `jobGoesOn`: the failure is the segment's alone (a live gap): no job ERROR event. */
  async recordError(
    body: unknown,
    e: unknown,
    attempt: number,
    maxReceives: number | undefined,
    deadLetteredNow = false,
    jobGoesOn = false,
  ): Promise<void> {
    const m = (typeof body === 'object' && body !== null ? body : {}) as {
      type?: unknown;
      job?: unknown;
      sourceKey?: unknown;
      stream?: { job?: unknown };
      segment?: { sn?: unknown; key?: unknown };
    };
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const job =
      str(m.stream?.job) ?? str(m.job) ?? (str(m.sourceKey) === undefined ? undefined : safeJobId(str(m.sourceKey)!, this.sourcePrefix));
    const err = isSwiftvrError(e) ? e : withContext(e, {});
    const sn = typeof m.segment?.sn === 'number' && Number.isInteger(m.segment.sn) && m.segment.sn >= 0 ? m.segment.sn : undefined;
    const record: ErrorRecord = {
      job,
      sn,
      segment: str(m.segment?.key),
      type: str(m.type),
      attempt,
      final: deadLetteredNow || (maxReceives !== undefined && attempt >= maxReceives),
      kind: err.kind,
      code: err.code,
      ...(err.context.stage === undefined ? {} : { stage: err.context.stage }),
      retryable: err.retryable,
      message: err.message,
      worker: this.workerId,
      at: new Date().toISOString(),
    };
    this.log({ event: 'error', ...record });
    if (job === undefined) return;
    // No attempt follows: the job cannot go on past this (its first such failure is the job's ERROR).
    if (record.final && !jobGoesOn) {
      try {
        await this.events.publish(
          jobEvent('ERROR', job, {
            code: err.kind,
            reason: err.message.split('\n')[0]!.slice(0, 1000) || 'failed',
            ...(sn === undefined ? {} : { sn }),
          }),
        );
      } catch (eventError) {
        this.log({
          event: 'job-event-failed',
          type: 'ERROR',
          job,
          message: eventError instanceof Error ? eventError.message : String(eventError),
        });
      }
    }
    let layout: JobLayout;
    try {
      layout = new JobLayout(this.outputPrefix, job);
    } catch {
      return;
    }
    try {
      await this.store.put(sn === undefined ? layout.jobError(attempt) : layout.error(sn, attempt), JSON.stringify(record, null, 2), {
        contentType: 'application/json',
      });
    } catch (writeError) {
      this.log({ event: 'error-record-failed', job, sn, message: writeError instanceof Error ? writeError.message : String(writeError) });
    }
  }
}

const safeJobId = (key: string, prefix: string): string | undefined => {
  try {
    return jobIdOf(key, prefix);
  } catch {
    return undefined;
  }
};
