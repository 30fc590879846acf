// Boundary types shared by the pipeline stages. Import with `import type`.
// Each stage module owns its internals; only what crosses a stage boundary lives here.
import type { MasterPlaylist } from 'hls-parser/types.js';
import type { VideoColour } from './media/colour.js';
import type { PictureInfo, PictureReport, SampleBits } from './media/picture.js';

export type { SampleBits };

export type { VideoColour };

/** Segment container of an HLS rendition. */
export type ContainerKind = 'ts' | 'fmp4';

/** A rational number, e.g. a frame rate of 30000/1001. */
export interface Rational {
  readonly num: number;
  readonly den: number;
}

/** Where a byte resource lives; the loader resolves it under the job's URI policy. */
export type ResourceLocation =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** Where a job may read from: its input's folder, hosts and bucket prefix (checked by hls/uri-policy.ts). */
export interface UriPolicy {
  /**
   * Folder every local resource must stay inside (absolute), or undefined when the job reads
   * no local files. Lexical checks use it as given.
   */
  readonly root?: string;
  /** `root` with symlinks resolved, for the real-path check (the input folder may sit under a link). */
  readonly realRoot?: string;
  /** Hosts http(s) resources may come from, lowercased; `host` matches any port, `host:port` one. */
  readonly allowedHosts: readonly string[];
  /** The bucket and key prefix S3 resources must stay inside (prefix '' = the whole bucket). */
  readonly s3?: { readonly bucket: string; readonly prefix: string };
}

/** Options of one load: the policy it is checked under, the range, limits and retries. */
export interface LoadOptions {
  readonly policy: UriPolicy;
  /** The loader for s3 locations (none: s3 locations cannot be loaded). */
  readonly s3?: Loader;
  readonly byteRange?: ByteRange;
  readonly signal?: AbortSignal;
  /** Per-attempt timeout for remote loads. @default 30000 */
  readonly timeoutMs?: number;
  /** Attempts for transient remote failures (5xx, 408, 429, network errors, timeouts). @default 3 */
  readonly attempts?: number;
  /** Refuse resources larger than this. @default 1 GiB */
  readonly maxBytes?: number;
}

/** Loads one location's bytes; policy checks are done before it is called. */
export type Loader = (location: ResourceLocation, opts: LoadOptions) => Promise<Uint8Array>;

/** How a job reads its source: one policy and the loaders bound to it (hls/resource-loader.ts). */
export interface SourceAccess {
  readonly policy: UriPolicy;
  load(location: ResourceLocation, opts?: Omit<LoadOptions, 'policy' | 's3'>): Promise<Uint8Array>;
  loadText(location: ResourceLocation, opts?: Omit<LoadOptions, 'policy' | 's3'>): Promise<string>;
}

/** RFC 6381 codec strings of a rendition: its video codec and its audio codecs, e.g. avc1.64001f + [mp4a.40.2]. */
export interface Codecs {
  readonly video: string;
  readonly audio: readonly string[];
}

/** The CODECS attribute of a variant: video first, then audio, comma-separated. */
export const codecsAttribute = (c: Codecs): string => [c.video, ...c.audio].join(',');

/** The initialisation section (EXT-X-MAP) of an fMP4 rendition. */
export interface InitSectionRef {
  /** URI as written in the playlist. */
  readonly uri: string;
  readonly location: ResourceLocation;
  readonly byteRange?: ByteRange;
}

/** One media segment of the source rendition, resolved and checked. */
export interface SegmentRef {
  /** Media sequence number (EXT-X-MEDIA-SEQUENCE + index). */
  readonly sn: number;
  /** URI as written in the playlist (relative URIs kept relative). */
  readonly uri: string;
  readonly location: ResourceLocation;
  readonly byteRange?: ByteRange;
  /** EXTINF duration in seconds. */
  readonly duration: number;
  readonly discontinuity: boolean;
  /** Discontinuity sequence number this segment belongs to. */
  readonly discontinuitySequence: number;
  readonly programDateTime?: Date;
  readonly map?: InitSectionRef;
  readonly title?: string;
}

/** A media playlist (RFC 8216 §4.3.3), resolved. */
export interface MediaRendition {
  readonly isMultivariant: false;
  readonly uri: string;
  readonly location: ResourceLocation;
  readonly version: number;
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  readonly playlistType?: 'VOD' | 'EVENT';
  readonly endList: boolean;
  readonly independentSegments: boolean;
  readonly container: ContainerKind;
  readonly segments: readonly SegmentRef[];
}

export interface Resolution {
  readonly width: number;
  readonly height: number;
}

/** One EXT-X-STREAM-INF entry of a multivariant playlist. */
export interface VariantInfo {
  readonly uri: string;
  readonly location: ResourceLocation;
  readonly bandwidth: number;
  readonly averageBandwidth?: number;
  readonly resolution?: Resolution;
  readonly codecs?: string;
  readonly frameRate?: number;
  /** GROUP-ID of the AUDIO rendition group this variant refers to. */
  readonly audioGroup?: string;
  readonly subtitlesGroup?: string;
  readonly closedCaptions?: string;
}

/** An input resolved into the rendition to restore plus what the output playlist must keep. */
export interface SourcePlan {
  /** The multivariant playlist, when the input was one. */
  readonly multivariant?: {
    readonly uri: string;
    readonly location: ResourceLocation;
    readonly variants: readonly VariantInfo[];
    /**
     * The source multivariant playlist as parsed once by the reader (strict), to carry its variants,
     * EXT-X-MEDIA and SESSION-DATA entries across. Readers copy it before changing anything.
     */
    readonly playlist: MasterPlaylist;
  };
  /** The variant chosen as the restore input (highest BANDWIDTH unless told otherwise). */
  readonly chosen?: VariantInfo;
  readonly media: MediaRendition;
  /** The policy the plan was read under and the loaders bound to it: every later read uses these. */
  readonly source: SourceAccess;
}

/** What ffprobe tells about one segment. */
export interface VideoStreamInfo {
  /** The picture's size as the model sees it: the coded size, turned upright (`picture.rotation`). */
  readonly width: number;
  readonly height: number;
  /** Shape, orientation, scan and bit depth of the coded picture. */
  readonly picture: PictureInfo;
  readonly frameCount: number;
  readonly frameRate: Rational;
  /** PTS of the first video frame, in seconds. */
  readonly startTime: number;
  readonly timeBase: Rational;
  readonly codec: string;
  readonly pixFmt: string;
  /** Colour description (the source's tags, with the documented default for untagged fields). */
  readonly colour: VideoColour;
  /**
   * Presentation timestamps of the frames in ticks of `timeBase`, ascending (from ffprobe's
   * packets). The encoder gives output frame n the time `framePts[n]`, so variable frame rates
   * and gaps survive the round trip.
   */
  readonly framePts?: readonly number[];
}

export interface AudioStreamInfo {
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
  readonly packetCount: number;
}

export interface SegmentMediaInfo {
  readonly container: ContainerKind;
  readonly durationSeconds: number;
  readonly video: VideoStreamInfo;
  readonly audio?: AudioStreamInfo;
}

/**
 * A decoded frame as the codec's own planes: 4:2:0 (I420: the Y plane, then U, then V, each
 * row-major without padding), `width * height * 3 / 2` samples; width and height are even. 8-bit
 * samples are one byte each (yuv420p); 10-bit ones (HDR sources) two bytes little-endian
 * (yuv420p10le). No colour matrix is ever applied to it: its meaning is its stream's `VideoColour`.
 */
export interface YuvFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  /** Bits per sample; absent means 8. */
  readonly bits?: SampleBits;
}

/** Bytes of one 4:2:0 frame at `bits` per sample. */
export const yuvFrameBytes = (width: number, height: number, bits: SampleBits = 8): number =>
  ((width * height * 3) / 2) * (bits > 8 ? 2 : 1);

/** Bits per sample of a frame. */
export const frameBits = (f: YuvFrame): SampleBits => f.bits ?? 8;

/** The buffers (not shared) whose every byte is one of these frames': a frame's own, or a block of consecutive frames. */
export function wholeBuffers(frames: readonly YuvFrame[]): Set<ArrayBuffer> {
  const covered = new Map<ArrayBufferLike, number>();
  for (const f of frames) covered.set(f.data.buffer, (covered.get(f.data.buffer) ?? 0) + f.data.byteLength);
  const whole = new Set<ArrayBuffer>();
  for (const [b, bytes] of covered) if (b instanceof ArrayBuffer && bytes === b.byteLength) whole.add(b);
  return whole;
}

/**
 * Frames (of one size) laid end to end: the frames' own bytes when they already are (a decoder's
 * block of consecutive frames), else copied in order into `into(total bytes)`.
 */
export function endToEnd(frames: readonly YuvFrame[], into: (bytes: number) => Uint8Array): Uint8Array {
  const first = frames[0];
  if (first === undefined) return into(0);
  const bytes = first.data.byteLength;
  if (frames.every((f, i) => f.data.buffer === first.data.buffer && f.data.byteOffset === first.data.byteOffset + i * bytes)) {
    return new Uint8Array(first.data.buffer, first.data.byteOffset, frames.length * bytes);
  }
  const out = into(frames.length * bytes);
  frames.forEach((f, i) => out.set(f.data, i * bytes));
  return out;
}

/** One carried-state tensor spec from the model sidecar. */
export interface StateSpec {
  /** ONNX input name, e.g. `state_ctx`. */
  readonly input: string;
  /** ONNX output name, e.g. `state_ctx_out`. */
  readonly output: string;
  /**
   * Shape; symbolic entries are `H`, `W`, `H/k`, `W/k`, `H*k`, `W*k` where H and W are the LQ
   * frame height and width rounded up to the model's alignment.
   */
  readonly shape: readonly (number | string)[];
  readonly dtype: 'float32' | 'float16';
}

/** The model contract, read from the model's JSON sidecar (`<model>.json`). */
export interface ModelContract {
  readonly name: string;
  /** True for test fixtures: a model that meets the contract but was never trained. */
  readonly fixture: boolean;
  /** Output size = input size * scale. */
  readonly scale: number;
  /**
   * The model pads its input internally (edge replication) up to multiples of this; state shapes
   * are given for the padded size.
   */
  readonly alignment: number;
  /** Largest chunk T the model accepts. */
  readonly tMax: number;
  /**
   * Input tensor `lq`: [1, T, 3H/2, W], each frame one 4:2:0 frame (I420 planes): uint8 yuv420p
   * for an 8-bit graph, int16 holding 0..1023 (yuv420p10le) for a 10-bit one.
   */
  readonly input: string;
  /** Output tensor `hq`: [1, T, 3H*scale/2, W*scale] of the input's dtype, each frame one 4:2:0 frame. */
  readonly output: string;
  /** Bits per sample of the planes the graph reads and writes. */
  readonly bits: SampleBits;
  /** File name (beside this model) of the same weights as a 10-bit graph, for HDR sources. */
  readonly p10?: string;
  readonly states: readonly StateSpec[];
}

/** How progress and per-segment results are reported. */
export type ReportMode = 'bar' | 'quiet' | 'json';

/** Execution provider for onnxruntime. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** The result of restoring one segment. */
export interface SegmentResult {
  readonly sn: number;
  readonly frames: number;
  /** Wall seconds spent on this segment (decode start to encoded file). */
  readonly seconds: number;
  readonly fps: number;
  /** Output segment size in bytes. */
  readonly bytes: number;
  /** Output segment duration in seconds (equals the source's). */
  readonly duration: number;
  /** Mean luma change the model made (8-bit levels; see src/inference/frame-stats.ts). */
  readonly changed?: number;
  /** Restored jump at the boundary to the previous segment over the source's jump (1: no seam). */
  readonly boundaryFlicker?: number;
  /** Fidelity to the source: the restored luma area-downscaled to the source size against the decoded source (see SegmentStats). */
  readonly fidelityPsnrY?: number;
  readonly fidelitySsimY?: number;
  /** Wall seconds in the model's runs (see SegmentStats). */
  readonly modelSeconds?: number;
  /** Inference-thread CPU ms outside the model's runs (see SegmentStats). */
  readonly threadHostMs?: number;
  /** Set when the segment was published as a plain upscale instead of restored, and why. */
  readonly fallback?: string;
  /** Which picture properties the output keeps, what was applied to keep their meaning, what it drops. */
  readonly picture?: PictureReport;
}
