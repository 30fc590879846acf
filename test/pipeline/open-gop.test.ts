// Every frame is restored, in its place, whether segments start at an IDR picture (closed GOP) or
// at an HEVC CRA / H.264 recovery point whose leading pictures reference the previous segment
// (open GOP: libx265's default), in MPEG-TS and fMP4.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { restore } from '../../src/pipeline/restore.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from './temp-dirs.js';

const run = promisify(execFile);
const temp = tempDirs('swiftvr-opengop-');
const silent = { start() {}, frameRate() {}, frames() {}, segment() {}, info() {}, error() {}, stop() {} };

const CODECS = {
  'H.264 closed GOP': ['-c:v', 'libx264', '-x264-params', 'keyint=25:min-keyint=25:scenecut=0:repeat-headers=1'],
  'H.264 open GOP': ['-c:v', 'libx264', '-x264-params', 'keyint=25:min-keyint=25:scenecut=0:repeat-headers=1:open-gop=1'],
  'HEVC closed GOP': ['-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=25:min-keyint=25:scenecut=0:open-gop=0'],
  'HEVC open GOP (x265 default)': ['-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=25:min-keyint=25:scenecut=0'],
} as const;

/** Raw yuv420p frames of a whole stream as ffmpeg decodes it continuously. */
async function decodeAll(input: string, scale?: string): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      input,
      '-map',
      '0:v:0',
      '-fps_mode',
      'passthrough',
      ...(scale ? ['-vf', `scale=${scale}:flags=bicubic`] : []),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 1 << 28 },
  );
  return stdout;
}

function framePsnrs(a: Buffer, b: Buffer, frameBytes: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + frameBytes <= Math.min(a.length, b.length); o += frameBytes) {
    let se = 0;
    for (let i = o; i < o + frameBytes; i++) se += (a[i]! - b[i]!) ** 2;
    out.push(se === 0 ? 99 : 10 * Math.log10((255 * 255 * frameBytes) / se));
  }
  return out;
}

describe.each(['ts', 'fmp4'] as const)('%s segments', (container) => {
  it.each(Object.keys(CODECS) as (keyof typeof CODECS)[])('%s: every frame restored, in order', async (codec) => {
    const src = await temp();
    const ext = container === 'ts' ? 'ts' : 'm4s';
    await run('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x96:rate=25',
      '-t',
      '3',
      ...CODECS[codec],
      '-pix_fmt',
      'yuv420p',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_playlist_type',
      'vod',
      ...(container === 'fmp4' ? ['-hls_segment_type', 'fmp4'] : []),
      '-hls_segment_filename',
      join(src, `seg_%03d.${ext}`),
      join(src, 'index.m3u8'),
    ]);
    const out = await temp();
    const summary = await restore({
      input: join(src, 'index.m3u8'),
      outDir: out,
      modelPath: FIXTURE_MODEL,
      ep: 'cpu',
      encoder: 'libx264',
      quality: 0,
      progress: silent,
    });
    expect(summary.segments.length).toBeGreaterThanOrEqual(3);
    // The restored rendition against ffmpeg's own continuous decode of the source, upscaled as
    // the fixture model does (bicubic): same frame count, and each frame in its place.
    const media = join(out, 'x2/index.m3u8');
    expect(await readFile(join(out, 'index.m3u8'), 'utf8')).toContain('x2/index.m3u8');
    const [want, got] = await Promise.all([decodeAll(join(src, 'index.m3u8'), '320:192'), decodeAll(media)]);
    const frameBytes = 320 * 192 * 1.5;
    expect(got.length / frameBytes).toBe(75);
    expect(want.length / frameBytes).toBe(75);
    const psnr = framePsnrs(want, got, frameBytes);
    expect(Math.min(...psnr), `frame PSNRs ${psnr.map((p) => p.toFixed(0)).join(' ')}`).toBeGreaterThan(35);
  });
});
