// The router (and its Lambda handler) against S3 + SQS FIFO on moto: EventBridge "Object Created"
// events for source playlists become ordered segment messages; everything else is ignored;
// playlists that point outside their bucket, host or prefix are refused.

import { ReceiveMessageCommand, DeleteMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage, SegmentMessage } from '../../src/cloud/jobs.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import type { S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { SqsQueue } from '../../src/cloud/queue/sqs-queue.js';
import { handler, readRouterEnv } from '../../src/cloud/router-lambda.js';
import { routeObjectCreated, type ObjectCreatedEvent } from '../../src/cloud/router.js';
import { FIXTURE_TS, makeWorker, until, uploadDir, type LogLine } from './cloud-harness.js';
import { startMotoWithBucket, type Moto } from './moto-server.js';
import { createFifoQueues } from './sqs-setup.js';

const BUCKET = 'ingest';
let moto: Moto;
let store: S3ObjectStore;
let sqs: SQSClient;
let n = 0;

beforeAll(async () => {
  ({ moto, store, sqs } = await startMotoWithBucket(BUCKET));
  await uploadDir(store, FIXTURE_TS, 'input/vod');
});

afterAll(async () => {
  await moto?.stop();
});

/** The EventBridge event S3 sends for a new object (the fields the router reads, plus typical others). */
const created = (key: string, bucket = BUCKET): ObjectCreatedEvent =>
  ({
    version: '0',
    source: 'aws.s3',
    'detail-type': 'Object Created',
    detail: { version: '0', bucket: { name: bucket }, object: { key, size: 100, etag: 'abc' }, reason: 'PutObject' },
  }) as ObjectCreatedEvent;

async function drain(queueUrl: string): Promise<SegmentMessage[]> {
  const out: SegmentMessage[] = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    if (!r.Messages?.length) return out;
    for (const m of r.Messages) {
      out.push(JSON.parse(m.Body!) as SegmentMessage);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

async function newQueue(): Promise<{ queue: SqsQueue<JobMessage>; queueUrl: string }> {
  const { queueUrl } = await createFifoQueues(sqs, `router${n++}`, 3, 5);
  return { queue: new SqsQueue<JobMessage>({ client: sqs, queueUrl }), queueUrl };
}

describe('router', () => {
  it('turns a media playlist write into one segment message per segment, in order, with the segment before', async () => {
    const { queue, queueUrl } = await newQueue();
    const r = await routeObjectCreated(created('input/vod/96x64/media.m3u8'), {
      store,
      queue,
      sourcePrefix: 'input/',
      outputPrefix: 'output/',
    });
    expect(r).toEqual({ action: 'queued', key: 'input/vod/96x64/media.m3u8', job: 'vod/96x64/media', sns: [0, 1, 2] });
    const msgs = await drain(queueUrl);
    expect(msgs.map((m) => [m.segment.sn, m.segment.key, m.prev?.sn, m.last])).toEqual([
      [0, 'input/vod/96x64/seg_000.ts', undefined, false],
      [1, 'input/vod/96x64/seg_001.ts', 0, false],
      [2, 'input/vod/96x64/seg_002.ts', 1, true],
    ]);
    expect(msgs[0]!.stream).toEqual({
      job: 'vod/96x64/media',
      mediaKey: 'input/vod/96x64/media.m3u8',
      container: 'ts',
      targetDuration: 1,
      mode: 'vod',
    });
    const record = JSON.parse(bytesToText((await store.get('output/vod/96x64/media/job.json'))!.body)) as { segments: unknown[] };
    expect(record.segments).toHaveLength(3);
  });

  it('ignores segments, output keys, other buckets and multivariant playlists, saying why', async () => {
    const { queue, queueUrl } = await newQueue();
    const deps = { store, queue, sourcePrefix: 'input/', outputPrefix: 'output/' };
    const reasons = await Promise.all(
      [
        created('input/vod/96x64/seg_000.ts'),
        created('output/vod/96x64/media/restored/media.m3u8'),
        created('elsewhere/x.m3u8'),
        created('input/vod/96x64/media.m3u8', 'other'),
        created('input/vod/index.m3u8'),
      ].map(async (e) => {
        const r = await routeObjectCreated(e, deps);
        return r.action === 'ignored' ? r.reason : 'queued';
      }),
    );
    expect(reasons).toEqual([
      'not a playlist: segments are routed when a playlist lists them',
      'key is under the output prefix output/ (our own output)',
      'key is outside the source prefix input/',
      `bucket other is not ${BUCKET}`,
      'a multivariant playlist: its media playlists are routed as they are written (or submit it as a job)',
    ]);
    expect(await drain(queueUrl)).toEqual([]);
  });

  it('refuses a playlist whose URIs point to another bucket, another host or outside its prefix', async () => {
    const { queue, queueUrl } = await newQueue();
    const deps = { store, queue, sourcePrefix: 'input/', outputPrefix: 'output/' };
    const cases: [string, RegExp][] = [
      [
        's3://elsewhere/input/bad/seg.ts',
        /URI s3:\/\/elsewhere\/input\/bad\/seg\.ts names bucket elsewhere, but the input's bucket is ingest/,
      ],
      ['http://cdn.example.net/seg.ts', /URI http:\/\/cdn\.example\.net\/seg\.ts names host cdn\.example\.net/],
      ['../../private/seg.ts', /URI \.\.\/\.\.\/private\/seg\.ts resolves to key private\/seg\.ts, outside the input prefix input\/bad\//],
      ['%2e%2e/%2e%2e/private/seg.ts', /outside the input prefix input\/bad\/|\. or \.\. segments/],
    ];
    for (const [uri, rule] of cases) {
      await store.put('input/bad/media.m3u8', `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${uri}\n`);
      await expect(routeObjectCreated(created('input/bad/media.m3u8'), deps)).rejects.toThrow(rule);
    }
    expect(await drain(queueUrl)).toEqual([]);
  });

  it('as a Lambda: reads QUEUE_URL, SOURCE_PREFIX, OUTPUT_PREFIX once and names a missing one', async () => {
    expect(() => readRouterEnv({ AWS_REGION: 'us-east-1', SOURCE_PREFIX: '', OUTPUT_PREFIX: 'output/' })).toThrow(
      'environment variable QUEUE_URL must be set to a non-empty value',
    );
    expect(() => readRouterEnv({ AWS_REGION: 'us-east-1', QUEUE_URL: 'q', OUTPUT_PREFIX: 'output/' })).toThrow(
      'environment variable SOURCE_PREFIX must be set (it may be empty)',
    );
    const { queueUrl } = await newQueue();
    Object.assign(process.env, { QUEUE_URL: queueUrl, SOURCE_PREFIX: 'input/', OUTPUT_PREFIX: 'output/', SWIFTVR_ENDPOINT: moto.endpoint });
    const r = await handler(created('input/vod/48x32/media.m3u8'));
    expect(r).toMatchObject({ action: 'queued', job: 'vod/48x32/media', sns: [0, 1, 2] });
    expect((await drain(queueUrl)).map((m) => m.segment.key)).toEqual([
      'input/vod/48x32/seg_000.ts',
      'input/vod/48x32/seg_001.ts',
      'input/vod/48x32/seg_002.ts',
    ]);
  });

  it('drives a live rendition from playlist events: new segments only, ENDLIST when the source ends', async () => {
    const { queue } = await newQueue();
    const deps = { store, queue, sourcePrefix: 'input/', outputPrefix: 'output/' };
    const logs: LogLine[] = [];
    const worker = makeWorker(store, queue, logs, { workerId: 'routed' });
    await worker.start();
    const seg = await Promise.all([0, 1, 2].map((i) => readFile(path.join(FIXTURE_TS, `96x64/seg_00${i}.ts`))));
    const playlist = (count: number, ended: boolean): string =>
      ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0']
        .concat(Array.from({ length: count }, (_, i) => [`#EXTINF:1.000,`, `s${i}.ts`]).flat())
        .concat(ended ? ['#EXT-X-ENDLIST'] : [])
        .join('\n') + '\n';
    const routed: number[][] = [];
    for (let i = 1; i <= 3; i++) {
      await store.put(`input/cam/s${i - 1}.ts`, new Uint8Array(seg[i - 1]!));
      await store.put('input/cam/live.m3u8', playlist(i, false));
      const r = await routeObjectCreated(created('input/cam/live.m3u8'), deps);
      routed.push(r.action === 'queued' ? [...r.sns] : []);
      await until(() => logs.filter((l) => l.event === 'segment-done').length === i, 30_000, `segment ${i - 1} done`);
    }
    // The source ends; its last segment is already published, so only the closing message goes out.
    await store.put('input/cam/live.m3u8', playlist(3, true));
    const last = await routeObjectCreated(created('input/cam/live.m3u8'), deps);
    await until(
      async () => bytesToText((await store.get('output/cam/live/restored/media.m3u8'))!.body).includes('#EXT-X-ENDLIST'),
      30_000,
      'ENDLIST',
    );
    await worker.stop();
    expect(routed).toEqual([[0], [1], [2]]);
    expect(last).toMatchObject({ action: 'queued', sns: [2] });
    const text = bytesToText((await store.get('output/cam/live/restored/media.m3u8'))!.body);
    expect(text).not.toContain('#EXT-X-PLAYLIST-TYPE');
    expect(text.match(/^seg_\d+\.ts$/gm)).toEqual(['seg_000000.ts', 'seg_000001.ts', 'seg_000002.ts']);
    expect(logs.filter((l) => l.event === 'segment-done').map((l) => l.sn)).toEqual([0, 1, 2]);
  });
});
