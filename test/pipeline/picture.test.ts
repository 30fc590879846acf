// The picture-property matrix: streams with the properties real sources carry (colour tags the
// encoder cannot write, anamorphic pixels, a phone's display rotation, interlaced fields, and a
// broadcast combination), each made with ffmpeg, restored through the CLI, and compared with
// ffprobe: colour description, SAR, orientation, field order and combing, frame count, PTS and
// audio packets. src/media/picture.ts says what is kept and how.
import { execFile, spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { segmentFacts } from './media-facts.js';
import { tempDirs } from './temp-dirs.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const temp = tempDirs('swiftvr-picture-');

async function ffmpeg(args: string[]): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], {
    encoding: 'buffer',
    maxBuffer: 256 << 20,
  });
  return stdout;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Restored {
  /** Output segment files (fMP4: init section + segment joined, readable on their own). */
  segments: string[];
  /** Source segments the same way, in order. */
  sources: string[];
  /** --json lines. */
  lines: Record<string, any>[];
  out: string;
}

/** Joins init + media for fMP4 so each segment is a file ffprobe reads alone. */
async function readable(dir: string, names: string[]): Promise<string[]> {
  const init = names.find((n) => n.startsWith('init'));
  const media = names.filter((n) => /\.(ts|m4s)$/.test(n)).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  if (init === undefined) return media.map((n) => join(dir, n));
  const joined: string[] = [];
  const head = await readFile(join(dir, init));
  for (const n of media) {
    const f = join(await temp(), `${n}.mp4`);
    await writeFile(f, Buffer.concat([head, await readFile(join(dir, n))]));
    joined.push(f);
  }
  return joined;
}

async function restore(input: string, sourceDir: string | undefined): Promise<Restored> {
  const out = join(await temp(), 'out');
  const r = await cli(['restore', input, '--out', out, '--model', FIXTURE_MODEL, '--ep', 'cpu', '--encoder', 'libx264', '--json']);
  expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning:') && !l.startsWith('picture:'))).toEqual([]);
  expect(r.code).toBe(0);
  const x2 = join(out, 'x2');
  const segments = await readable(x2, await readdir(x2));
  const sources = sourceDir === undefined ? [] : await readable(sourceDir, await readdir(sourceDir));
  return { segments, sources, lines: r.stdout.trim().split('\n').map((l) => JSON.parse(l)), out };
}

interface StreamFacts {
  width: number;
  height: number;
  sample_aspect_ratio?: string;
  field_order?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

async function streamFacts(file: string): Promise<StreamFacts> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-of', 'json', '-show_entries',
    'stream=width,height,sample_aspect_ratio,field_order,color_space,color_primaries,color_transfer,color_range:stream_side_data_list', file]);
  return (JSON.parse(stdout) as { streams: StreamFacts[] }).streams[0]!;
}

/**
 * Line-alternation energy of decoded luma: the mean of |2 y[r] - y[r-1] - y[r+1]| over rows, which
 * woven fields of a moving picture (combing) raise and a progressive picture keeps low.
 */
async function combing(file: string, w: number, h: number): Promise<number> {
  const y = await ffmpeg(['-i', file, '-vf', 'format=gray', '-f', 'rawvideo', '-']);
  const n = y.length / (w * h);
  let sum = 0;
  let count = 0;
  for (let f = 0; f < n; f++) {
    const base = f * w * h;
    for (let r = 1; r < h - 1; r++) {
      for (let c = 0; c < w; c += 2) {
        const i = base + r * w + c;
        sum += Math.abs(2 * y[i]! - y[i - w]! - y[i + w]!);
        count++;
      }
    }
  }
  return sum / count;
}

/** Cuts `src` (any file ffmpeg reads) into an HLS stream of `container` segments with stream copy. */
async function hls(src: string, container: 'ts' | 'fmp4', seconds = 1): Promise<{ playlist: string; dir: string }> {
  const dir = await temp();
  await ffmpeg(['-i', src, '-c', 'copy', '-f', 'hls', '-hls_time', String(seconds), '-hls_playlist_type', 'vod',
    '-hls_segment_type', container === 'ts' ? 'mpegts' : 'fmp4',
    ...(container === 'fmp4' ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
    '-hls_segment_filename', join(dir, container === 'ts' ? 'seg%d.ts' : 'seg%d.m4s'), join(dir, 'index.m3u8')]);
  return { playlist: join(dir, 'index.m3u8'), dir };
}

const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];

/** Frames, start PTS and audio packets of every output segment equal its source segment's. */
async function sameTiming(r: Restored): Promise<void> {
  expect(r.segments.length).toBe(r.sources.length);
  for (const [i, seg] of r.segments.entries()) {
    const out = await segmentFacts(seg);
    const src = await segmentFacts(r.sources[i]!);
    expect(out.videoFrames).toBe(src.videoFrames);
    expect(out.startPts).toBeCloseTo(src.startPts, 3);
    expect(out.audioPacketHashes).toEqual(src.audioPacketHashes);
  }
}

describe('picture properties end to end', () => {
  for (const container of ['ts', 'fmp4'] as const) {
    it(`a colour tag the encoder cannot write is left unspecified and reported; the job restores (${container})`, async () => {
      const dir = await temp();
      const src = join(dir, 'reserved.mp4');
      // colour_primaries 3 and transfer_characteristics 3 are reserved in H.264's VUI.
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=96x64:r=25', ...AUDIO, '-t', '2', '-c:v', 'libx264', '-g', '25',
        '-bsf:v', 'h264_metadata=colour_primaries=3:transfer_characteristics=3:matrix_coefficients=1', '-c:a', 'aac', '-shortest', src]);
      expect((await streamFacts(src)).color_primaries).toBe('reserved');
      const stream = await hls(src, container);
      const r = await restore(stream.playlist, stream.dir);
      await sameTiming(r);
      const facts = await streamFacts(r.segments[0]!);
      expect(facts.color_space).toBe('bt709');
      expect(facts.color_primaries ?? 'unknown').toBe('unknown');
      expect(facts.color_transfer ?? 'unknown').toBe('unknown');
      expect(r.lines[0]!.picture.dropped).toEqual(['primaries reserved', 'transfer reserved']);
      expect(r.lines[0]!.picture.carried.matrix).toBe('bt709');
    });
  }

  it('an anamorphic picture keeps its sample aspect ratio at twice the size', async () => {
    const dir = await temp();
    const src = join(dir, 'sar.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=352x240:r=30000/1001', ...AUDIO, '-t', '1', '-vf', 'setsar=40/33',
      '-c:v', 'libx264', '-g', '15', '-c:a', 'aac', '-shortest', '-f', 'mpegts', src]);
    const stream = await hls(src, 'ts');
    const r = await restore(stream.playlist, stream.dir);
    await sameTiming(r);
    const facts = await streamFacts(r.segments[0]!);
    expect([facts.width, facts.height, facts.sample_aspect_ratio]).toEqual([704, 480, '40:33']);
    expect(r.lines[0]!.picture.carried.sar).toBe('40:33');
  });

  it("a phone video's display rotation is applied before the model: the output is upright, with no matrix", async () => {
    const dir = await temp();
    const coded = join(dir, 'coded.mp4');
    const src = join(dir, 'phone.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=128x72:r=30', ...AUDIO, '-t', '2', '-c:v', 'libx264', '-g', '30',
      '-c:a', 'aac', '-shortest', coded]);
    await ffmpeg(['-i', coded, '-c', 'copy', '-metadata:s:v', 'rotate=90', src]);
    const rotation = (await streamFacts(src)).side_data_list?.[0]?.rotation;
    expect(rotation).toBe(90);
    const r = await restore(src, undefined);
    const facts = await streamFacts(r.segments[0]!);
    expect([facts.width, facts.height]).toEqual([144, 256]);
    expect(facts.side_data_list ?? []).toEqual([]);
    // The picture as a player shows the source (its matrix applied) equals the output's orientation:
    // compare the upscaled source as ffmpeg turns it with the output, as 8x8 luma thumbnails.
    const thumb = (f: string, extra: string[]): Promise<Buffer> =>
      ffmpeg([...extra, '-i', f, '-frames:v', '1', '-vf', 'scale=8:16:flags=area,format=gray', '-f', 'rawvideo', '-']);
    const a = await thumb(src, []);
    const b = await thumb(r.segments[0]!, []);
    const diff = a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    expect(diff).toBeLessThan(8);
    expect(r.lines[0]!.picture.applied.join()).toContain('turned 270 degrees clockwise');
    const frames = (await segmentFacts(r.segments[0]!)).videoFrames + (r.segments[1] ? (await segmentFacts(r.segments[1])).videoFrames : 0);
    expect(frames).toBeGreaterThanOrEqual(30);
  });

  it('interlaced fields are woven before the model: progressive out, no combing, same frames and timing', async () => {
    const dir = await temp();
    const src = join(dir, 'i25.ts');
    // 50 progressive pictures/s of a picture moving sideways, woven into 25 top-field-first frames,
    // coded interlaced (MBAFF): every vertical edge combs.
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=50,scroll=horizontal=0.02', ...AUDIO, '-t', '2', '-vf', 'interlace=scan=tff',
      '-c:v', 'libx264', '-flags', '+ilme+ildct', '-x264opts', 'tff=1', '-g', '25', '-c:a', 'aac', '-shortest', '-f', 'mpegts', src]);
    expect((await streamFacts(src)).field_order).toBe('tt');
    const stream = await hls(src, 'ts');
    const r = await restore(stream.playlist, stream.dir);
    await sameTiming(r);
    const facts = await streamFacts(r.segments[0]!);
    expect(facts.field_order ?? 'progressive').toBe('progressive');
    // Against the plain upscale with and without deinterlacing (the measure of combing).
    const plainUpscale = async (vf: string): Promise<number> => {
      const f = join(await temp(), 'plain.ts');
      await ffmpeg(['-i', r.sources[0]!, '-vf', vf, '-c:v', 'libx264', '-crf', '20', f]);
      return combing(f, 320, 240);
    };
    const woven = await combing(r.segments[0]!, 320, 240);
    const combed = await plainUpscale('scale=320:240:flags=bicubic');
    const deinterlaced = await plainUpscale('bwdif=mode=send_frame,scale=320:240:flags=bicubic');
    expect(woven).toBeLessThan(combed * 0.3);
    expect(woven).toBeLessThan(deinterlaced * 1.5);
    expect(r.lines[0]!.picture.applied.join()).toContain('deinterlaced (field order tt');
  });

  it('a broadcast SD source (576i, anamorphic 16:9, BT.601 tags, AC-3 audio) keeps every property', async () => {
    const dir = await temp();
    const src = join(dir, 'dvb.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=720x576:r=50', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '1',
      '-vf', 'interlace=scan=tff,setsar=64/45', '-c:v', 'libx264', '-preset', 'ultrafast', '-flags', '+ilme+ildct', '-x264opts', 'tff=1',
      '-g', '25', '-color_primaries', 'bt470bg', '-color_trc', 'gamma28', '-colorspace', 'bt470bg',
      '-c:a', 'ac3', '-shortest', '-f', 'mpegts', src]);
    const stream = await hls(src, 'ts');
    const r = await restore(stream.playlist, stream.dir);
    await sameTiming(r);
    const facts = await streamFacts(r.segments[0]!);
    expect([facts.width, facts.height, facts.sample_aspect_ratio]).toEqual([1440, 1152, '64:45']);
    expect(facts.field_order ?? 'progressive').toBe('progressive');
    expect([facts.color_space, facts.color_primaries, facts.color_transfer]).toEqual(['bt470bg', 'bt470bg', 'bt470bg']);
    expect(r.lines[0]!.picture.dropped).toEqual([]);
  });

  it('an HDR source (HEVC Main 10, PQ) is refused before any work with one line naming its transfer; nothing is published', async () => {
    const dir = await temp();
    const src = join(dir, 'hdr10.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=128x72:r=25', '-t', '1', '-pix_fmt', 'yuv420p10le', '-c:v', 'libx265',
      '-x265-params', 'log-level=error', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', src]);
    const out = join(dir, 'out');
    const r = await cli(['restore', src, '--out', out, '--model', FIXTURE_MODEL, '--ep', 'cpu', '--quiet']);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/transfer is PQ \(SMPTE ST 2084\): high dynamic range video is not supported/);
    await expect(readdir(out)).rejects.toThrow();
  });
});
