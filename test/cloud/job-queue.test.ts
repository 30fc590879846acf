// One contract, two queues: the in-process queue and SQS FIFO on moto (through sqs-consumer).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumeOptions, JobQueue, ReceivedMessage } from '../../src/cloud/queue/job-queue.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { makeSqsClient, SqsQueue } from '../../src/cloud/queue/sqs-queue.js';
import { startMoto, type Moto } from './moto-server.js';
import { createFifoQueues, readDlq } from './sqs-setup.js';

interface Msg {
  readonly group: string;
  readonly n: number;
}

let moto: Moto;
let counter = 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

interface Harness {
  queue: JobQueue<Msg>;
  deadLetters(): Promise<Msg[]>;
}

async function make(kind: string, maxReceives: number, visibilitySeconds = 5): Promise<Harness> {
  if (kind === 'memory') {
    const q = new MemoryQueue<Msg>({ maxReceives });
    return { queue: q, deadLetters: async () => q.deadLetters.map((d) => d.body) };
  }
  const sqs = makeSqsClient({ region: 'us-east-1', endpoint: moto.endpoint });
  const { queueUrl, dlqUrl } = await createFifoQueues(sqs, `q${counter++}`, maxReceives, visibilitySeconds);
  return { queue: new SqsQueue<Msg>({ client: sqs, queueUrl }), deadLetters: async () => (await readDlq(sqs, dlqUrl)) as Msg[] };
}

const opts = (o: Partial<ConsumeOptions> = {}): ConsumeOptions => ({
  concurrency: 2,
  visibilityTimeoutSeconds: 5,
  heartbeatSeconds: 1,
  handlerTimeoutMs: 20_000,
  waitTimeSeconds: 1,
  ...o,
});

async function until(cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe.each(['memory', 'sqs'])('%s queue', (kind) => {
  it('delivers each group in order, one at a time, while two consumers work on different groups', async () => {
    const { queue } = await make(kind, 5);
    for (let n = 0; n < 4; n++) for (const group of ['a', 'b']) await queue.send({ group, n }, { group, dedupId: `${group}-${n}` });
    const seen: Record<string, number[]> = { a: [], b: [] };
    const active: Record<string, number> = { a: 0, b: 0 };
    let maxActivePerGroup = 0;
    let maxActive = 0;
    const consumer = queue.consume(async (m: ReceivedMessage<Msg>) => {
      active[m.body.group]!++;
      maxActivePerGroup = Math.max(maxActivePerGroup, active[m.body.group]!);
      maxActive = Math.max(maxActive, active.a! + active.b!);
      await sleep(300);
      seen[m.body.group]!.push(m.body.n);
      active[m.body.group]!--;
    }, opts());
    await until(() => seen.a!.length === 4 && seen.b!.length === 4);
    await consumer.stop();
    expect(seen).toEqual({ a: [0, 1, 2, 3], b: [0, 1, 2, 3] });
    expect(maxActivePerGroup).toBe(1);
    expect(maxActive).toBe(2);
  });

  it('drops a message whose deduplication id was already sent', async () => {
    const { queue } = await make(kind, 5);
    await queue.send({ group: 'g', n: 1 }, { group: 'g', dedupId: 'same' });
    await queue.send({ group: 'g', n: 2 }, { group: 'g', dedupId: 'same' });
    await queue.send({ group: 'g', n: 3 }, { group: 'g', dedupId: 'other' });
    const got: number[] = [];
    const c = queue.consume(async (m) => void got.push(m.body.n), opts({ concurrency: 1 }));
    await until(() => got.length >= 2);
    // A marker sent last in the same group: a repeat of 'same' could only arrive before it.
    await queue.send({ group: 'g', n: 4 }, { group: 'g', dedupId: 'marker' });
    await until(() => got.includes(4));
    await c.stop();
    expect(got).toEqual([1, 3, 4]);
  });

  it('redelivers a failed message and dead-letters it after maxReceives, while other groups carry on', async () => {
    const { queue, deadLetters } = await make(kind, 3);
    await queue.send({ group: 'poison', n: 0 }, { group: 'poison', dedupId: 'p0' });
    await queue.send({ group: 'ok', n: 0 }, { group: 'ok', dedupId: 'o0' });
    await queue.send({ group: 'ok', n: 1 }, { group: 'ok', dedupId: 'o1' });
    const counts: number[] = [];
    const ok: number[] = [];
    const c = queue.consume(async (m) => {
      if (m.body.group === 'poison') {
        counts.push(m.receiveCount);
        throw new Error('poison');
      }
      ok.push(m.body.n);
    }, opts());
    let dead: Msg[] = [];
    await until(async () => {
      dead = dead.concat(await deadLetters());
      return dead.length > 0 && ok.length === 2;
    });
    await c.stop();
    expect(counts).toEqual([1, 2, 3]);
    expect(dead).toEqual([{ group: 'poison', n: 0 }]);
    expect(ok).toEqual([0, 1]);
    expect(await queue.maxReceives()).toBe(3);
  });

  it('moves a message to the dead-letter queue at once when asked, body and group unchanged, once', async () => {
    const { queue, deadLetters } = await make(kind, 5);
    await queue.send({ group: 'bad', n: 7 }, { group: 'bad', dedupId: 'b7' });
    const counts: number[] = [];
    const c = queue.consume(async (m) => {
      counts.push(m.receiveCount);
      expect(await queue.deadLetter(m, 'segment sn=7 is not a video')).toBe(true);
      expect(await queue.deadLetter(m, 'segment sn=7 is not a video')).toBe(true); // a retried call adds nothing
    }, opts());
    await until(() => counts.length > 0);
    // Time for a redelivery, were the original not deleted.
    await new Promise((r) => setTimeout(r, 1500));
    await c.stop();
    expect(counts).toEqual([1]);
    expect(await deadLetters()).toEqual([{ group: 'bad', n: 7 }]);
  });

  it('keeps a slow message invisible with the heartbeat and drains it on stop', async () => {
    const { queue } = await make(kind, 5, 2);
    await queue.send({ group: 'slow', n: 0 }, { group: 'slow', dedupId: 's0' });
    let started = 0;
    let finished = 0;
    const c = queue.consume(
      async () => {
        started++;
        await sleep(3500); // longer than the 2 s visibility timeout
        finished++;
      },
      opts({ visibilityTimeoutSeconds: 2, heartbeatSeconds: 1 }),
    );
    await until(() => started === 1);
    await c.stop(); // must wait for the handler
    expect(finished).toBe(1);
    expect(started).toBe(1);
    // Nothing comes back: the message was deleted after the handler finished. A marker sent to the
    // same group afterwards could not overtake it, so once the marker arrives the answer is in.
    await queue.send({ group: 'slow', n: 1 }, { group: 'slow', dedupId: 's1' });
    const after: number[] = [];
    const c2 = queue.consume(async (m) => void after.push(m.body.n), opts({ visibilityTimeoutSeconds: 2, heartbeatSeconds: 1 }));
    await until(() => after.includes(1));
    await c2.stop();
    expect(after).toEqual([1]);
  });

  it('refuses a heartbeat that is not shorter than the visibility timeout', async () => {
    const { queue } = await make(kind, 5);
    expect(() => queue.consume(async () => undefined, opts({ visibilityTimeoutSeconds: 2, heartbeatSeconds: 2 }))).toThrow(
      'heartbeatInterval (2 s) must be >= 1 s and less than visibilityTimeout (2 s)',
    );
  });
});
