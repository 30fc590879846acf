// Job queue boundary: SQS FIFO in the cloud, an in-process queue in the embedded default.
// Semantics both keep: messages of one group are delivered in order and one at a time; a
// message whose handler fails (or whose worker dies) comes back; after `maxReceives`
// deliveries it moves to the dead-letter queue; a message that can never succeed can be moved
// there at once; a repeated deduplication id is dropped.
import { SwiftvrError } from '../../errors.js';

export interface SendOptions {
  /** FIFO group: one stream (or one shard of a VOD stream). */
  readonly group: string;
  /** Same id within the deduplication window = same message (dropped). */
  readonly dedupId: string;
}

export interface ReceivedMessage<T> {
  readonly id: string;
  readonly body: T;
  readonly group: string;
  /** 1 on the first delivery. */
  readonly receiveCount: number;
  readonly sentAt: Date;
  /** Aborted when the handler timeout passes; the handler should stop and throw. */
  readonly signal: AbortSignal;
}

export type MessageHandler<T> = (message: ReceivedMessage<T>) => Promise<void>;

export interface ConsumeOptions {
  /** Messages handled at the same time by this process. */
  readonly concurrency: number;
  /** Seconds a received message stays hidden from other workers (renewed by the heartbeat). */
  readonly visibilityTimeoutSeconds: number;
  /** Seconds between visibility extensions while a handler runs; less than the visibility timeout. */
  readonly heartbeatSeconds: number;
  /** A handler running longer than this is aborted and its message returns to the queue. */
  readonly handlerTimeoutMs: number;
  /** Long-poll wait, seconds (SQS: 0..20). */
  readonly waitTimeSeconds: number;
  /** Called when a handler fails (the message will be redelivered or dead-lettered). */
  readonly onHandlerError?: (error: unknown, message: ReceivedMessage<unknown>) => void;
  /** Called on queue transport errors (receive, delete, visibility). */
  readonly onQueueError?: (error: unknown) => void;
}

export interface RunningConsumer {
  /** Stops receiving; resolves once every in-flight handler has finished (drain). */
  stop(): Promise<void>;
}

export interface JobQueue<T> {
  readonly name: string;
  send(body: T, options: SendOptions): Promise<void>;
  consume(handler: MessageHandler<T>, options: ConsumeOptions): RunningConsumer;
  /** Deliveries before a message moves to the dead-letter queue (undefined: no DLQ). */
  maxReceives(): Promise<number | undefined>;
  /**
   * Moves a received message to the dead-letter queue now, body unchanged (so a redrive sends it
   * back as it was), with `reason` beside it. The handler then returns normally, which deletes
   * the original. False when the queue has no dead-letter queue (the caller fails the message).
   */
  deadLetter(message: ReceivedMessage<T>, reason: string): Promise<boolean>;
}

/** Validates consumer timings once, with messages that name the rule. */
export function checkConsumeOptions(o: ConsumeOptions): ConsumeOptions {
  const fail = (m: string): never => {
    throw new SwiftvrError('config', m);
  };
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) fail(`concurrency is ${o.concurrency}; it must be an integer >= 1`);
  if (!(o.visibilityTimeoutSeconds >= 1 && Number.isInteger(o.visibilityTimeoutSeconds)))
    fail(`visibilityTimeout is ${o.visibilityTimeoutSeconds} s; it must be an integer >= 1 s`);
  if (!(o.heartbeatSeconds >= 1 && o.heartbeatSeconds < o.visibilityTimeoutSeconds))
    fail(`heartbeatInterval (${o.heartbeatSeconds} s) must be >= 1 s and less than visibilityTimeout (${o.visibilityTimeoutSeconds} s)`);
  if (!(o.handlerTimeoutMs > 0)) fail(`handlerTimeout is ${o.handlerTimeoutMs} ms; it must be > 0`);
  if (!(o.waitTimeSeconds >= 0 && o.waitTimeSeconds <= 20)) fail(`waitTimeSeconds is ${o.waitTimeSeconds}; it must be from 0 to 20`);
  return o;
}
