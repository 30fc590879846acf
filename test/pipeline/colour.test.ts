// Colours end to end through the CLI: frames travel as the codec's yuv420p planes, so a bicubic
// model reproduces ffmpeg's own bicubic scale, and a player decoding the source and the restored
// variant (each by its tags, or the documented default for an untagged source) sees the same colours.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultMatrix } from '../../src/media/colour.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from './temp-dirs.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const temp = tempDirs('swiftvr-colour-');

async function ffmpeg(args: string[]): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], {
    encoding: 'buffer',
    maxBuffer: 256 << 20,
  });
  return stdout;
}

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function restored(input: string, extra: string[] = []): Promise<string> {
  const out = join(await temp(), 'out');
  const r = await cli([
    'restore',
    input,
    '--out',
    out,
    '--model',
    FIXTURE_MODEL,
    '--ep',
    'cpu',
    '--encoder',
    'libx264',
    '--quiet',
    ...extra,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return join(out, 'x2', 'index.m3u8');
}

interface Tags {
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
}

async function tagsOf(file: string): Promise<Tags> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-of',
    'json',
    '-show_entries',
    'stream=color_space,color_primaries,color_transfer,color_range',
    file,
  ]);
  return (JSON.parse(stdout) as { streams: Tags[] }).streams[0] ?? {};
}

const firstSegment = (playlistDir: string, name: string): string => join(playlistDir, name);

/**
 * Decodes to rgb24 as a player does: with the stream's matrix and range tags, or for an untagged
 * stream the documented default (BT.601 below 720 lines, BT.709 from 720 up; limited range).
 */
async function playerRgb(file: string, w: number, h: number): Promise<Buffer> {
  const t = await tagsOf(file);
  const known = (v: string | undefined): boolean => v !== undefined && v !== 'unknown';
  const matrix = known(t.color_space) ? t.color_space! : defaultMatrix(w, h);
  const swsMatrix = matrix === 'smpte170m' || matrix === 'bt470bg' ? 'bt601' : matrix;
  const range = t.color_range === 'pc' ? 'pc' : 'tv';
  return ffmpeg([
    '-i',
    file,
    '-vf',
    `scale=in_color_matrix=${swsMatrix}:in_range=${range}:flags=bicubic+accurate_rnd,format=rgb24`,
    '-f',
    'rawvideo',
    '-',
  ]);
}

/** Per-frame, per-channel means of rgb24 frames. */
function channelMeans(rgb: Buffer, w: number, h: number): number[][] {
  const n = rgb.length / (w * h * 3);
  const out: number[][] = [];
  for (let f = 0; f < n; f++) {
    const sums = [0, 0, 0];
    const base = f * w * h * 3;
    for (let i = 0; i < w * h * 3; i++) sums[i % 3]! += rgb[base + i]!;
    out.push(sums.map((s) => s / (w * h)));
  }
  return out;
}

function psnr(a: Buffer, b: Buffer): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / Math.max(se / a.length, 1e-10));
}

/** The luma planes of every frame of a stream, as yuv420p. */
async function lumaPlanes(input: string, w: number, h: number, vf?: string): Promise<Buffer> {
  const yuv = await ffmpeg(['-i', input, ...(vf === undefined ? [] : ['-vf', vf]), '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);
  const frame = (w * h * 3) / 2;
  const n = yuv.length / frame;
  return Buffer.concat(Array.from({ length: n }, (_, i) => yuv.subarray(i * frame, i * frame + w * h)));
}

describe('colour-exact pipeline', () => {
  it("a bicubic model through the CLI equals ffmpeg's own bicubic scale of the stream (PSNR-Y >= 45 dB)", async () => {
    const dir = await temp();
    const [w, h] = [160, 96];
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=${w}x${h}:r=25:d=2`,
      '-vf',
      'noise=alls=12:allf=t',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '26',
      '-g',
      '25',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_playlist_type',
      'vod',
      '-hls_segment_filename',
      join(dir, 's%d.ts'),
      join(dir, 'in.m3u8'),
    ]);
    // --crf 0: lossless output encode, so the comparison sees the frames the model produced.
    const out = await restored(join(dir, 'in.m3u8'), ['--crf', '0']);
    const ours = await lumaPlanes(out, 2 * w, 2 * h);
    const plain = await lumaPlanes(join(dir, 'in.m3u8'), 2 * w, 2 * h, `scale=${2 * w}:${2 * h}:flags=bicubic`);
    expect(ours.length).toBe(plain.length);
    expect(psnr(ours, plain)).toBeGreaterThanOrEqual(45);
  });

  const COLOURS = ['red', 'lime', 'blue', 'yellow', 'magenta', 'cyan'];

  it.each([
    { label: 'untagged SD', size: [320, 240], tags: [] as string[] },
    { label: 'untagged HD', size: [1280, 720], tags: [] as string[] },
    { label: 'BT.709 tagged SD', size: [320, 240], tags: ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'] },
    { label: 'BT.601 tagged', size: [320, 240], tags: ['-colorspace', 'bt470bg', '-color_primaries', 'bt470bg', '-color_trc', 'gamma28'] },
    {
      label: 'full range BT.709',
      size: [320, 240],
      tags: ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'pc'],
    },
  ])('$label: flat saturated colours look the same in the source and the restored variant', async ({ size, tags }) => {
    const [w, h] = size as [number, number];
    const dir = await temp();
    // One flat colour per 4 frames, two segments of 12 frames: frames are yuv420p made from RGB with the stream's own matrix.
    const inputs = COLOURS.flatMap((c) => ['-f', 'lavfi', '-i', `color=c=${c}:s=${w}x${h}:r=25:d=0.16`]);
    const concat = `${COLOURS.map((_, i) => `[${i}:v]`).join('')}concat=n=${COLOURS.length}:v=1:a=0[v]`;
    const tagged = tags.length > 0;
    const matrix = tagged ? tags[1]! : defaultMatrix(w, h);
    const range = tags.includes('pc') ? 'pc' : 'tv';
    const sws = matrix === 'bt709' ? 'bt709' : 'bt601';
    await ffmpeg([
      ...inputs,
      '-filter_complex',
      `${concat};[v]scale=out_color_matrix=${sws}:out_range=${range},format=yuv420p[o]`,
      '-map',
      '[o]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '10',
      '-g',
      '12',
      ...tags,
      '-f',
      'hls',
      '-hls_time',
      '0.48',
      '-hls_playlist_type',
      'vod',
      '-hls_segment_filename',
      join(dir, 's%d.ts'),
      join(dir, 'in.m3u8'),
    ]);
    const out = await restored(join(dir, 'in.m3u8'));
    const outDir = out.replace(/index\.m3u8$/, '');
    const src = channelMeans(await playerRgb(firstSegment(dir, 's0.ts'), w, h), w, h);
    const dst = channelMeans(await playerRgb(firstSegment(outDir, 'seg_000000.ts'), 2 * w, 2 * h), 2 * w, 2 * h);
    expect(dst.length).toBe(src.length);
    let total = 0;
    for (let f = 0; f < src.length; f++) for (let c = 0; c < 3; c++) total += Math.abs(src[f]![c]! - dst[f]![c]!);
    expect(total / (src.length * 3)).toBeLessThan(1);
    // The restored stream says what the source says (or the documented default, written out).
    const outTags = await tagsOf(firstSegment(outDir, 'seg_000000.ts'));
    expect(outTags.color_space).toBe(matrix);
    expect(outTags.color_range ?? 'tv').toBe(range);
  });
});
