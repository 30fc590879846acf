// Picture properties through the cloud worker: the same segment step as the local restore, so an
// anamorphic, interlaced source with a colour tag the encoder cannot write restores with its shape
// kept, progressive out, the tag left unspecified, and each segment's metrics record saying so.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { makeWorker, until, uploadDir, type LogLine } from './cloud-harness.js';

const run = promisify(execFile);
let dir: string;
let src: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-cloud-picture-'));
  src = await mkdtemp(path.join(tmpdir(), 'swiftvr-cloud-picture-src-'));
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=176x144:rate=50,scroll=horizontal=0.02', '-t', '2',
    '-vf', 'interlace=scan=tff,setsar=12/11', '-c:v', 'libx264', '-preset', 'veryfast', '-flags', '+ilme+ildct', '-x264opts', 'tff=1',
    '-g', '25', '-bsf:v', 'h264_metadata=colour_primaries=3:transfer_characteristics=3:matrix_coefficients=6',
    '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', path.join(src, 'seg_%03d.ts'), path.join(src, 'index.m3u8')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });
});

describe('picture properties in the cloud worker', () => {
  it('keeps SAR, deinterlaces, leaves the reserved tags unspecified and records all of it per segment', async () => {
    const store = new FsObjectStore(dir);
    await uploadDir(store, src, 'input/pal');
    const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
    const logs: LogLine[] = [];
    const w = makeWorker(store, queue, logs, { workerId: 'w' });
    await w.start();
    try {
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/pal/index.m3u8', live: false, shards: 1 }, 'input'));
      await until(() => queue.depth === 0, 60_000, 'job done');
    } finally {
      await w.stop();
    }
    expect(logs.filter((l) => l.event === 'error')).toEqual([]);
    const playlist = bytesToText((await store.get('output/pal/index/restored/media.m3u8'))!.body);
    const first = /^seg_\d+\.ts$/m.exec(playlist)![0];
    const seg = path.join(dir, 'seg.ts');
    await writeFile(seg, (await store.get(`output/pal/index/restored/${first}`))!.body);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-of', 'json', '-show_entries',
      'stream=width,height,sample_aspect_ratio,field_order,color_space,color_primaries,color_transfer', seg]);
    const s = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams[0]!;
    expect([s['width'], s['height'], s['sample_aspect_ratio']]).toEqual([352, 288, '12:11']);
    expect(s['field_order'] ?? 'progressive').toBe('progressive');
    expect(s['color_space']).toBe('smpte170m');
    expect(s['color_primaries'] ?? 'unknown').toBe('unknown');
    const metrics = JSON.parse(bytesToText((await store.get('output/pal/index/segments/000000.json'))!.body)) as {
      picture: { carried: Record<string, string>; applied: string[]; dropped: string[] };
    };
    expect(metrics.picture.carried['sar']).toBe('12:11');
    expect(metrics.picture.dropped).toEqual(['primaries reserved', 'transfer reserved']);
    expect(metrics.picture.applied.join()).toContain('deinterlaced');
  });
});
