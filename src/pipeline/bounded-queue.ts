import { SwiftvrError } from '../errors.js';
// A small bounded async queue: producers await push() while it is full, so a fast stage
// cannot run ahead of a slow one by more than `capacity` items (memory stays bounded).
// close() ends iteration after the buffered items; fail(e) makes both ends throw e.

export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: { e: unknown } | undefined;
  private readonly waitingPush: (() => void)[] = [];
  private waitingPull: (() => void) | undefined;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new SwiftvrError('internal', `capacity is ${capacity}; it must be an integer >= 1`);
  }

  get size(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && this.error === undefined && !this.closed) {
      await new Promise<void>((resolve) => this.waitingPush.push(resolve));
    }
    if (this.error !== undefined) throw this.error.e;
    if (this.closed) throw new SwiftvrError('internal', 'push() after close()');
    this.items.push(item);
    this.wakePull();
  }

  /** No more items; the consumer drains what is buffered, then iteration ends. */
  close(): void {
    this.closed = true;
    this.wakePull();
    this.wakePushers();
  }

  /** Abort both ends with `e` (the first failure wins); buffered items are dropped. */
  fail(e: unknown): void {
    if (this.error !== undefined) return;
    this.error = { e };
    this.items.length = 0;
    this.wakePull();
    this.wakePushers();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.error !== undefined) throw this.error.e;
      if (this.items.length > 0) {
        const item = this.items.shift() as T;
        this.wakePushers();
        yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.waitingPull = resolve));
    }
  }

  private wakePull(): void {
    const w = this.waitingPull;
    this.waitingPull = undefined;
    w?.();
  }

  private wakePushers(): void {
    for (const w of this.waitingPush.splice(0)) w();
  }
}

/** Pumps an async iterable into a queue, closing it at the end or failing it on error. */
export async function pump<T>(source: AsyncIterable<T>, queue: BoundedQueue<T>): Promise<void> {
  try {
    for await (const item of source) await queue.push(item);
    queue.close();
  } catch (e) {
    queue.fail(e);
    throw e;
  }
}
