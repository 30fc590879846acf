// The encoder's command line: which encoder (NVENC when present, libx265 for 10-bit), the quality,
// GOP and timing (each output frame at its source PTS), the colour tags and HDR parameters, the
// container (MPEG-TS or fMP4) and the audio copied from the source segment.
import type { ErrorContext } from '../errors.js';
import type { ContainerKind, SegmentMediaInfo, VideoStreamInfo } from '../types.js';
import { colourTagArgs, planeFormat } from './colour.js';
import { runTool } from './ffmpeg.js';
import { planeBits, shapeFilters, x265HdrParams } from './picture.js';
import { rawTimestamps, startTicks } from './probe.js';

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

let nvencProbe: Promise<boolean> | undefined;

/** Whether this ffmpeg has h264_nvenc and it opens on the host (a GPU and driver present). Cached. */
export function nvencAvailable(): Promise<boolean> {
  nvencProbe ??= (async () => {
    const list = await runTool('ffmpeg', ['-hide_banner', '-encoders']);
    if (!list.stdout.toString('utf8').includes('h264_nvenc')) return false;
    const trial = await runTool('ffmpeg', [
      '-nostdin',
      '-hide_banner',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=black:s=256x256:r=25',
      '-frames:v',
      '2',
      '-c:v',
      'h264_nvenc',
      '-f',
      'null',
      '-',
    ]);
    return trial.code === 0;
  })();
  return nvencProbe;
}

export async function chooseEncoder(requested: VideoEncoderName | 'auto', bits: 8 | 10): Promise<VideoEncoderName> {
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
export function encoderArgs(o: SegmentEncoderOptions, encoder: VideoEncoderName, withAudio: boolean, tmpPath: string): string[] {
  const { timeBase } = o.info.video;
  const tb = `${timeBase.num}/${timeBase.den}`;
  const threads = String(o.threads ?? 4);
  const keyint = String(o.keyint ?? 600);
  const quality = String(o.quality ?? DEFAULT_CRF);
  const lossless = encoder === 'libx264' && o.quality === 0;
  const video =
    encoder === 'libx264'
      ? [
          '-c:v',
          'libx264',
          '-preset',
          o.preset ?? (o.quick === true ? 'ultrafast' : 'veryfast'),
          ...(lossless ? ['-qp', '0', '-profile:v', 'high444'] : ['-crf', quality, '-profile:v', 'high']),
          '-threads',
          threads,
          '-x264-params',
          `keyint=${keyint}:bframes=0`,
        ]
      : encoder === 'libx265'
        ? x265Args(o, quality, keyint, threads)
        : [
            '-c:v',
            'h264_nvenc',
            '-preset',
            o.preset ?? (o.quick === true ? 'p1' : 'p4'),
            '-rc',
            'vbr',
            '-cq',
            quality,
            '-b:v',
            '0',
            '-profile:v',
            'high',
            '-bf',
            '0',
            '-g',
            keyint,
            '-forced-idr',
            '1',
          ];
  const muxer =
    o.container === 'ts'
      ? ['-f', 'mpegts', '-muxdelay', '0', '-muxpreload', '0']
      : [
          '-f',
          'mp4',
          '-movflags',
          '+frag_keyframe+empty_moov+default_base_moof+frag_discont+skip_trailer',
          '-avoid_negative_ts',
          'disabled',
          '-use_editlist',
          '0',
          '-fragment_index',
          String(o.sequenceNumber ?? 1),
        ];
  return [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-copyts',
    '-f',
    'rawvideo',
    '-pix_fmt',
    planeFormat(o.info.video.pixFmt, planeBits(o.info.video.picture)),
    '-video_size',
    `${o.width}x${o.height}`,
    '-framerate',
    `${o.info.video.frameRate.num}/${o.info.video.frameRate.den}`,
    '-i',
    'pipe:0',
    ...(withAudio ? [...rawTimestamps(o.container), '-i', o.sourcePath] : []),
    '-map',
    '0:v:0',
    ...(withAudio ? ['-map', '1:a', '-c:a', 'copy'] : ['-an']),
    '-sn',
    '-dn',
    '-filter:v',
    [`settb=${tb}`, `setpts='${ptsExpression(o.info.video)}'`, ...shapeFilters(o.info.video.picture)].join(','),
    ...video,
    '-enc_time_base:v',
    tb,
    '-fps_mode',
    'passthrough',
    ...colourTagArgs(o.info.video.colour),
    '-fflags',
    '+bitexact',
    '-flags:v',
    '+bitexact',
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
    'log-level=error',
    `keyint=${keyint}`,
    'bframes=0',
    'open-gop=0',
    'frame-threads=1',
    `pools=${threads}`,
    ...x265HdrParams(o.info.video.picture.hdr),
  ];
  return [
    '-c:v',
    'libx265',
    '-preset',
    o.preset ?? (o.quick === true ? 'ultrafast' : 'veryfast'),
    '-crf',
    quality,
    '-profile:v',
    'main10',
    // fMP4: parameter sets in the sample entry (hvc1), as Apple's players require.
    ...(o.container === 'fmp4' ? ['-tag:v', 'hvc1'] : []),
    '-x265-params',
    params.join(':'),
  ];
}
