// VOD completion and the multivariant: the rendition is published once every segment is stored,
// at a cost that does not grow with the square of the stream length, and the multivariant lists
// what the restored segments really are, never a guessed size or rate.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText, type ObjectStore } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { FIXTURE_TS, makeWorker, until, uploadDir, type LogLine } from './cloud-harness.js';

const run = promisify(execFile);
let dir: string;
let short: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-vodpub-'));
  // 16 segments of 2 frames each: more segments than a job makes listings, so a listing per segment shows.
  short = await mkdtemp(path.join(tmpdir(), 'swiftvr-vodpub-src-'));
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=96x64:rate=10',
    '-t',
    '3.2',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '2',
    '-keyint_min',
    '2',
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-f',
    'hls',
    '-hls_time',
    '0.2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(short, 'seg_%03d.ts'),
    path.join(short, 'index.m3u8'),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(short, { recursive: true, force: true });
});

/** The store, counting list requests by prefix. */
function counting(store: ObjectStore): { store: ObjectStore; lists: string[] } {
  const lists: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'list') return (prefix: string) => (lists.push(prefix), target.list(prefix));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, lists };
}

async function runJob(store: ObjectStore, input: string, shards: number): Promise<LogLine[]> {
  const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
  const logs: LogLine[] = [];
  const w = makeWorker(store, queue, logs, { workerId: 'w' });
  await w.start();
  try {
    await submitJob(queue, jobMessageOf({ input: `s3://local/${input}`, live: false, shards }, 'input'));
    await until(() => queue.depth === 0, 60_000, 'job done');
  } finally {
    await w.stop();
  }
  expect(logs.filter((l) => l.event === 'error')).toEqual([]);
  return logs;
}

describe('VOD publishing', () => {
  it.each([1, 3])('publishes a 16-segment VOD in %i shard(s) with a constant number of listings', async (shards) => {
    const { store, lists } = counting(new FsObjectStore(path.join(dir, `s${shards}`)));
    await uploadDir(store, short, 'input/sixteen');
    const logs = await runJob(store, 'input/sixteen/index.m3u8', shards);
    expect(logs.filter((l) => l.event === 'segment-done')).toHaveLength(16);
    const text = bytesToText((await store.get('output/sixteen/index/restored/media.m3u8'))!.body);
    expect(text.match(/^seg_\d+\.ts$/gm)).toHaveLength(16);
    expect(text).toContain('#EXT-X-ENDLIST');
    // Listings of the job's outputs: per finished shard its restored segments and gap markers, and the
    // shard markers; once for the rendition its gap markers (the worker's start-up probe lists elsewhere).
    // Never one per segment.
    const jobLists = lists.filter((prefix) => prefix.startsWith('output/sixteen/'));
    expect(jobLists.length).toBeLessThanOrEqual(3 * shards + 2);
    expect(jobLists.length).toBeLessThan(16);
  });

  it('lists the restored variant with the real size and frame rate when the source variant states neither', async () => {
    const store = new FsObjectStore(path.join(dir, 'mv'));
    await uploadDir(store, FIXTURE_TS, 'input/bare');
    const text = bytesToText((await store.get('input/bare/index.m3u8'))!.body)
      .replace(/,RESOLUTION=\d+x\d+/g, '')
      .replace(/,FRAME-RATE=[\d.]+/g, '');
    await store.put('input/bare/index.m3u8', text);
    await runJob(store, 'input/bare/index.m3u8', 1);
    const mv = bytesToText((await store.get('output/bare/index/index.m3u8'))!.body);
    const restored = mv
      .split('\n')
      .find((l) => l.includes('restored/media.m3u8') === false && l.startsWith('#EXT-X-STREAM-INF') && l.includes('192x128'));
    expect(restored, mv).toBeDefined();
    expect(restored).toMatch(/FRAME-RATE=10\.000/);
    expect(mv).not.toMatch(/RESOLUTION=1x1|RESOLUTION=2x2/);
  });
});
