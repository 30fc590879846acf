// Parallel VOD: --shards N restores contiguous runs in parallel groups; the first segment of each
// shard warms its state on the segment before it. With a model whose output depends on the carried
// state (the stateful toy: state = mean of the previous chunk), warming reproduces the sequential
// state exactly, so sharded and sequential outputs must be byte-identical.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { makeWorker, snapshot, STATEFUL_TOY_MODEL, until, uploadDir, type LogLine } from './cloud-harness.js';

const run = promisify(execFile);
let dir: string;
let store: FsObjectStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-shards-'));
  const src = path.join(dir, 'src');
  await run('mkdir', ['-p', src]);
  // 6 segments of 2 frames: less than one model chunk each, so state crosses every segment boundary.
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=96x64:rate=10',
    '-t',
    '1.2',
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
    '-x264-params',
    'repeat-headers=1',
    '-f',
    'hls',
    '-hls_time',
    '0.2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(src, 'seg_%03d.ts'),
    path.join(src, 'index.m3u8'),
  ]);
  store = new FsObjectStore(path.join(dir, 'store'));
  for (const name of ['seq', 'par']) await uploadDir(store, src, `input/${name}`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function restoreJob(name: string, shards: number, workers: number, logs: LogLine[]): Promise<void> {
  const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
  const ws = Array.from({ length: workers }, (_, i) =>
    makeWorker(store, queue, logs, { workerId: `${name}${i}`, model: STATEFUL_TOY_MODEL }),
  );
  await Promise.all(ws.map((w) => w.start()));
  await submitJob(queue, jobMessageOf({ input: `s3://local/input/${name}/index.m3u8`, live: false, shards }, 'input'));
  await until(() => queue.depth === 0, 90_000, `${name} done`);
  await Promise.all(ws.map((w) => w.stop()));
}

describe('--shards', () => {
  it('3 shards on 2 workers give the sequential bytes; each shard after the first warms on the segment before it', async () => {
    const seqLogs: LogLine[] = [];
    const parLogs: LogLine[] = [];
    await restoreJob('seq', 1, 1, seqLogs);
    await restoreJob('par', 3, 2, parLogs);
    expect(parLogs.filter((l) => l.event === 'state-warmed').map((l) => [l.sn, l.on])).toEqual([
      [2, 1],
      [4, 3],
    ]);
    expect(seqLogs.filter((l) => l.event === 'state-warmed')).toEqual([]);
    const isOutput = (k: string): boolean => k.startsWith('restored/');
    const [seq, par] = await Promise.all([snapshot(store, 'output/seq/index/', isOutput), snapshot(store, 'output/par/index/', isOutput)]);
    expect([...par.keys()].sort()).toEqual([...seq.keys()].sort());
    expect(seq.size).toBe(7); // 6 segments + media.m3u8
    for (const [k, v] of seq) expect(par.get(k)?.equals(v), k).toBe(true);
    // ffmpeg wrote TARGETDURATION:0 for the 0.2 s source segments (RFC 8216 §4.3.3.1); the output keeps it.
    expect(seq.get('restored/media.m3u8')?.toString('utf8')).toContain('\n#EXT-X-TARGETDURATION:0\n');
  });
});
