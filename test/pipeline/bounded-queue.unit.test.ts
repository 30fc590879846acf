// The bounded queue between pipeline stages: backpressure at capacity, order, close and fail.
import { describe, expect, it } from 'vitest';
import { BoundedQueue, pump } from '../../src/pipeline/bounded-queue.js';

const drain = async <T>(q: BoundedQueue<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of q) out.push(x);
  return out;
};

/** Lets every already-resolved promise continuation run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('BoundedQueue', () => {
  it('refuses a capacity that is not a positive integer, naming it', () => {
    expect(() => new BoundedQueue(0)).toThrow('capacity is 0; it must be an integer >= 1');
    expect(() => new BoundedQueue(1.5)).toThrow('capacity is 1.5');
  });

  it('holds a producer at capacity until the consumer takes an item (backpressure)', async () => {
    const q = new BoundedQueue<number>(2);
    await q.push(1);
    await q.push(2);
    let third = false;
    const pushing = q.push(3).then(() => (third = true));
    await settle();
    expect(third).toBe(false);
    expect(q.size).toBe(2);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    await pushing;
    expect(third).toBe(true);
    expect(q.size).toBe(2);
  });

  it('delivers items in order and ends after close() once the buffer is drained', async () => {
    const q = new BoundedQueue<number>(3);
    const consumed = drain(q);
    for (const n of [1, 2, 3, 4, 5]) await q.push(n);
    q.close();
    expect(await consumed).toEqual([1, 2, 3, 4, 5]);
    await expect(q.push(6)).rejects.toThrow('push() after close()');
  });

  it('fail() makes both ends throw the first error and drops what is buffered', async () => {
    const q = new BoundedQueue<number>(1);
    await q.push(1);
    const blocked = q.push(2);
    q.fail(new Error('decoder broke'));
    q.fail(new Error('second failure is ignored'));
    await expect(blocked).rejects.toThrow('decoder broke');
    await expect(drain(q)).rejects.toThrow('decoder broke');
    expect(q.size).toBe(0);
  });

  it('pump() closes the queue at the end of the source and fails it when the source throws', async () => {
    const ok = new BoundedQueue<number>(1);
    const consumed = drain(ok);
    await pump(
      (async function* () {
        yield 1;
        yield 2;
      })(),
      ok,
    );
    expect(await consumed).toEqual([1, 2]);

    const bad = new BoundedQueue<number>(4);
    await expect(
      pump(
        (async function* () {
          yield 1;
          throw new Error('corrupt segment');
        })(),
        bad,
      ),
    ).rejects.toThrow('corrupt segment');
    await expect(drain(bad)).rejects.toThrow('corrupt segment');
  });
});
