// Encoding restored 4:2:0 frames into one HLS segment that lines up with its source segment:
// same container, same start PTS, IDR first, same frame count and duration, audio copied, and the
// source's colour tags (the planes pass through untouched, so the colours are the source's).
// 8-bit frames become H.264 (libx264, or h264_nvenc on a GPU); 10-bit frames (HDR sources) HEVC
// Main 10 with libx265, which writes the source's mastering display and content light level as
// SEI (this ffmpeg's NVENC wrappers cannot take them).
import type { Codecs } from '../types.js';
import { readFile, rm } from 'node:fs/promises';

import { SwiftvrError, badInput } from '../errors.js';
import type { ErrorContext } from '../errors.js';
import { yuvFrameBytes } from '../types.js';
import type { ContainerKind, SegmentMediaInfo, VideoStreamInfo, YuvFrame } from '../types.js';
import { alignAudioBitrates, alignAudioDurations, copyEditLists, audioCodecString, videoCodecFromInit, videoCodecFromTs } from './codecs.js';
import { topLevelBoxes } from './iso-bmff.js';
import { colourTagArgs, planeFormat } from './colour.js';
import { planeBits, shapeFilters, x265HdrParams } from './picture.js';
import { commitFile, tempPathFor, writeFileAtomic } from '../util/atomic-write.js';
import { abortedError, runTool, spawnTool, stderrSummary } from './ffmpeg.js';
import type { ToolExit, ToolProcess } from './ffmpeg.js';
import { frameTicks, parseRational, rawTimestamps, startTicks } from './probe.js';

export type VideoEncoderName = 'libx264' | 'h264_nvenc' | 'libx265';

/** Output quality (libx264 CRF, h264_nvenc CQ) when none is given. */
export const DEFAULT_CRF = 20;

export interface SegmentEncoderOptions {
  /** The source segment file the decoder read; its audio is copied and its timestamps are the reference. */
  readonly sourcePath: string;
  /** ffprobe facts of the source segment. */
  readonly info: SegmentMediaInfo;
  /** Size of the frames passed to `write` (even numbers: 4:2:0 chroma). */
  readonly width: number;
  readonly height: number;
  /** Must equal the source's container. */
  readonly container: ContainerKind;
  /** Where the media segment goes (written to a temporary name, renamed on success). */
  readonly outPath: string;
  /** fMP4 only: where the init section (ftyp+moov) goes; required for fMP4. */
  readonly initOutPath?: string;
  /**
   * `auto` uses h264_nvenc when this ffmpeg has it and a GPU encoder opens, else libx264. 10-bit
   * frames (HDR) always use libx265. @default 'auto'
   */
  readonly encoder?: VideoEncoderName | 'auto';
  /**
   * CRF for libx264, CQ for h264_nvenc; lower is better. 0 with libx264 is lossless (High 4:4:4
   * Predictive profile, which not every player decodes: for measurements). @default DEFAULT_CRF
   */
  readonly quality?: number;
  /** Encoder preset. @default 'veryfast' (libx264), 'p4' (h264_nvenc); with `quick`: 'ultrafast', 'p1' */
  readonly preset?: string;
  /** The encoder's fastest preset (the live plain-upscale fallback, which must keep pace). @default false */
  readonly quick?: boolean;
  /**
   * Encoder threads. Fixed, not derived from the machine, so that the same frames give
   * byte-identical segments everywhere (retries and resumed streams rely on it). @default 4
   */
  readonly threads?: number;
  /**
   * Maximum GOP length in frames. Constant for a stream (the SPS, hence the fMP4 init, depends
   * on it); at or above the segment's frame count there is one IDR, at the start. @default 600
   */
  readonly keyint?: number;
  /**
   * fMP4: sequence number of the segment's first moof (mfhd), e.g. the media sequence number + 1,
   * so fragments count up across the rendition as in the source. @default 1
   */
  readonly sequenceNumber?: number;
  /** Copy the source's audio streams. @default true */
  readonly audio?: boolean;
  readonly signal?: AbortSignal;
  /** How the segment is named in error messages. @default outPath */
  readonly name?: string;
  readonly context?: ErrorContext;
}

export interface EncodedSegment {
  readonly path: string;
  /** fMP4: the init section path. */
  readonly initPath?: string;
  /** fMP4: false when an identical init section was already at `initPath` and was left as is. */
  readonly initWritten?: boolean;
  /** Size of the media segment in bytes (without the init section). */
  readonly bytes: number;
  readonly frames: number;
  readonly durationSeconds: number;
  /** Start PTS of the video in seconds (equals the source's). */
  readonly startTime: number;
  /** RFC 6381 codecs of the encoded segment: its video and the audio it carries. */
  readonly codecs: Codecs;
  readonly encoder: VideoEncoderName;
}

export interface SegmentEncoder {
  /**
   * Queues one frame; resolves when ffmpeg can take more (stdin backpressure). The frame's
   * bytes belong to the encoder from this call on: do not modify them.
   */
  write(frame: YuvFrame): Promise<void>;
  /** Ends the input, waits for ffmpeg, checks the output and moves it into place. */
  finish(): Promise<EncodedSegment>;
  /** Stops ffmpeg and removes temporary files; nothing appears at the output paths. */
  abort(): Promise<void>;
}

let nvencProbe: Promise<boolean> | undefined;

/** Whether this ffmpeg has h264_nvenc and it opens on the host (a GPU and driver present). Cached. */
export function nvencAvailable(): Promise<boolean> {
  nvencProbe ??= (async () => {
    const list = await runTool('ffmpeg', ['-hide_banner', '-encoders']);
    if (!list.stdout.toString('utf8').includes('h264_nvenc')) return false;
    const trial = await runTool('ffmpeg', [
      '-nostdin', '-hide_banner', '-v', 'error',
      '-f', 'lavfi', '-i', 'color=c=black:s=256x256:r=25', '-frames:v', '2',
      '-c:v', 'h264_nvenc', '-f', 'null', '-',
    ]);
    return trial.code === 0;
  })();
  return nvencProbe;
}

async function chooseEncoder(requested: VideoEncoderName | 'auto', bits: 8 | 10): Promise<VideoEncoderName> {
  // HEVC Main 10 for 10-bit planes: H.264 NVENC has no 10-bit 4:2:0, and only libx265 takes the HDR metadata here.
  if (bits === 10) return 'libx265';
  if (requested === 'libx265') return 'libx264';
  if (requested !== 'auto') return requested;
  return (await nvencAvailable()) ? 'h264_nvenc' : 'libx264';
}

/**
 * The setpts expression that gives output frame N its source time, in ticks of the source's time
 * base (the encoder keeps that time base, so nothing is rounded again): start + N frame durations
 * when the source's frames keep that cadence, else a lookup of the source's own timestamps
 * (a balanced tree of if(lt(N,m)...), since ffmpeg's expressions nest at most 100 deep).
 */
export function ptsExpression(video: VideoStreamInfo): string {
  const start = startTicks(video);
  const num = video.timeBase.den * video.frameRate.den;
  const den = video.timeBase.num * video.frameRate.num;
  const cadence = (n: number): number => start + Math.floor((n * num) / den + 0.5);
  const pts = video.framePts;
  if (pts === undefined || pts.every((t, n) => t === cadence(n))) return `${start}+floor(N*${num}/${den}+0.5)`;
  const pick = (lo: number, hi: number): string => {
    if (hi - lo === 1) return String(pts[lo]);
    const mid = (lo + hi) >> 1;
    return `if(lt(N,${mid}),${pick(lo, mid)},${pick(mid, hi)})`;
  };
  return pick(0, pts.length);
}

/** The ffmpeg command line: raw frames on stdin (input 0), the source segment for audio (input 1). */
function encoderArgs(o: SegmentEncoderOptions, encoder: VideoEncoderName, withAudio: boolean, tmpPath: string): string[] {
  const { timeBase } = o.info.video;
  const tb = `${timeBase.num}/${timeBase.den}`;
  const threads = String(o.threads ?? 4);
  const keyint = String(o.keyint ?? 600);
  const quality = String(o.quality ?? DEFAULT_CRF);
  const lossless = encoder === 'libx264' && o.quality === 0;
  const video =
    encoder === 'libx264'
      ? ['-c:v', 'libx264', '-preset', o.preset ?? (o.quick === true ? 'ultrafast' : 'veryfast'), ...(lossless ? ['-qp', '0', '-profile:v', 'high444']
        : ['-crf', quality, '-profile:v', 'high']),
         '-threads', threads, '-x264-params', `keyint=${keyint}:bframes=0`]
      : encoder === 'libx265'
        ? x265Args(o, quality, keyint, threads)
        : ['-c:v', 'h264_nvenc', '-preset', o.preset ?? (o.quick === true ? 'p1' : 'p4'), '-rc', 'vbr', '-cq', quality, '-b:v', '0',
           '-profile:v', 'high', '-bf', '0', '-g', keyint, '-forced-idr', '1'];
  const muxer =
    o.container === 'ts'
      ? ['-f', 'mpegts', '-muxdelay', '0', '-muxpreload', '0']
      : ['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof+frag_discont+skip_trailer',
         '-avoid_negative_ts', 'disabled', '-use_editlist', '0', '-fragment_index', String(o.sequenceNumber ?? 1)];
  return [
    '-nostdin', '-hide_banner', '-v', 'error', '-y',
    '-copyts',
    '-f', 'rawvideo', '-pix_fmt', planeFormat(o.info.video.pixFmt, planeBits(o.info.video.picture)), '-video_size', `${o.width}x${o.height}`,
    '-framerate', `${o.info.video.frameRate.num}/${o.info.video.frameRate.den}`, '-i', 'pipe:0',
    ...(withAudio ? [...rawTimestamps(o.container), '-i', o.sourcePath] : []),
    '-map', '0:v:0', ...(withAudio ? ['-map', '1:a', '-c:a', 'copy'] : ['-an']),
    '-sn', '-dn',
    '-filter:v', [`settb=${tb}`, `setpts='${ptsExpression(o.info.video)}'`, ...shapeFilters(o.info.video.picture)].join(','),
    ...video,
    '-enc_time_base:v', tb,
    '-fps_mode', 'passthrough',
    ...colourTagArgs(o.info.video.colour),
    '-fflags', '+bitexact', '-flags:v', '+bitexact',
    ...muxer,
    tmpPath,
  ];
}

/**
 * HEVC Main 10 with libx265: closed GOPs (every segment starts with an IDR), no B-frames, one
 * frame thread (output independent of the machine's cores), and the source's HDR10 static metadata
 * (mastering display, content light level) written as SEI; HLG needs only its transfer tag.
 */
function x265Args(o: SegmentEncoderOptions, quality: string, keyint: string, threads: string): string[] {
  const params = [
    'log-level=error', `keyint=${keyint}`, 'bframes=0', 'open-gop=0', 'frame-threads=1', `pools=${threads}`,
    ...x265HdrParams(o.info.video.picture.hdr),
  ];
  return [
    '-c:v', 'libx265', '-preset', o.preset ?? (o.quick === true ? 'ultrafast' : 'veryfast'), '-crf', quality, '-profile:v', 'main10',
    // fMP4: parameter sets in the sample entry (hvc1), as Apple's players require.
    ...(o.container === 'fmp4' ? ['-tag:v', 'hvc1'] : []),
    '-x265-params', params.join(':'),
  ];
}

interface OutputFacts {
  frames: number;
  firstPts: number;
  lastPts: number;
  firstIsKey: boolean;
  timeBase: { num: number; den: number };
  audioCodecs: string[];
}

async function probeOutput(file: string, signal: AbortSignal | undefined): Promise<OutputFacts> {
  const r = await runTool(
    'ffprobe',
    ['-v', 'error', '-of', 'json', '-show_entries',
      'stream=index,codec_type,codec_name,profile,time_base:packet=stream_index,pts,dts,flags', file],
    { signal },
  );
  if (r.aborted) throw abortedError(`checking ${file}`);
  if (r.code !== 0) throw new SwiftvrError('internal', `ffprobe of the encoded segment ${file} failed: ${stderrSummary(r)}`);
  const parsed = JSON.parse(r.stdout.toString('utf8')) as {
    streams?: { index: number; codec_type?: string; codec_name?: string; profile?: string; time_base?: string }[];
    packets?: { stream_index: number; pts?: number; dts?: number; flags?: string }[];
  };
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const timeBase = parseRational(video?.time_base);
  if (video === undefined || timeBase === undefined) throw new SwiftvrError('internal', `encoded segment ${file} has no video stream`);
  const vp = (parsed.packets ?? []).filter((p) => p.stream_index === video.index);
  const pts = vp.map((p) => p.pts ?? p.dts ?? Number.NaN);
  const audioCodecs = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => audioCodecString(s.codec_name ?? '', s.profile))
    .filter((c): c is string => c !== undefined);
  return {
    frames: vp.length,
    firstPts: Math.min(...pts),
    lastPts: Math.max(...pts),
    firstIsKey: vp[0]?.flags?.includes('K') === true,
    timeBase,
    audioCodecs: [...new Set(audioCodecs)],
  };
}

async function sameBytes(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(bytes).equals(await readFile(file));
  } catch {
    return false;
  }
}

interface Running {
  proc: ToolProcess;
  encoder: VideoEncoderName;
  tmpPath: string;
}

class FfmpegSegmentEncoder implements SegmentEncoder {
  private readonly running: Promise<Running>;
  private readonly frameBytes: number;
  /** Bits per sample of the frames this encoder takes (10 for an HDR source). */
  private readonly bits: 8 | 10;
  private readonly name: string;
  private readonly temps: string[] = [];
  private frames = 0;
  private state: 'open' | 'finishing' | 'done' | 'aborted' = 'open';

  constructor(private readonly o: SegmentEncoderOptions) {
    this.name = o.name ?? o.outPath;
    this.bits = planeBits(o.info.video.picture);
    this.frameBytes = yuvFrameBytes(o.width, o.height, this.bits);
    this.running = this.start();
    // Failures surface from write/finish; this only keeps an unawaited rejection from crashing.
    this.running.catch(() => undefined);
  }

  private async start(): Promise<Running> {
    const encoder = await chooseEncoder(this.o.encoder ?? 'auto', this.bits);
    const tmpPath = tempPathFor(this.o.outPath);
    this.temps.push(tmpPath);
    const withAudio = this.o.audio !== false && this.o.info.audio !== undefined;
    const proc = await spawnTool('ffmpeg', encoderArgs(this.o, encoder, withAudio, tmpPath), {
      signal: this.o.signal,
      stdin: true,
    });
    // An abort through the signal leaves nothing behind even if the caller never calls abort().
    void proc.exit.then(async (exit) => {
      if (exit.aborted) await this.cleanup();
    });
    return { proc, encoder, tmpPath };
  }

  private failure(exit: ToolExit): SwiftvrError {
    if (exit.aborted) return abortedError(`encoding ${this.name}`, this.o.context);
    return new SwiftvrError('internal', `encoding ${this.name} failed: ffmpeg ${stderrSummary(exit)}`, {
      context: this.o.context,
    });
  }

  async write(frame: YuvFrame): Promise<void> {
    if (this.state !== 'open') throw new SwiftvrError('internal', `write() on the ${this.state} encoder of ${this.name}`);
    if (frame.width !== this.o.width || frame.height !== this.o.height || frame.data.length !== this.frameBytes || (frame.bits ?? 8) !== this.bits) {
      throw new SwiftvrError(
        'internal',
        `frame ${this.frames} for ${this.name} is ${frame.width}x${frame.height} ${frame.bits ?? 8}-bit (${frame.data.length} bytes); ` +
          `the encoder was opened for ${this.o.width}x${this.o.height} ${this.bits}-bit 4:2:0 (${this.frameBytes} bytes)`,
        { context: this.o.context },
      );
    }
    if (this.frames >= this.o.info.video.frameCount) {
      throw new SwiftvrError(
        'internal',
        `frame ${this.frames} for ${this.name} is one too many: the source segment has ${this.o.info.video.frameCount} frames`,
        { context: this.o.context },
      );
    }
    const { proc } = await this.running;
    const stdin = proc.stdin;
    if (stdin === null) throw new SwiftvrError('internal', 'ffmpeg stdin is not a pipe');
    this.frames++;
    if (stdin.write(frame.data)) return;
    // Wait for the pipe to drain, or for ffmpeg to die (then the drain never comes).
    const ended = await Promise.race([
      new Promise<false>((resolve) => stdin.once('drain', () => resolve(false))),
      proc.exit.then(() => true),
    ]);
    if (ended) throw this.failure(await proc.exit);
  }

  async finish(): Promise<EncodedSegment> {
    if (this.state !== 'open') throw new SwiftvrError('internal', `finish() on the ${this.state} encoder of ${this.name}`);
    this.state = 'finishing';
    try {
      const expected = this.o.info.video.frameCount;
      if (this.frames !== expected) {
        throw new SwiftvrError(
          'internal',
          `${this.name} got ${this.frames} frames; the source segment has ${expected} and the output must have as many`,
          { context: this.o.context },
        );
      }
      const { proc, encoder, tmpPath } = await this.running;
      proc.stdin?.end();
      const exit = await proc.exit;
      if (exit.code !== 0 || exit.aborted) throw this.failure(exit);
      const result = await this.checkAndPlace(tmpPath, encoder);
      this.state = 'done';
      return result;
    } catch (e) {
      await this.cleanup();
      this.state = 'aborted';
      throw e;
    }
  }

  /** Verifies the promises made to players (frames, start PTS, IDR first), then renames into place. */
  private async checkAndPlace(tmpPath: string, encoder: VideoEncoderName): Promise<EncodedSegment> {
    const { info, signal } = this.o;
    const facts = await probeOutput(tmpPath, signal);
    const srcTb = info.video.timeBase;
    const firstInSource = (facts.firstPts * facts.timeBase.num * srcTb.den) / (facts.timeBase.den * srcTb.num);
    const problems: string[] = [];
    if (facts.frames !== info.video.frameCount) problems.push(`${facts.frames} frames instead of ${info.video.frameCount}`);
    if (Math.abs(firstInSource - startTicks(info.video)) > 1) {
      problems.push(`start PTS ${firstInSource} instead of ${startTicks(info.video)} (time base ${srcTb.num}/${srcTb.den})`);
    }
    if (!facts.firstIsKey) problems.push('no keyframe at its first frame');
    const lastSource = info.video.framePts?.[info.video.framePts.length - 1];
    const lastInSource = (facts.lastPts * facts.timeBase.num * srcTb.den) / (facts.timeBase.den * srcTb.num);
    if (lastSource !== undefined && Math.abs(lastInSource - lastSource) > 1) {
      problems.push(`last frame PTS ${lastInSource} instead of ${lastSource}`);
    }
    if (problems.length > 0) {
      throw new SwiftvrError('internal', `encoded ${this.name} breaks its source's timing: ${problems.join(', ')}`, {
        context: this.o.context,
      });
    }
    const durationSeconds =
      ((facts.lastPts - facts.firstPts + frameTicks(info.video.frameRate, facts.timeBase)) * facts.timeBase.num) /
      facts.timeBase.den;
    const startTime = (facts.firstPts * facts.timeBase.num) / facts.timeBase.den;

    if (this.o.container === 'ts') {
      const ts = await readFile(tmpPath);
      const video = videoCodecFromTs(ts);
      if (video === undefined) throw new SwiftvrError('internal', `encoded ${this.name} has no H.264 or HEVC SPS in its first frame`);
      const bytes = ts.length;
      await commitFile(tmpPath, this.o.outPath);
      return {
        path: this.o.outPath, bytes, frames: facts.frames, durationSeconds, startTime,
        codecs: { video, audio: facts.audioCodecs }, encoder,
      };
    }

    // fMP4: one file from ffmpeg, cut into the init section (boxes before the first moof) and the media segment.
    const whole = await readFile(tmpPath);
    const boxes = topLevelBoxes(whole);
    const firstMoof = boxes.find((b) => b.type === 'moof');
    if (firstMoof === undefined) throw new SwiftvrError('internal', `encoded ${this.name} has no moof box`);
    const source = await readFile(this.o.sourcePath);
    const init = copyEditLists(alignAudioBitrates(whole.subarray(0, firstMoof.start), source), source);
    const media = alignAudioDurations(whole.subarray(firstMoof.start), init, source);
    const video = videoCodecFromInit(init);
    if (video === undefined) throw new SwiftvrError('internal', `encoded ${this.name} has no avcC or hvcC box in its init section`);
    const initPath = this.o.initOutPath!;
    let initWritten = false;
    if (!(await sameBytes(initPath, init))) {
      await writeFileAtomic(initPath, init);
      initWritten = true;
    }
    await writeFileAtomic(this.o.outPath, media);
    await rm(tmpPath, { force: true });
    return {
      path: this.o.outPath, initPath, initWritten, bytes: media.length, frames: facts.frames, durationSeconds,
      startTime, codecs: { video, audio: facts.audioCodecs }, encoder,
    };
  }

  private async cleanup(): Promise<void> {
    await Promise.all(this.temps.map((t) => rm(t, { force: true })));
  }

  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    try {
      const { proc } = await this.running;
      proc.kill();
      await proc.exit;
    } catch {
      // ffmpeg never started: nothing to stop.
    }
    await this.cleanup();
  }
}

/**
 * Opens an encoder for one output segment. The frames are timed from the source segment's start
 * PTS at its frame rate, so the output has the source's start PTS, frame count and duration;
 * the first frame is an IDR; the source's audio packets are copied unchanged.
 */
export function createSegmentEncoder(options: SegmentEncoderOptions): SegmentEncoder {
  const { width, height, info, container } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2 || width % 2 !== 0 || height % 2 !== 0) {
    throw badInput(`output frame size ${width}x${height} is not allowed: H.264 4:2:0 needs even width and height of at least 2`, options.context);
  }
  if (container !== info.container) {
    throw badInput(`output container ${container} differs from the source segment's ${info.container}; a rendition keeps its source's container`, options.context);
  }
  if (container === 'fmp4' && options.initOutPath === undefined) {
    throw badInput(`initOutPath is required for fMP4 output (segment ${options.outPath})`, options.context);
  }
  return new FfmpegSegmentEncoder(options);
}
