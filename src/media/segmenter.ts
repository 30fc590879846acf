// Cutting a plain video file (mp4/mkv/mov/ts) into an HLS media playlist with keyframe-aligned
// segments, without re-encoding when its codecs and keyframes allow.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import type { MediaPlaylist } from 'hls-parser/types.js';
import { SwiftvrError, badInput, usageError } from '../errors.js';
import { parseStrict } from '../hls/hls-parse.js';
import type { ContainerKind } from '../types.js';
import { abortedError, runTool, stderrSummary } from './ffmpeg.js';
import { videoColour } from './colour.js';
import { bitDepthOf, hdrOf, rotationOf, x265HdrParams, type HdrInfo, type ProbedPicture } from './picture.js';
import { firstFrameSideData } from './probe.js';

/** Shortest and longest segment the output may have (the last one may be shorter). */
export const SEGMENT_SECONDS_MIN = 2;
export const SEGMENT_SECONDS_MAX = 6;
/** Slack for durations that land a frame off a whole number of seconds. */
const DURATION_SLACK = 0.05;

export interface SegmentationPlan {
  readonly mode: 'copy' | 're-encode';
  /** Why; for logs, e.g. "video codec mpeg4 is not H.264". */
  readonly reason: string;
  /** Clockwise turn of the file's display matrix, which the segments do not carry (0: none). */
  readonly rotation: number;
}

export interface SegmentVideoOptions {
  /** Target segment duration in seconds, within 2..6. @default 4 */
  readonly targetSeconds?: number;
  /** Segment container. @default 'ts' */
  readonly container?: ContainerKind;
  readonly signal?: AbortSignal;
  /** Told which way the file is cut (stream copy or re-encode) and why. */
  readonly onPlan?: (plan: SegmentationPlan) => void;
}

interface ProbedStream extends ProbedPicture {
  index: number;
  codec_type?: string;
  codec_name?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  disposition?: { attached_pic?: number };
}

/** Video codecs whose segments the restore decodes as they are cut (stream copy). */
const COPYABLE_VIDEO = new Set(['h264', 'hevc']);

const PLAYLIST = 'index.m3u8';

/** ffmpeg's hls muxer output, read with the same strict parser as every other playlist. */
function parseCut(text: string): MediaPlaylist {
  const { playlist } = parseStrict(text);
  if (playlist.isMasterPlaylist)
    throw new SwiftvrError('internal', 'ffmpeg wrote a multivariant playlist where a media playlist was expected');
  return playlist as MediaPlaylist;
}

/** Why these durations break the 2..6 s rule, or undefined when they keep it. */
function durationProblem(durations: readonly number[]): string | undefined {
  if (durations.length === 0) return 'no segments were written';
  for (const [i, d] of durations.entries()) {
    const last = i === durations.length - 1;
    if (d > SEGMENT_SECONDS_MAX + DURATION_SLACK || (!last && d < SEGMENT_SECONDS_MIN - DURATION_SLACK)) {
      return `segment ${i} would last ${d.toFixed(3)} s (keyframes allow no cut within ${SEGMENT_SECONDS_MIN}-${SEGMENT_SECONDS_MAX} s)`;
    }
  }
  return undefined;
}

/**
 * Whether stream-copied segments decode on their own, as the restore decodes them. A source with
 * open GOPs has keyframes that are not IDR frames: cut there, a segment lacks SPS/PPS or starts
 * with frames that reference the previous segment. Checks the second, a middle and the last
 * segment (the first always starts at the file's start).
 */
async function decodeProblem(dir: string, cut: MediaPlaylist, signal?: AbortSignal): Promise<string | undefined> {
  const uris = cut.segments.map((s) => s.uri);
  const init = cut.segments[0]?.map?.uri;
  const picks = [...new Set([1, Math.floor(uris.length / 2), uris.length - 1])].filter((i) => i > 0 && i < uris.length);
  for (const i of picks) {
    const segment = path.join(dir, uris[i]!);
    // fMP4: the init section and the segment, read as one file through the concat protocol.
    const input = init === undefined ? segment : `concat:${path.join(dir, init)}|${segment}`;
    const r = await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-xerror', '-i', input, '-map', '0:v:0', '-f', 'null', '-'], { signal });
    if (r.aborted) throw abortedError(`checking ${segment}`);
    if (r.code !== 0 || r.stderr !== '') {
      return `segment ${i} does not decode on its own (keyframes that are not IDR frames, e.g. open GOPs): ffmpeg ${stderrSummary(r, 160)}`;
    }
  }
  return undefined;
}

async function probeStreams(input: string, signal: AbortSignal | undefined): Promise<ProbedStream[]> {
  const r = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-of',
      'json',
      '-show_entries',
      'stream=index,codec_type,codec_name,width,height,pix_fmt,color_space,color_primaries,color_transfer,color_range:' +
        'stream_disposition=attached_pic:stream_side_data_list',
      input,
    ],
    { signal },
  );
  if (r.aborted) throw abortedError(`probing ${input}`);
  if (r.code !== 0) throw badInput(`${input} is not a media file ffmpeg can read: ffprobe ${stderrSummary(r)}`);
  return (JSON.parse(r.stdout.toString('utf8')) as { streams?: ProbedStream[] }).streams ?? [];
}

/** ffmpeg arguments that cut `input` into `dir` with the hls muxer. */
function hlsArgs(
  input: string,
  dir: string,
  container: ContainerKind,
  targetSeconds: number,
  video: 'copy' | 'encode',
  audio: 'copy' | 'encode' | 'none',
  hdr: HdrInfo | undefined,
  hevc: boolean,
): string[] {
  const ext = container === 'ts' ? 'ts' : 'm4s';
  // Even dimensions for 4:2:0; an IDR exactly every targetSeconds so every cut is on time.
  const evenSize = ['-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2'];
  const keyframes = ['-force_key_frames', `expr:gte(t,n_forced*${targetSeconds})`];
  const videoArgs =
    video === 'copy'
      ? ['-c:v', 'copy', ...(container === 'fmp4' && hevc ? ['-tag:v', 'hvc1'] : [])]
      : hdr === undefined
        ? [
            ...evenSize,
            '-pix_fmt',
            'yuv420p',
            '-c:v',
            'libx264',
            '-preset',
            'veryfast',
            '-crf',
            '18',
            '-profile:v',
            'high',
            ...keyframes,
            '-sc_threshold',
            '0',
          ]
        : // HDR stays 10-bit HEVC with its static metadata (the restore keeps both).
          [
            ...evenSize,
            '-pix_fmt',
            'yuv420p10le',
            '-c:v',
            'libx265',
            '-preset',
            'veryfast',
            '-crf',
            '16',
            '-profile:v',
            'main10',
            ...keyframes,
            '-forced-idr',
            '1',
            ...(container === 'fmp4' ? ['-tag:v', 'hvc1'] : []),
            '-x265-params',
            ['log-level=error', 'open-gop=0', 'scenecut=0', 'bframes=0', ...x265HdrParams(hdr)].join(':'),
          ];
  const audioArgs = audio === 'none' ? ['-an'] : audio === 'copy' ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '128k'];
  return [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-y',
    // Coded orientation: the restore turns the picture by the plan's rotation.
    '-noautorotate',
    '-i',
    input,
    '-map',
    '0:v:0',
    ...(audio === 'none' ? [] : ['-map', '0:a:0']),
    '-sn',
    '-dn',
    ...videoArgs,
    ...audioArgs,
    '-f',
    'hls',
    '-hls_time',
    String(targetSeconds),
    '-hls_playlist_type',
    'vod',
    '-hls_list_size',
    '0',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_type',
    container === 'ts' ? 'mpegts' : 'fmp4',
    ...(container === 'fmp4' ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
    '-hls_segment_filename',
    path.join(dir, `seg-%05d.${ext}`),
    path.join(dir, PLAYLIST),
  ];
}

/**
 * Cuts a plain video file into an HLS media playlist `outDir/index.m3u8` with keyframe-aligned
 * segments of 2-6 s, keeping the first audio stream. Stream copy when the video is H.264, its
 * keyframes allow such cuts and the cut segments decode on their own (IDR keyframes, closed
 * GOPs); otherwise a re-encode with an IDR every `targetSeconds`. Files are
 * written to a temporary folder and moved into `outDir` when complete, the playlist last.
 * Returns the playlist path. A file without video is a `bad-input` error.
 */
export async function segmentVideoFile(input: string, outDir: string, options: SegmentVideoOptions = {}): Promise<string> {
  const targetSeconds = options.targetSeconds ?? 4;
  const container = options.container ?? 'ts';
  if (!(targetSeconds >= SEGMENT_SECONDS_MIN && targetSeconds <= SEGMENT_SECONDS_MAX)) {
    throw usageError(`targetSeconds ${targetSeconds} is outside ${SEGMENT_SECONDS_MIN}..${SEGMENT_SECONDS_MAX} s`);
  }
  const info = await stat(input).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw badInput(`${input} does not exist or is not a file`);

  const streams = await probeStreams(input, options.signal);
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (video === undefined) {
    throw badInput(`${input} has no video stream; the input must be a video file (mp4, mkv, mov, ts) or an HLS playlist`);
  }
  const rotation = rotationOf(video);
  // A 10-bit HDR source: its static metadata, for a re-encode that keeps it.
  const colour = videoColour(video, video.width ?? 0, video.height ?? 0);
  const hdr =
    bitDepthOf(video.pix_fmt) > 8 && hdrOf(colour, []) !== undefined
      ? hdrOf(colour, [...(video.side_data_list ?? []), ...(await firstFrameSideData(input, 'ts', options.signal))])
      : undefined;
  const audioStream = streams.find((s) => s.codec_type === 'audio');
  const audioCopyable = container === 'ts' ? ['aac', 'mp3'] : ['aac'];
  const audio = audioStream === undefined ? 'none' : audioCopyable.includes(audioStream.codec_name ?? '') ? 'copy' : 'encode';

  await mkdir(outDir, { recursive: true });
  const work = path.join(outDir, `.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const attempt = async (mode: 'copy' | 'encode'): Promise<string | undefined> => {
      await rm(work, { recursive: true, force: true });
      await mkdir(work);
      const r = await runTool('ffmpeg', hlsArgs(input, work, container, targetSeconds, mode, audio, hdr, video.codec_name === 'hevc'), {
        signal: options.signal,
      });
      if (r.aborted) throw abortedError(`cutting ${input} into HLS`);
      if (r.code !== 0) {
        if (mode === 'copy') return `stream copy failed: ffmpeg ${stderrSummary(r, 200)}`;
        throw badInput(`${input} could not be cut into HLS: ffmpeg ${stderrSummary(r)}`);
      }
      const cut = parseCut(await readFile(path.join(work, PLAYLIST), 'utf8'));
      return (
        durationProblem(cut.segments.map((s) => s.duration)) ??
        (mode === 'copy' ? await decodeProblem(work, cut, options.signal) : undefined)
      );
    };

    let plan: SegmentationPlan;
    const codec = String(video.codec_name);
    const copyBlocker = COPYABLE_VIDEO.has(codec) ? await attempt('copy') : `video codec ${codec} is neither H.264 nor HEVC`;
    if (copyBlocker === undefined) {
      plan = {
        mode: 'copy',
        reason: `${codec === 'h264' ? 'H.264' : 'HEVC'} keyframes allow ${SEGMENT_SECONDS_MIN}-${SEGMENT_SECONDS_MAX} s cuts`,
        rotation,
      };
    } else {
      plan = { mode: 're-encode', reason: copyBlocker, rotation };
      const problem = await attempt('encode');
      if (problem !== undefined)
        throw badInput(`${input} could not be cut into ${SEGMENT_SECONDS_MIN}-${SEGMENT_SECONDS_MAX} s segments: ${problem}`);
    }
    options.onPlan?.(plan);

    // Media first, the playlist last: a reader never sees a playlist naming a missing segment.
    const names = (await readdir(work)).filter((n) => n !== PLAYLIST);
    for (const name of names) await rename(path.join(work, name), path.join(outDir, name));
    await rename(path.join(work, PLAYLIST), path.join(outDir, PLAYLIST));
    return path.join(outDir, PLAYLIST);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
