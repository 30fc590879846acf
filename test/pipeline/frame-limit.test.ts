// A tiny stream whose frames are huge is refused on its probe, before a frame is decoded: one
// upload like it must not take a worker's memory.
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SwiftvrError } from '../../src/errors.js';
import { checkFrameSize, frameLimitFor } from '../../src/media/frame-limit.js';
import { restore } from '../../src/pipeline/restore.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from './temp-dirs.js';

const run = promisify(execFile);
const temp = tempDirs('swiftvr-framelimit-');
const silent = { start() {}, frameRate() {}, frames() {}, segment() {}, info() {}, error() {}, stop() {} };

describe('input frame size limit', () => {
  it('takes 1920x1080 (either orientation) on the CPU and 3840x2160 on the GPU, no more', () => {
    const cpu = frameLimitFor('cpu');
    const gpu = frameLimitFor('cuda');
    for (const [w, h] of [
      [1920, 1080],
      [1080, 1920],
      [1280, 720],
    ] as const)
      expect(() => checkFrameSize(w, h, cpu, 'segment sn=0', {})).not.toThrow();
    expect(() => checkFrameSize(2560, 1440, cpu, 'segment sn=3', {})).toThrow(
      'segment sn=3 has 2560x1440 frames; the cpu restorer takes input frames up to 1920x1080 (either orientation)',
    );
    expect(() => checkFrameSize(1920, 1200, cpu, 's', {})).toThrow(SwiftvrError);
    expect(() => checkFrameSize(3840, 2160, gpu, 's', {})).not.toThrow();
    expect(() => checkFrameSize(7680, 4320, gpu, 'segment sn=0', {})).toThrow('the cuda restorer takes input frames up to 3840x2160');
  });

  it('refuses a 7680x4320 stream of a few kilobytes as bad input, before decoding', async () => {
    const src = await temp();
    await run('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=gray:s=7680x4320:r=10',
      '-frames:v',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-qp',
      '40',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_playlist_type',
      'vod',
      '-hls_segment_filename',
      join(src, 'seg_%03d.ts'),
      join(src, 'index.m3u8'),
    ]);
    const bytes = (await Promise.all((await readdir(src)).map(async (f) => (await stat(join(src, f))).size))).reduce((a, b) => a + b, 0);
    expect(bytes).toBeLessThan(100_000);
    const out = await temp();
    const started = Date.now();
    const e = await restore({
      input: join(src, 'index.m3u8'),
      outDir: out,
      modelPath: FIXTURE_MODEL,
      ep: 'cpu',
      encoder: 'libx264',
      progress: silent,
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SwiftvrError);
    expect((e as SwiftvrError).kind).toBe('bad-input');
    expect((e as SwiftvrError).message).toMatch(/segment sn=0 .*has 7680x4320 frames; the cpu restorer takes input frames up to 1920x1080/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await readdir(out)).not.toContain('restored');
  });
});
