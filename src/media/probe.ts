// ffprobe of one segment: exact frame count from the packets, start PTS, time base, audio.
import { stat } from 'node:fs/promises';

import { badInput } from '../errors.js';
import type { ErrorContext } from '../errors.js';
import type { AudioStreamInfo, ContainerKind, Rational, SegmentMediaInfo, VideoStreamInfo } from '../types.js';
import { videoColour } from './colour.js';
import { hdrOf, hdrRefusal, pictureOf } from './picture.js';
import type { ProbedPicture, ProbedSideData } from './picture.js';
import { abortedError, runTool, stderrSummary } from './ffmpeg.js';

export interface ProbeOptions {
  /** How the segment is named in error messages, e.g. `segment 7 (seg7.ts)`. @default the path */
  readonly name?: string;
  readonly context?: ErrorContext;
  readonly signal?: AbortSignal;
  /**
   * The playlist's EXTINF for the segment. A segment whose frames cover less than this, by more
   * than EXTINF rounding allows (0.5 s, RFC 8216 §4.3.2.1 before version 3) plus a frame, is
   * rejected as truncated.
   */
  readonly expectedDuration?: number;
  /**
   * Clockwise turn (degrees) of the video file the segment was cut from, when the segment's
   * container cannot carry a display matrix (see picture.ts). @default 0
   */
  readonly fileRotation?: number;
}

/** MPEG-TS packet size; HLS segments (and byte ranges) hold whole packets. */
const TS_PACKET_BYTES = 188;

interface FfprobeStream extends ProbedPicture {
  index: number;
  codec_type?: string;
  codec_name?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
}

interface FfprobePacket {
  stream_index: number;
  pts?: number;
  dts?: number;
  flags?: string;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  packets?: FfprobePacket[];
  format?: { format_name?: string };
}

/**
 * Input options that make ffmpeg read fMP4 timestamps as the fragments carry them (tfdt, trun),
 * ignoring the init section's edit list. Probe, decoder and encoder all use them, so the frame
 * count, the start PTS and the copied audio refer to the same raw timeline that hls.js and MSE
 * place segments on; the encoder copies the source's edit list into its init section.
 */
export function rawTimestamps(container: ContainerKind): string[] {
  return container === 'fmp4' ? ['-ignore_editlist', '1'] : [];
}

export function parseRational(text: string | undefined): Rational | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text ?? '');
  if (m === null) return undefined;
  const num = Number(m[1]);
  const den = Number(m[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function reduce(r: Rational): Rational {
  const g = gcd(r.num, r.den);
  return { num: r.num / g, den: r.den / g };
}

/** Frame duration in ticks of `timeBase` for `frameRate` (may be fractional). */
export function frameTicks(frameRate: Rational, timeBase: Rational): number {
  return (timeBase.den * frameRate.den) / (timeBase.num * frameRate.num);
}

/**
 * The frame rate: the stream's r_frame_rate when it agrees with the packet spacing (within a tick),
 * else the rate implied by the median spacing of the presentation timestamps.
 */
function chooseFrameRate(stream: FfprobeStream, sortedPts: readonly number[], timeBase: Rational): Rational | undefined {
  const deltas: number[] = [];
  for (let i = 1; i < sortedPts.length; i++) deltas.push(sortedPts[i]! - sortedPts[i - 1]!);
  deltas.sort((a, b) => a - b);
  const median = deltas[Math.floor(deltas.length / 2)];
  const candidates = [parseRational(stream.r_frame_rate), parseRational(stream.avg_frame_rate)];
  for (const rate of candidates) {
    if (rate === undefined) continue;
    if (median === undefined || Math.abs(frameTicks(rate, timeBase) - median) <= 1) return reduce(rate);
  }
  if (median === undefined || median <= 0) return undefined;
  return reduce({ num: timeBase.den, den: timeBase.num * median });
}

function containerMatches(formatName: string, container: ContainerKind): boolean {
  const names = formatName.split(',');
  return container === 'ts' ? names.includes('mpegts') : names.includes('mp4') || names.includes('mov');
}

/**
 * Probes one local segment file (for fMP4: the init section followed by the media segment).
 * The frame count is the number of video packets (one access unit per frame), not a header guess.
 * Corrupt, truncated or non-video input is a `bad-input` error naming the segment.
 */
export async function probeSegment(file: string, container: ContainerKind, options: ProbeOptions = {}): Promise<SegmentMediaInfo> {
  const name = options.name ?? file;
  const context = options.context;
  if (container === 'ts') {
    const { size } = await stat(file);
    if (size % TS_PACKET_BYTES !== 0) {
      throw badInput(
        `${name} is ${size} bytes, not a whole number of ${TS_PACKET_BYTES}-byte MPEG-TS packets: the segment is truncated or corrupt`,
        context,
      );
    }
  }
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-of',
      'json',
      '-show_entries',
      'format=format_name:stream=index,codec_type,codec_name,width,height,pix_fmt,' +
        'color_space,color_primaries,color_transfer,color_range,r_frame_rate,avg_frame_rate,' +
        'time_base,sample_rate,channels,sample_aspect_ratio,field_order:stream_disposition=attached_pic:' +
        'stream_side_data_list:packet=stream_index,pts,dts,flags',
      ...rawTimestamps(container),
      file,
    ],
    { signal: options.signal },
  );
  if (result.aborted) throw abortedError(`probing ${name}`, context);
  // ffprobe stays quiet at -v error on a clean segment; anything it reports (a partial mp4 box,
  // invalid data) means the segment is damaged.
  if (result.code !== 0 || result.stderr !== '') {
    throw badInput(
      `${name} is not a readable ${container === 'ts' ? 'MPEG-TS' : 'fMP4'} segment: ffprobe ${stderrSummary(result)}`,
      context,
    );
  }
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(result.stdout.toString('utf8')) as FfprobeOutput;
  } catch (e) {
    throw badInput(`${name}: ffprobe output is not JSON`, context, e);
  }
  const formatName = parsed.format?.format_name ?? '';
  if (!containerMatches(formatName, container)) {
    throw badInput(
      `${name} is ${formatName === '' ? 'of unknown format' : `in the ${formatName} format`}, ` +
        `but the playlist says its segments are ${container === 'ts' ? 'MPEG-TS' : 'fMP4'}`,
      context,
    );
  }
  const streams = parsed.streams ?? [];
  const videoStream = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (videoStream === undefined) throw badInput(`${name} has no video stream; a segment to restore must contain video`, context);
  const timeBase = parseRational(videoStream.time_base);
  if (timeBase === undefined)
    throw badInput(`${name}: video time base ${String(videoStream.time_base)} is not a positive fraction`, context);
  const { width, height } = videoStream;
  if (width === undefined || height === undefined || width <= 0 || height <= 0) {
    throw badInput(`${name}: video size ${String(width)}x${String(height)} is not a positive size`, context);
  }
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw badInput(
      `${name}: video size ${width}x${height} has an odd side; restoration works on 4:2:0 planes and needs an even width and height`,
      context,
    );
  }
  const packets = parsed.packets ?? [];
  const pts: number[] = [];
  for (const p of packets) {
    if (p.stream_index !== videoStream.index) continue;
    const t = p.pts ?? p.dts;
    if (t === undefined) throw badInput(`${name}: video packet ${pts.length} has no timestamp`, context);
    pts.push(t);
  }
  if (pts.length === 0) throw badInput(`${name} has a video stream but no video frames`, context);
  pts.sort((a, b) => a - b);
  const frameRate = chooseFrameRate(videoStream, pts, timeBase);
  if (frameRate === undefined) throw badInput(`${name}: the frame rate cannot be determined from its stream or timestamps`, context);
  const startPts = pts[0]!;
  const lastPts = pts[pts.length - 1]!;
  const durationSeconds = ((lastPts - startPts + frameTicks(frameRate, timeBase)) * timeBase.num) / timeBase.den;

  const expected = options.expectedDuration;
  if (expected !== undefined) {
    const slack = 0.5 + (frameTicks(frameRate, timeBase) * timeBase.num) / timeBase.den;
    if (durationSeconds < expected - slack) {
      throw badInput(
        `${name} holds ${pts.length} frames (${durationSeconds.toFixed(3)} s) but its EXTINF says ${expected} s; ` +
          `a segment may fall short of its EXTINF by at most ${slack.toFixed(3)} s: it is truncated`,
        context,
      );
    }
  }
  const shape = pictureOf(videoStream, width, height, options.fileRotation ?? 0);
  const colour = videoColour(videoStream, width, height);
  // HDR: the static metadata, from the stream (MP4 boxes) and its first frame (HEVC SEI).
  let picture = shape.picture;
  let sideData: readonly ProbedSideData[] = videoStream.side_data_list ?? [];
  if (hdrOf(colour, []) !== undefined) {
    sideData = [...sideData, ...(await firstFrameSideData(file, container, options.signal))];
    picture = { ...picture, hdr: hdrOf(colour, sideData)! };
  }
  const refusal = shape.refusal ?? hdrRefusal(picture, sideData);
  if (refusal !== undefined) throw badInput(`${name}: ${refusal}`, context);
  const video: VideoStreamInfo = {
    // The size the model sees: the coded size, turned upright.
    width: shape.width,
    height: shape.height,
    picture,
    frameCount: pts.length,
    frameRate,
    startTime: (startPts * timeBase.num) / timeBase.den,
    timeBase,
    codec: videoStream.codec_name ?? 'unknown',
    pixFmt: videoStream.pix_fmt ?? 'unknown',
    colour,
    framePts: pts,
  };
  const audioStream = streams.find((s) => s.codec_type === 'audio');
  let audio: AudioStreamInfo | undefined;
  if (audioStream !== undefined) {
    audio = {
      codec: audioStream.codec_name ?? 'unknown',
      sampleRate: Number(audioStream.sample_rate ?? 0),
      channels: audioStream.channels ?? 0,
      packetCount: packets.filter((p) => p.stream_index === audioStream.index).length,
    };
  }
  return { container, durationSeconds, video, ...(audio === undefined ? {} : { audio }) };
}

/** The side data of the first video frame (mastering display, content light level: HEVC SEI); none when unreadable. */
export async function firstFrameSideData(
  file: string,
  container: ContainerKind,
  signal: AbortSignal | undefined,
): Promise<ProbedSideData[]> {
  const r = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-of',
      'json',
      '-select_streams',
      'v:0',
      '-read_intervals',
      '%+#1',
      '-show_entries',
      'frame_side_data',
      ...rawTimestamps(container),
      file,
    ],
    { signal },
  );
  if (r.aborted) throw abortedError(`probing ${file}`);
  if (r.code !== 0) return [];
  try {
    const parsed = JSON.parse(r.stdout.toString('utf8')) as { frames?: { side_data_list?: ProbedSideData[] }[] };
    return parsed.frames?.[0]?.side_data_list ?? [];
  } catch {
    return [];
  }
}

/** The start PTS of the video, in ticks of its time base (exact, unlike `startTime` in seconds). */
export function startTicks(video: VideoStreamInfo): number {
  return Math.round((video.startTime * video.timeBase.den) / video.timeBase.num);
}
