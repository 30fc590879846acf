// Recovery from the dead-letter queue: `swiftvr status` names the next step, `swiftvr redrive`
// refuses while the source is still bad, sends the message back once it is fixed (the VOD is then
// published), or, with --gap, publishes the VOD with an EXT-X-GAP entry for it.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobLayout, type JobMessage } from '../../src/cloud/jobs.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import type { S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { SqsQueue } from '../../src/cloud/queue/sqs-queue.js';
import { formatStatus, readJobStatus } from '../../src/cloud/status.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { cli, FIXTURE_TS, makeWorker, until, uploadDir, type LogLine } from './cloud-harness.js';
import { startMotoWithBucket, type Moto } from './moto-server.js';
import { createFifoQueues, queueBacklog } from './sqs-setup.js';

const BUCKET = 'media';
let moto: Moto;
let store: S3ObjectStore;
let sqs: SQSClient;

beforeAll(async () => {
  ({ moto, store, sqs } = await startMotoWithBucket(BUCKET));
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

/** A VOD whose segment 1 is corrupt, restored until that segment is dead-lettered. */
async function poisoned(name: string): Promise<{ queueUrl: string; dlqUrl: string; logs: LogLine[]; stop: () => Promise<void> }> {
  await uploadDir(store, FIXTURE_TS, `input/${name}`);
  await store.put(`input/${name}/96x64/seg_001.ts`, new Uint8Array(4096).fill(0x47));
  const { queueUrl, dlqUrl } = await createFifoQueues(sqs, name, 3, 3);
  const queue = new SqsQueue<JobMessage>({ client: sqs, queueUrl });
  const logs: LogLine[] = [];
  const worker = makeWorker(store, queue, logs, {
    workerId: name,
    consume: { visibilityTimeoutSeconds: 3, heartbeatSeconds: 1, waitTimeSeconds: 1 },
  });
  await worker.start();
  await submitJob(queue, jobMessageOf({ input: `s3://${BUCKET}/input/${name}/index.m3u8`, live: false, shards: 1 }, 'input'));
  await until(
    () => logs.some((l) => l.event === 'dead-lettered') && logs.filter((l) => l.event === 'segment-done').length === 2,
    60_000,
    'segment 1 dead-lettered',
  );
  return { queueUrl, dlqUrl, logs, stop: () => worker.stop() };
}

const rendition = (name: string): string => new JobLayout('output', `${name}/index`).rendition;
const store_ = (): string[] => ['--bucket', BUCKET, '--endpoint', moto.endpoint, '--source-prefix', 'input', '--output-prefix', 'output'];

describe('swiftvr redrive', () => {
  it('status names the next step; redrive refuses while the source is bad, then sends it back once fixed, and the VOD is published', async () => {
    const { queueUrl, dlqUrl, stop } = await poisoned('rd');
    try {
      const status = await readJobStatus(store, 'output', 'rd/index');
      expect(status.deadLettered).toEqual([1]);
      expect(status.published).toBe(false);
      const text = formatStatus(status);
      expect(text).toContain('next       sn 1 (input/rd/96x64/seg_001.ts) failed for good and sits in the dead-letter queue');
      expect(text).toContain('Fix the source, then run: swiftvr redrive rd/index --queue-url <job queue URL>');
      expect(text).toContain('swiftvr redrive rd/index --gap');

      const refused = await cli('redrive', 'rd/index', '--queue-url', queueUrl, ...store_());
      expect(refused.code).toBe(2);
      expect(refused.out).toMatch(
        /segment sn=1 \(input\/rd\/96x64\/seg_001\.ts\): still bad, left in the dead-letter queue: .*truncated or corrupt/,
      );
      expect(refused.err).toContain(
        'swiftvr: 1 dead-lettered message(s) of rd/index still fail and stay in the dead-letter queue (0 sent back)',
      );
      expect(await queueBacklog(sqs, dlqUrl)).toBe(1);

      // The operator fixes the source.
      await store.put('input/rd/96x64/seg_001.ts', new Uint8Array(await readFile(path.join(FIXTURE_TS, '96x64/seg_001.ts'))));
      const sent = await cli('redrive', 'rd/index', '--queue-url', queueUrl, ...store_());
      expect(sent.err).toBe('');
      expect(sent).toMatchObject({ code: 0 });
      expect(sent.out).toContain('segment sn=1 (input/rd/96x64/seg_001.ts): the source reads now; sent back to the job queue');
      await until(async () => (await store.head(rendition('rd'))) !== undefined, 60_000, 'VOD published');
      const playlist = HLS.parse(bytesToText((await store.get(rendition('rd')))!.body)) as MediaPlaylist;
      expect(playlist.segments.map((s) => [s.uri, s.gap ?? false])).toEqual([
        ['seg_000000.ts', false],
        ['seg_000001.ts', false],
        ['seg_000002.ts', false],
      ]);
      expect((await readJobStatus(store, 'output', 'rd/index')).deadLettered).toEqual([]);
      expect(await queueBacklog(sqs, dlqUrl)).toBe(0);
    } finally {
      await stop();
    }
  });

  it('--gap publishes the VOD with an EXT-X-GAP entry for a segment whose source stays bad', async () => {
    const { queueUrl, stop } = await poisoned('rdgap');
    try {
      const r = await cli('redrive', 'rdgap/index', '--queue-url', queueUrl, '--gap', ...store_());
      expect(r.code).toBe(0);
      expect(r.out).toContain('segment sn=1 (input/rdgap/96x64/seg_001.ts): still bad');
      expect(r.out).toContain('sent back to be published as an EXT-X-GAP entry');
      await until(async () => (await store.head(rendition('rdgap'))) !== undefined, 60_000, 'VOD published');
      const text = bytesToText((await store.get(rendition('rdgap')))!.body);
      const playlist = HLS.parse(text) as MediaPlaylist;
      expect(playlist.version).toBe(8);
      expect(playlist.segments.map((s) => s.gap ?? false)).toEqual([false, true, false]);
      const status = await readJobStatus(store, 'output', 'rdgap/index');
      expect(status).toMatchObject({ gaps: [1], deadLettered: [], published: true });
      expect(formatStatus(status)).toContain('gaps       sn 1 published as EXT-X-GAP');
    } finally {
      await stop();
    }
  });

  it('needs the job queue and a job', async () => {
    expect(await cli('redrive', '--bucket', BUCKET)).toMatchObject({
      code: 2,
      err: expect.stringContaining('redrive takes exactly one <job>; got 0'),
    });
    expect(await cli('redrive', 'x/index', '--bucket', BUCKET)).toMatchObject({
      code: 2,
      err: expect.stringContaining('redrive needs the job queue: give --queue-url'),
    });
  });
});
