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
let hdr: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-cloud-picture-'));
  src = await mkdtemp(path.join(tmpdir(), 'swiftvr-cloud-picture-src-'));
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=176x144:rate=50,scroll=horizontal=0.02',
    '-t',
    '2',
    '-vf',
    'interlace=scan=tff,setsar=12/11',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-flags',
    '+ilme+ildct',
    '-x264opts',
    'tff=1',
    '-g',
    '25',
    '-bsf:v',
    'h264_metadata=colour_primaries=3:transfer_characteristics=3:matrix_coefficients=6',
    '-f',
    'hls',
    '-hls_time',
    '1',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(src, 'seg_%03d.ts'),
    path.join(src, 'index.m3u8'),
  ]);
  hdr = await mkdtemp(path.join(tmpdir(), 'swiftvr-cloud-hdr-src-'));
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=128x72:rate=25',
    '-t',
    '2',
    '-pix_fmt',
    'yuv420p10le',
    '-c:v',
    'libx265',
    '-x265-params',
    `log-level=error:keyint=25:open-gop=0:bframes=0:hdr10=1:master-display=${MASTER_DISPLAY}:max-cll=1000,400`,
    '-color_primaries',
    'bt2020',
    '-color_trc',
    'smpte2084',
    '-colorspace',
    'bt2020nc',
    '-f',
    'hls',
    '-hls_time',
    '1',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    'fmp4',
    '-hls_fmp4_init_filename',
    'init.mp4',
    '-hls_segment_filename',
    path.join(hdr, 'seg_%03d.m4s'),
    path.join(hdr, 'index.m3u8'),
  ]);
});

const MASTER_DISPLAY = 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)';

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });
  await rm(hdr, { recursive: true, force: true });
});

/** Uploads `source` as input/<name> and runs it as a VOD job through one worker; no error may be logged. */
async function restoreVod(source: string, name: string): Promise<FsObjectStore> {
  const store = new FsObjectStore(dir);
  await uploadDir(store, source, `input/${name}`);
  const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
  const logs: LogLine[] = [];
  const w = makeWorker(store, queue, logs, { workerId: 'w' });
  await w.start();
  try {
    await submitJob(queue, jobMessageOf({ input: `s3://local/input/${name}/index.m3u8`, live: false, shards: 1 }, 'input'));
    await until(() => queue.depth === 0, 60_000, 'job done');
  } finally {
    await w.stop();
  }
  expect(logs.filter((l) => l.event === 'error')).toEqual([]);
  return store;
}

describe('picture properties in the cloud worker', () => {
  it('keeps SAR, deinterlaces, leaves the reserved tags unspecified and records all of it per segment', async () => {
    const store = await restoreVod(src, 'pal');
    const playlist = bytesToText((await store.get('output/pal/index/restored/media.m3u8'))!.body);
    const first = /^seg_\d+\.ts$/m.exec(playlist)![0];
    const seg = path.join(dir, 'seg.ts');
    await writeFile(seg, (await store.get(`output/pal/index/restored/${first}`))!.body);
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-of',
      'json',
      '-show_entries',
      'stream=width,height,sample_aspect_ratio,field_order,color_space,color_primaries,color_transfer',
      seg,
    ]);
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

  it('restores HDR10 at 10 bits with its mastering display and light level, and records it per segment', async () => {
    const store = await restoreVod(hdr, 'hdr');
    const playlist = bytesToText((await store.get('output/hdr/index/restored/media.m3u8'))!.body);
    const first = /^seg_\d+\.m4s$/m.exec(playlist)![0];
    const init = /URI="([^"]+)"/.exec(playlist)![1]!;
    const seg = path.join(dir, 'hdr-seg.mp4');
    await writeFile(
      seg,
      Buffer.concat([
        (await store.get(`output/hdr/index/restored/${init}`))!.body,
        (await store.get(`output/hdr/index/restored/${first}`))!.body,
      ]),
    );
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-of',
      'json',
      '-show_entries',
      'stream=codec_name,pix_fmt,color_transfer',
      seg,
    ]);
    expect((JSON.parse(stdout) as { streams: unknown[] }).streams[0]).toEqual({
      codec_name: 'hevc',
      pix_fmt: 'yuv420p10le',
      color_transfer: 'smpte2084',
    });
    const { stdout: frames } = await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-of',
      'json',
      '-read_intervals',
      '%+#1',
      '-show_entries',
      'frame_side_data',
      seg,
    ]);
    const side = (JSON.parse(frames) as { frames: { side_data_list: { side_data_type: string; max_content?: number }[] }[] }).frames[0]!
      .side_data_list;
    expect(side.find((d) => d.side_data_type === 'Content light level metadata')?.max_content).toBe(1000);
    expect(side.some((d) => d.side_data_type === 'Mastering display metadata')).toBe(true);
    const metrics = JSON.parse(bytesToText((await store.get('output/hdr/index/segments/000000.json'))!.body)) as {
      picture: { carried: Record<string, string> };
    };
    expect(metrics.picture.carried['hdr']).toBe(`PQ, 10-bit HEVC Main 10; mastering display ${MASTER_DISPLAY}; MaxCLL 1000, MaxFALL 400`);
  });
});
