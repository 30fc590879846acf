// Tiny media inputs made with ffmpeg's lavfi sources, and ffprobe helpers for the assertions.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { yuvFrameBytes } from '../../src/types.js';
import type { YuvFrame } from '../../src/types.js';

const run = promisify(execFile);

export async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args]);
}

export async function ffprobeJson<T>(args: string[]): Promise<T> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as T;
}

const made: string[] = [];

/** A fresh temporary folder, removed by removeTempDirs(). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `swiftvr-media-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes the folders tempDir() made in this test file (call from afterAll). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

const lavfiInputs = (size: string, rate: number, seconds: number): string[] => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=s=${size}:r=${rate}:d=${seconds}`,
  '-f',
  'lavfi',
  '-i',
  `sine=f=440:r=44100:d=${seconds}`,
];

export interface HlsFixture {
  readonly dir: string;
  readonly playlist: string;
  /** Segment files; for fMP4 each is the init section followed by the media segment. */
  readonly segments: string[];
}

/**
 * A short HLS rendition cut from lavfi test sources: H.264 (with B-frames, like real encodes)
 * and AAC, segments of `segmentSeconds`. For fMP4 each returned segment file is init + media,
 * which is what the pipeline hands to the media module.
 */
export async function makeHls(
  dir: string,
  container: 'ts' | 'fmp4',
  opts: { size?: string; rate?: number; seconds?: number; segmentSeconds?: number } = {},
): Promise<HlsFixture> {
  const rate = opts.rate ?? 25;
  const seconds = opts.seconds ?? 3;
  const segmentSeconds = opts.segmentSeconds ?? 1;
  const ext = container === 'ts' ? 'ts' : 'm4s';
  const playlist = path.join(dir, `${container}.m3u8`);
  await ffmpeg([
    ...lavfiInputs(opts.size ?? '160x120', rate, seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    String(rate * segmentSeconds),
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-f',
    'hls',
    '-hls_time',
    String(segmentSeconds),
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    container === 'ts' ? 'mpegts' : 'fmp4',
    '-hls_fmp4_init_filename',
    `${container}-init.mp4`,
    '-hls_segment_filename',
    path.join(dir, `${container}-%d.${ext}`),
    playlist,
  ]);
  const names = (await readFile(playlist, 'utf8')).split('\n').filter((l) => l.endsWith(`.${ext}`));
  const segments: string[] = [];
  for (const [i, name] of names.entries()) {
    if (container === 'ts') {
      segments.push(path.join(dir, name));
    } else {
      const joined = path.join(dir, `joined-${i}.mp4`);
      const init = await readFile(path.join(dir, `${container}-init.mp4`));
      await writeFile(joined, Buffer.concat([init, await readFile(path.join(dir, name))]));
      segments.push(joined);
    }
  }
  return { dir, playlist, segments };
}

/** A plain mp4 with audio whose keyframes are `gopSeconds` apart. */
export async function makeMp4(file: string, seconds: number, gopSeconds: number, rate = 25): Promise<void> {
  await ffmpeg([
    ...lavfiInputs('160x120', rate, seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    String(rate * gopSeconds),
    '-keyint_min',
    String(rate * gopSeconds),
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    file,
  ]);
}

/** 2x nearest-neighbour upscale of every yuv420p plane: a stand-in for the model, cheap and exact. */
export function upscale2x(frame: YuvFrame): YuvFrame {
  const { width: w, height: h } = frame;
  const data = new Uint8Array(yuvFrameBytes(2 * w, 2 * h));
  const planes = [
    { src: 0, dst: 0, pw: w, ph: h },
    { src: w * h, dst: 4 * w * h, pw: w / 2, ph: h / 2 },
    { src: (w * h * 5) / 4, dst: 5 * w * h, pw: w / 2, ph: h / 2 },
  ];
  for (const { src, dst, pw, ph } of planes) {
    for (let y = 0; y < 2 * ph; y++) {
      const row = src + (y >> 1) * pw;
      const out = dst + y * 2 * pw;
      for (let x = 0; x < 2 * pw; x++) data[out + x] = frame.data[row + (x >> 1)]!;
    }
  }
  return { width: 2 * w, height: 2 * h, data };
}

export interface PacketFacts {
  readonly stream_index: number;
  readonly pts?: number;
  readonly dts?: number;
  readonly size?: string;
  readonly flags?: string;
  readonly data_hash?: string;
}

export interface StreamFacts {
  readonly index: number;
  readonly codec_type: string;
  readonly time_base: string;
  readonly width?: number;
  readonly height?: number;
}

/** Streams and packets of a file, with a SHA-256 of every packet's data. */
export async function packets(file: string, rawTimestamps = false): Promise<{ streams: StreamFacts[]; packets: PacketFacts[] }> {
  return ffprobeJson([
    ...(rawTimestamps ? ['-ignore_editlist', '1'] : []),
    '-show_entries',
    'stream=index,codec_type,time_base,width,height:packet=stream_index,pts,dts,size,flags,data_hash',
    '-show_data_hash',
    'sha256',
    file,
  ]);
}

/** Audio packets as comparable records (pts, dts, size, flags, data hash). */
export async function audioPackets(file: string, rawTimestamps = false): Promise<string[]> {
  const facts = await packets(file, rawTimestamps);
  const audio = facts.streams.filter((s) => s.codec_type === 'audio').map((s) => s.index);
  return facts.packets.filter((p) => audio.includes(p.stream_index)).map((p) => `${p.pts} ${p.dts} ${p.size} ${p.flags} ${p.data_hash}`);
}

/** Presentation times of the video frames in seconds, in presentation order. */
export async function videoTimes(file: string): Promise<number[]> {
  const facts = await packets(file, true);
  const v = facts.streams.find((s) => s.codec_type === 'video')!;
  const [num, den] = v.time_base.split('/').map(Number) as [number, number];
  return facts.packets
    .filter((p) => p.stream_index === v.index)
    .map((p) => (p.pts! * num) / den)
    .sort((a, b) => a - b);
}

/** Video packets: count, first presentation time in seconds, whether the first is a keyframe. */
export async function videoFacts(
  file: string,
): Promise<{ frames: number; startSeconds: number; tick: number; firstKey: boolean; width: number; height: number }> {
  const facts = await packets(file);
  const v = facts.streams.find((s) => s.codec_type === 'video')!;
  const [num, den] = v.time_base.split('/').map(Number) as [number, number];
  const vp = facts.packets.filter((p) => p.stream_index === v.index);
  const pts = vp.map((p) => p.pts!);
  return {
    frames: vp.length,
    startSeconds: (Math.min(...pts) * num) / den,
    tick: num / den,
    firstKey: vp[0]?.flags?.startsWith('K') === true,
    width: v.width!,
    height: v.height!,
  };
}

/** Track ID -> baseMediaDecodeTime of the first moof in an fMP4 file (tfhd/tfdt pairs). */
export async function firstTfdts(file: string): Promise<Map<number, number>> {
  const bytes = await readFile(file);
  const moof = bytes.indexOf('moof');
  const out = new Map<number, number>();
  let i = moof;
  for (;;) {
    const tfhd = bytes.indexOf('tfhd', i);
    const tfdt = bytes.indexOf('tfdt', i);
    if (tfhd < 0 || tfdt < 0) break;
    const track = bytes.readUInt32BE(tfhd + 8);
    if (out.has(track)) break; // next moof
    const value = bytes[tfdt + 4] === 1 ? Number(bytes.readBigUInt64BE(tfdt + 8)) : bytes.readUInt32BE(tfdt + 8);
    out.set(track, value);
    i = Math.max(tfhd, tfdt) + 4;
  }
  return out;
}
