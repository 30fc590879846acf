// In-process job queue (embedded default) with the SQS FIFO semantics the workers rely on:
// per-group order with one message in flight per group, visibility timeout and redelivery,
// a dead-letter list after maxReceives deliveries, and a 5-minute deduplication window.

import { randomUUID } from 'node:crypto';
import {
  checkConsumeOptions,
  type ConsumeOptions,
  type JobQueue,
  type MessageHandler,
  type ReceivedMessage,
  type RunningConsumer,
  type SendOptions,
} from './job-queue.js';

const DEDUP_WINDOW_MS = 5 * 60_000;

interface Entry<T> {
  readonly id: string;
  readonly body: T;
  readonly group: string;
  readonly sentAt: Date;
  receiveCount: number;
  /** Epoch ms before which the message is invisible (in flight or just failed). */
  invisibleUntil: number;
  inFlight: boolean;
}

export interface DeadLetter<T> {
  readonly body: T;
  readonly group: string;
  readonly receiveCount: number;
  /** Why it was moved before its receive limit (absent: the limit was reached). */
  readonly reason?: string;
}

export class MemoryQueue<T> implements JobQueue<T> {
  readonly name: string;
  /** Messages moved here after maxReceives deliveries. */
  readonly deadLetters: DeadLetter<T>[] = [];
  private readonly entries: Entry<T>[] = [];
  /** Ids of messages moved to deadLetters by deadLetter() (a repeated call adds nothing). */
  private readonly deadLettered = new Set<string>();
  private readonly dedup = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly maxReceiveCount: number | undefined;

  constructor(opts: { name?: string; maxReceives?: number } = {}) {
    this.name = opts.name ?? 'memory';
    this.maxReceiveCount = opts.maxReceives;
  }

  async maxReceives(): Promise<number | undefined> {
    return this.maxReceiveCount;
  }

  async deadLetter(message: ReceivedMessage<T>, reason: string): Promise<boolean> {
    if (this.maxReceiveCount === undefined) return false;
    if (this.deadLettered.has(message.id)) return true;
    this.deadLettered.add(message.id);
    this.deadLetters.push({ body: structuredClone(message.body), group: message.group, receiveCount: message.receiveCount, reason });
    return true;
  }

  async send(body: T, options: SendOptions): Promise<void> {
    const now = Date.now();
    for (const [k, t] of this.dedup) if (now - t > DEDUP_WINDOW_MS) this.dedup.delete(k);
    if (this.dedup.has(options.dedupId)) return;
    this.dedup.set(options.dedupId, now);
    // Structured clone: a consumer must never share objects with the sender.
    this.entries.push({
      id: randomUUID(),
      body: structuredClone(body),
      group: options.group,
      sentAt: new Date(now),
      receiveCount: 0,
      invisibleUntil: 0,
      inFlight: false,
    });
    this.wake();
  }

  /** Messages not yet deleted (in flight or waiting). */
  get depth(): number {
    return this.entries.length;
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** The next deliverable message: the head of a group that has nothing in flight. */
  private take(): Entry<T> | undefined {
    const now = Date.now();
    const blocked = new Set<string>();
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.inFlight && e.invisibleUntil <= now) e.inFlight = false; // visibility expired
      if (blocked.has(e.group)) continue;
      blocked.add(e.group);
      if (e.inFlight || e.invisibleUntil > now) continue;
      if (this.maxReceiveCount !== undefined && e.receiveCount >= this.maxReceiveCount) {
        this.entries.splice(i, 1);
        this.deadLetters.push({ body: e.body, group: e.group, receiveCount: e.receiveCount });
        blocked.delete(e.group);
        i--;
        continue;
      }
      return e;
    }
    return undefined;
  }

  consume(handler: MessageHandler<T>, options: ConsumeOptions): RunningConsumer {
    const o = checkConsumeOptions(options);
    let stopping = false;
    const inFlight = new Set<Promise<void>>();
    const run = async (e: Entry<T>): Promise<void> => {
      e.inFlight = true;
      e.receiveCount++;
      e.invisibleUntil = Date.now() + o.visibilityTimeoutSeconds * 1000;
      const heartbeat = setInterval(() => {
        e.invisibleUntil = Date.now() + o.visibilityTimeoutSeconds * 1000;
      }, o.heartbeatSeconds * 1000);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new Error(`handler timed out after ${o.handlerTimeoutMs} ms`)), o.handlerTimeoutMs);
      const message = {
        id: e.id,
        body: structuredClone(e.body),
        group: e.group,
        receiveCount: e.receiveCount,
        sentAt: e.sentAt,
        signal: abort.signal,
      };
      try {
        await Promise.race([
          handler(message),
          new Promise<never>((_, reject) =>
            abort.signal.addEventListener('abort', () => reject(abort.signal.reason as Error), { once: true }),
          ),
        ]);
        const i = this.entries.indexOf(e);
        if (i >= 0) this.entries.splice(i, 1);
      } catch (err) {
        // As sqs-consumer with terminateVisibilityTimeout: visible again at once.
        e.inFlight = false;
        e.invisibleUntil = 0;
        o.onHandlerError?.(err, message);
      } finally {
        clearInterval(heartbeat);
        clearTimeout(timer);
        this.wake();
      }
    };
    const pump = (): void => {
      while (!stopping && inFlight.size < o.concurrency) {
        const e = this.take();
        if (e === undefined) break;
        const p = run(e).finally(() => {
          inFlight.delete(p);
          pump();
        });
        inFlight.add(p);
      }
    };
    this.waiters.add(pump);
    // Redeliveries after a visibility timeout have no event to wake on; poll for them.
    const poll = setInterval(pump, 100);
    queueMicrotask(pump);
    return {
      stop: async () => {
        stopping = true;
        clearInterval(poll);
        this.waiters.delete(pump);
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      },
    };
  }
}
