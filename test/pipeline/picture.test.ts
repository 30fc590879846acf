// The picture-property matrix: streams with the properties real sources carry (colour tags the
// encoder cannot write, anamorphic pixels, a phone's display rotation, interlaced fields, and a
// broadcast combination, HDR10 and HLG), each made with ffmpeg, restored through the CLI, and
// compared with ffprobe: colour description, SAR, orientation, field order and combing, bit depth,
// HDR side data, VIDEO-RANGE, frame count, PTS and audio packets. src/media/picture.ts says what is kept and how.
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
  /** The segment summaries of the --json events, in order. */
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
  // --json prints the job's events; each finished segment's summary rides on a PROGRESSING event.
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>);
  const lines = events.filter((e) => e.type === 'PROGRESSING' && e.segment !== undefined).map((e) => e.segment);
  return { segments, sources, lines, out };
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
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-of',
    'json',
    '-show_entries',
    'stream=width,height,sample_aspect_ratio,field_order,color_space,color_primaries,color_transfer,color_range:stream_side_data_list',
    file,
  ]);
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
  await ffmpeg([
    '-i',
    src,
    '-c',
    'copy',
    '-f',
    'hls',
    '-hls_time',
    String(seconds),
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    container === 'ts' ? 'mpegts' : 'fmp4',
    ...(container === 'fmp4' ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
    '-hls_segment_filename',
    join(dir, container === 'ts' ? 'seg%d.ts' : 'seg%d.m4s'),
    join(dir, 'index.m3u8'),
  ]);
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
      await ffmpeg([
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=96x64:r=25',
        ...AUDIO,
        '-t',
        '2',
        '-c:v',
        'libx264',
        '-g',
        '25',
        '-bsf:v',
        'h264_metadata=colour_primaries=3:transfer_characteristics=3:matrix_coefficients=1',
        '-c:a',
        'aac',
        '-shortest',
        src,
      ]);
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
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=352x240:r=30000/1001',
      ...AUDIO,
      '-t',
      '1',
      '-vf',
      'setsar=40/33',
      '-c:v',
      'libx264',
      '-g',
      '15',
      '-c:a',
      'aac',
      '-shortest',
      '-f',
      'mpegts',
      src,
    ]);
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
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=128x72:r=30',
      ...AUDIO,
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-g',
      '30',
      '-c:a',
      'aac',
      '-shortest',
      coded,
    ]);
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
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=160x120:r=50,scroll=horizontal=0.02',
      ...AUDIO,
      '-t',
      '2',
      '-vf',
      'interlace=scan=tff',
      '-c:v',
      'libx264',
      '-flags',
      '+ilme+ildct',
      '-x264opts',
      'tff=1',
      '-g',
      '25',
      '-c:a',
      'aac',
      '-shortest',
      '-f',
      'mpegts',
      src,
    ]);
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
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=720x576:r=50',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=48000',
      '-t',
      '1',
      '-vf',
      'interlace=scan=tff,setsar=64/45',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-flags',
      '+ilme+ildct',
      '-x264opts',
      'tff=1',
      '-g',
      '25',
      '-color_primaries',
      'bt470bg',
      '-color_trc',
      'gamma28',
      '-colorspace',
      'bt470bg',
      '-c:a',
      'ac3',
      '-shortest',
      '-f',
      'mpegts',
      src,
    ]);
    const stream = await hls(src, 'ts');
    const r = await restore(stream.playlist, stream.dir);
    await sameTiming(r);
    const facts = await streamFacts(r.segments[0]!);
    expect([facts.width, facts.height, facts.sample_aspect_ratio]).toEqual([1440, 1152, '64:45']);
    expect(facts.field_order ?? 'progressive').toBe('progressive');
    expect([facts.color_space, facts.color_primaries, facts.color_transfer]).toEqual(['bt470bg', 'bt470bg', 'bt470bg']);
    expect(r.lines[0]!.picture.dropped).toEqual([]);
  });

  const MASTER_DISPLAY = 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)';
  const HDR10 = [
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
  ];

  /** Codec, profile, pixel format and colour tags of the video stream, and its first frame's HDR side data. */
  async function hdrFacts(file: string): Promise<{ stream: Record<string, unknown>; side: Record<string, unknown>[] }> {
    const { stdout: s } = await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-of',
      'json',
      '-show_entries',
      'stream=codec_name,profile,pix_fmt,width,height,color_space,color_primaries,color_transfer',
      file,
    ]);
    const { stdout: f } = await run('ffprobe', [
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
      file,
    ]);
    const side = ((JSON.parse(f) as { frames: { side_data_list?: Record<string, unknown>[] }[] }).frames[0]?.side_data_list ?? []).filter(
      (d) => /Mastering|light level/.test(String(d['side_data_type'])),
    );
    return { stream: (JSON.parse(s) as { streams: Record<string, unknown>[] }).streams[0]!, side };
  }

  /** Share of luma samples of the first frame that are not a multiple of 4: 0 for 8-bit content padded to 10 bits. */
  async function tenBitShare(file: string): Promise<number> {
    const raw = await ffmpeg(['-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray10le', '-']);
    const y = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
    return y.filter((v) => v % 4 !== 0).length / y.length;
  }

  for (const container of ['ts', 'fmp4'] as const) {
    it(`HDR10 (HEVC Main 10, PQ, mastering display, light level) stays 10-bit PQ with its metadata, listed as VIDEO-RANGE=PQ (${container})`, async () => {
      const dir = await temp();
      const src = join(dir, 'hdr10.mp4');
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=128x72:r=25', ...AUDIO, '-t', '2', ...HDR10, '-c:a', 'aac', '-shortest', src]);
      const stream = await hls(src, container);
      const r = await restore(stream.playlist, stream.dir);
      await sameTiming(r);
      const source = await hdrFacts(r.sources[0]!);
      for (const seg of r.segments) {
        const out = await hdrFacts(seg);
        expect(out.stream).toMatchObject({
          codec_name: 'hevc',
          profile: 'Main 10',
          pix_fmt: 'yuv420p10le',
          width: 256,
          height: 144,
          color_space: 'bt2020nc',
          color_primaries: 'bt2020',
          color_transfer: 'smpte2084',
        });
        // Mastering display and content light level exactly as the source's, in every segment.
        expect(out.side).toEqual(source.side);
        expect(out.side.map((d) => d['side_data_type'])).toEqual(['Mastering display metadata', 'Content light level metadata']);
      }
      // The model's 10-bit graph wrote 10-bit samples, not 8-bit ones shifted up.
      expect(await tenBitShare(r.segments[0]!)).toBeGreaterThan(0.3);
      const multivariant = await readFile(join(r.out, 'index.m3u8'), 'utf8');
      const restoredLine = multivariant.split('\n').find((l) => l.startsWith('#EXT-X-STREAM-INF') && l.includes('RESOLUTION=256x144'))!;
      expect(restoredLine).toContain('VIDEO-RANGE=PQ');
      expect(restoredLine).toMatch(new RegExp(`CODECS="${container === 'fmp4' ? 'hvc1' : 'hev1'}\\.2\\.4\\.L\\d+\\.90,mp4a\\.40\\.2"`));
      expect(r.lines[0]!.picture.carried.hdr).toBe(
        `PQ, 10-bit HEVC Main 10; mastering display ${MASTER_DISPLAY}; MaxCLL 1000, MaxFALL 400`,
      );
      expect(r.lines[0]!.picture.applied).toEqual([]);
    });
  }

  it('a portrait phone clip in HLG (HEVC Main 10 file, display matrix) turns upright and stays 10-bit HLG', async () => {
    const dir = await temp();
    const coded = join(dir, 'coded.mp4');
    const src = join(dir, 'phone-hlg.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=128x72:r=30',
      ...AUDIO,
      '-t',
      '2',
      '-pix_fmt',
      'yuv420p10le',
      '-c:v',
      'libx265',
      '-x265-params',
      'log-level=error:keyint=30:open-gop=0:bframes=0',
      '-color_primaries',
      'bt2020',
      '-color_trc',
      'arib-std-b67',
      '-colorspace',
      'bt2020nc',
      '-c:a',
      'aac',
      '-shortest',
      coded,
    ]);
    await ffmpeg(['-i', coded, '-c', 'copy', '-metadata:s:v', 'rotate=90', src]);
    const r = await restore(src, undefined);
    for (const seg of r.segments) {
      const out = await hdrFacts(seg);
      expect(out.stream).toMatchObject({
        codec_name: 'hevc',
        pix_fmt: 'yuv420p10le',
        width: 144,
        height: 256,
        color_transfer: 'arib-std-b67',
      });
    }
    const multivariant = await readFile(join(r.out, 'index.m3u8'), 'utf8');
    // both the source variant and the restored one are HLG
    expect(multivariant.match(/VIDEO-RANGE=HLG/g)).toHaveLength(2);
    expect(r.lines[0]!.picture.applied.join()).toContain('turned 270 degrees clockwise');
    expect(r.lines[0]!.picture.carried.hdr).toBe('HLG, 10-bit HEVC Main 10');
  });

  it('8-bit PQ is refused before any work with one line naming the property; nothing is published', async () => {
    const dir = await temp();
    const src = join(dir, 'pq8.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=128x72:r=25',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-color_primaries',
      'bt2020',
      '-color_trc',
      'smpte2084',
      '-colorspace',
      'bt2020nc',
      src,
    ]);
    const out = join(dir, 'out');
    const r = await cli(['restore', src, '--out', out, '--model', FIXTURE_MODEL, '--ep', 'cpu', '--quiet']);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/its transfer is PQ with 8-bit samples; HDR is restored on 10-bit planes/);
    await expect(readdir(out)).rejects.toThrow();
  });
});
