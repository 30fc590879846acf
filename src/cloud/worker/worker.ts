// The cloud worker: takes job messages from the queue and runs them against the object store.
//   vod      read the source, write the job record, fan out segment messages    (vod-job.ts)
//   live     follow the source playlist until EXT-X-ENDLIST                     (live-job.ts)
//   segment  restore one segment with carried state, then publish it            (segment-job.ts)
// This file is the lifecycle (start, stop with drain) and the dispatch; restorers live in the
// pool (restorer-pool.ts), outputs are published by rendition-publisher.ts, records by job-records.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { isSwiftvrError } from '../../errors.js';
import { JobLayout, parseJobMessage, type JobMessage } from '../jobs.js';
import type { ReceivedMessage, RunningConsumer } from '../queue/job-queue.js';
import { taskProtection, type TaskProtection } from '../task-protection.js';
import { StoreEventSink } from '../events.js';
import { JobRecords } from './job-records.js';
import { systemClock } from '../../util/clock.js';
import { followLive } from './live-job.js';
import { RenditionPublisher } from './rendition-publisher.js';
import { Pace } from './pace.js';
import { RestorerPool } from './restorer-pool.js';
import { runSegmentJob } from './segment-job.js';
import { fanOutVod } from './vod-job.js';
import type { WorkerContext, WorkerOptions } from './worker-context.js';
import type { WorkerLog } from './worker-events.js';

export type { WorkerOptions } from './worker-context.js';
export type { SegmentOutcome } from './segment-job.js';

export class Worker {
  readonly o: WorkerOptions;
  readonly workerId: string;
  private readonly log: WorkerLog;
  private readonly protection: TaskProtection;
  private ctx: WorkerContext | undefined;
  private consumer: RunningConsumer | undefined;
  private maxReceives: number | undefined;
  /** Set by stop(): long live follows hand their message back at the next segment boundary. */
  private draining = false;

  constructor(options: WorkerOptions) {
    this.o = options;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}`;
    this.log = options.log ?? ((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    this.protection = taskProtection({ agentUri: options.ecsAgentUri, log: this.log });
  }

  /** Opens the restorers and starts consuming. */
  async start(): Promise<void> {
    const { store } = this.o;
    const workDir = await mkdtemp(path.join(tmpdir(), 'swiftvr-worker-'));
    try {
      const pool = await RestorerPool.open(this.o.consume.concurrency, this.o.openRestorer, store, workDir, this.log);
      const events = new StoreEventSink(store, this.o.outputPrefix, this.o.events, this.log);
      this.ctx = {
        o: this.o,
        workerId: this.workerId,
        log: this.log,
        workDir,
        events,
        records: new JobRecords(store, this.o.outputPrefix, this.o.sourcePrefix, this.workerId, this.log, events, this.o.estimate),
        pool,
        publisher: new RenditionPublisher(store, this.o.liveWindow, this.log),
        pace: new Pace(),
        draining: () => this.draining,
        clock: this.o.clock ?? systemClock,
      };
      this.maxReceives = await this.o.queue.maxReceives();
      // The store answers (credentials, bucket), cheaply: a listing of a prefix that holds nothing.
      await store.list(`${new JobLayout(this.o.outputPrefix, '.swiftvr-start-probe').root}/`);
    } catch (e) {
      await this.ctx?.pool.close();
      this.ctx = undefined;
      await rm(workDir, { recursive: true, force: true });
      throw e;
    }
    this.consumer = this.o.queue.consume((m) => this.handle(m), {
      ...this.o.consume,
      onQueueError: (e) => this.log({ event: 'queue-error', message: e instanceof Error ? e.message : String(e) }),
    });
    this.log({
      event: 'worker-started',
      worker: this.workerId,
      queue: this.o.queue.name,
      store: store.name,
      slots: this.ctx.pool.size,
      instanceType: this.o.instanceType ?? 'local',
      pricePerHour: this.o.pricePerHour ?? null,
    });
    if (this.o.instanceType !== undefined && this.o.instanceType !== 'local' && this.o.pricePerHour === undefined) {
      this.log({
        event: 'instance-type-unpriced',
        instanceType: this.o.instanceType,
        message: `instance type ${this.o.instanceType} has no price in the price table; job costs stay unpriced (add it, or give --prices <file>)`,
      });
    }
  }

  /** Stops taking messages, waits for in-flight ones (drain), releases the restorers. */
  async stop(): Promise<void> {
    this.draining = true;
    await this.consumer?.stop();
    this.consumer = undefined;
    this.protection.close();
    const ctx = this.ctx;
    this.ctx = undefined;
    if (ctx !== undefined) {
      await ctx.pool.close();
      await rm(ctx.workDir, { recursive: true, force: true });
    }
    this.log({ event: 'worker-stopped', worker: this.workerId });
  }

  /** One queue message. Throws to have it redelivered (and, after maxReceives, dead-lettered). */
  async handle(received: ReceivedMessage<JobMessage>): Promise<void> {
    const ctx = this.ctx;
    if (ctx === undefined) throw new Error('worker is not started');
    const receivedAt = Date.now();
    let message: JobMessage | undefined;
    await this.protection.acquire();
    try {
      message = parseJobMessage(received.body);
      const job = jobOf(message)!;
      // A cancelled job's queued messages are dropped (deleted) as they arrive.
      if ((await ctx.o.store.head(new JobLayout(this.o.outputPrefix, job).cancel)) !== undefined) {
        this.log({
          event: 'message-dropped',
          job,
          type: message.type,
          ...(message.type === 'segment' ? { sn: message.segment.sn } : {}),
          reason: 'job cancelled',
        });
        return;
      }
      switch (message.type) {
        case 'vod':
          await fanOutVod(ctx, message, received.signal);
          return;
        case 'live':
          await followLive(ctx, message, received.signal);
          return;
        case 'segment':
          await runSegmentJob(ctx, message, {
            signal: received.signal,
            queueWaitSeconds: Math.max(0, (receivedAt - received.sentAt.getTime()) / 1000),
            availableAt: received.sentAt,
            attempt: received.receiveCount,
          });
          return;
      }
    } catch (e) {
      // Stopped by a cancel of its job: done, nothing to record or retry.
      const job = jobOf(message);
      if (
        job !== undefined &&
        (await ctx.o.store.head(new JobLayout(this.o.outputPrefix, job).cancel).catch(() => undefined)) !== undefined
      ) {
        this.log({ event: 'message-dropped', job, type: message?.type, reason: 'job cancelled while it ran' });
        return;
      }
      // Bad input fails the same way every time: to the dead-letter queue at once, not after
      // the queue's receive limit. Anything else is tried again.
      const hopeless = isSwiftvrError(e) && e.kind === 'bad-input' && this.maxReceives !== undefined;
      await ctx.records.recordError(message ?? received.body, e, received.receiveCount, this.maxReceives, hopeless);
      if (hopeless && (await this.o.queue.deadLetter(received, e.message))) {
        this.log({
          event: 'dead-lettered',
          job: jobOf(message),
          sn: message?.type === 'segment' ? message.segment.sn : undefined,
          reason: e.message,
        });
        return;
      }
      throw e;
    } finally {
      await this.protection.release();
    }
  }
}

const jobOf = (m: JobMessage | undefined): string | undefined =>
  m === undefined ? undefined : m.type === 'segment' ? m.stream.job : m.job;
