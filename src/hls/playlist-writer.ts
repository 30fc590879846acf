// Renders the restored rendition's media playlist (VOD and live) and the multivariant playlist
// that adds the upscaled variant next to the source ones. Rendering only: publishing is
// writeFileAtomic (write temp + rename), and the caller writes segments before playlists.
import path from 'node:path';

import HLS from 'hls-parser';
import type { MasterPlaylist, Rendition, Variant } from 'hls-parser/types.js';

import { SwiftvrError, badInput } from '../errors.js';
import type { ByteRange, ContainerKind, MediaRendition, ResourceLocation, Resolution, SegmentRef } from '../types.js';
import { parseStrict } from './hls-parse.js';

const { MediaPlaylist, MasterPlaylist: MasterPlaylistClass, Segment, MediaInitializationSection, Variant: VariantClass } =
  HLS.types;

/** One segment the pipeline produced. */
export interface ProducedSegment {
  /** Media sequence number of the source segment it restores. */
  readonly sn: number;
  /** URI relative to the output media playlist. */
  readonly uri: string;
  /** Duration in seconds (written with millisecond precision). */
  readonly duration: number;
  /** fMP4: the init section's URI relative to the output media playlist. */
  readonly initUri?: string;
  readonly byteRange?: ByteRange;
}

/** A produced segment with the source timeline facts a live playlist needs. */
export interface LiveSegment extends ProducedSegment {
  readonly discontinuity: boolean;
  /** Discontinuity sequence number of this segment (as in SegmentRef). */
  readonly discontinuitySequence: number;
  readonly programDateTime?: Date;
}

/** Pairs a source segment with its produced output, for {@link renderLivePlaylist}. */
export function liveSegment(source: SegmentRef, produced: ProducedSegment): LiveSegment {
  if (source.sn !== produced.sn) {
    throw new SwiftvrError('internal', `produced segment sn ${produced.sn} was paired with source sn ${source.sn}`);
  }
  return {
    ...produced,
    discontinuity: source.discontinuity,
    discontinuitySequence: source.discontinuitySequence,
    ...(source.programDateTime ? { programDateTime: source.programDateTime } : {}),
  };
}

/**
 * The restored rendition's VOD media playlist: one output segment per source segment with the
 * same sequence numbers, discontinuities (and DISCONTINUITY-SEQUENCE), PROGRAM-DATE-TIME and
 * TARGETDURATION; EXTINF in milliseconds; EXT-X-MAP for fMP4; PLAYLIST-TYPE VOD and ENDLIST.
 */
export function renderVodPlaylist(source: MediaRendition, produced: readonly ProducedSegment[]): string {
  const bySn = new Map(produced.map((p) => [p.sn, p]));
  if (bySn.size !== produced.length) throw new SwiftvrError('internal', 'produced segments repeat a sequence number');
  const segments = source.segments.map((ref) => {
    const out = bySn.get(ref.sn);
    if (out === undefined) {
      throw new SwiftvrError('internal', `no output segment for source segment sn ${ref.sn} (${ref.uri})`, {
        context: { sn: ref.sn, uri: ref.uri },
      });
    }
    bySn.delete(ref.sn);
    return liveSegment(ref, out);
  });
  const extra = [...bySn.keys()];
  if (extra.length > 0) {
    throw new SwiftvrError('internal', `output segments sn ${extra.join(', ')} have no source segment`);
  }
  return renderMedia(segments, {
    targetDuration: source.targetDuration,
    container: source.container,
    playlistType: 'VOD',
    endList: true,
  });
}

export interface LivePlaylistOptions {
  /** TARGETDURATION of the source rendition. */
  readonly targetDuration: number;
  readonly container: ContainerKind;
  /**
   * Keep at least this many seconds of segments in the window. RFC 8216 §6.2.2 forbids a live
   * playlist shorter than three target durations, so smaller values are raised to that. The
   * window always keeps the newest segment.
   * @default 6 * targetDuration, 6 s for a 0 target duration (segments under 0.5 s)
   */
  readonly windowSeconds?: number;
  /** The source has ended (its playlist had EXT-X-ENDLIST): write EXT-X-ENDLIST. */
  readonly ended: boolean;
}

export interface LivePlaylist {
  readonly text: string;
  /** Sequence number of the first segment in the window (EXT-X-MEDIA-SEQUENCE). */
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  /**
   * Segments before `mediaSequence` have left the window. RFC 8216 §6.2.2: keep them available
   * for at least their duration plus the longest playlist duration before deleting them.
   */
  readonly removed: readonly LiveSegment[];
}

/**
 * A live (sliding-window) media playlist over `segments`, all produced segments so far in sn
 * order: no PLAYLIST-TYPE, the shortest tail lasting at least the window, MEDIA-SEQUENCE and
 * DISCONTINUITY-SEQUENCE of that tail's first segment (RFC 8216 §6.2.2), ENDLIST once the
 * source ended.
 */
export function renderLivePlaylist(segments: readonly LiveSegment[], opts: LivePlaylistOptions): LivePlaylist {
  if (segments.length === 0) throw new SwiftvrError('internal', 'a live playlist needs at least one segment');
  segments.forEach((s, i) => {
    const prev = segments[i - 1];
    if (prev !== undefined && s.sn !== prev.sn + 1) {
      throw new SwiftvrError('internal', `live segments must be consecutive: sn ${s.sn} follows sn ${prev.sn}`);
    }
  });
  const window = Math.max(opts.windowSeconds ?? 6 * Math.max(1, opts.targetDuration), 3 * opts.targetDuration);
  let start = segments.length;
  let kept = 0;
  while (start > 0 && (kept < window || start === segments.length)) {
    start--;
    kept += segments[start]?.duration ?? 0;
  }
  const tail = segments.slice(start);
  const text = renderMedia(tail, {
    targetDuration: opts.targetDuration,
    container: opts.container,
    endList: opts.ended,
  });
  const first = tail[0] as LiveSegment;
  return {
    text,
    mediaSequence: first.sn,
    discontinuitySequence: first.discontinuitySequence - (first.discontinuity ? 1 : 0),
    removed: segments.slice(0, start),
  };
}

interface MediaHeader {
  readonly targetDuration: number;
  readonly container: ContainerKind;
  readonly playlistType?: 'VOD';
  readonly endList: boolean;
}

function renderMedia(segments: readonly LiveSegment[], header: MediaHeader): string {
  const first = segments[0];
  if (first === undefined) throw new SwiftvrError('internal', 'a media playlist needs at least one segment');
  let version = 3; // decimal EXTINF (RFC 8216 §7)
  const out = segments.map((s) => {
    const duration = Math.round(s.duration * 1000) / 1000;
    if (!(duration > 0)) {
      throw new SwiftvrError('internal', `output segment sn ${s.sn} has duration ${s.duration}: it must be positive`);
    }
    // RFC 8216 §4.3.3.1: each EXTINF, rounded to the nearest integer, <= TARGETDURATION.
    if (Math.round(duration) > header.targetDuration) {
      throw new SwiftvrError(
        'internal',
        `output segment sn ${s.sn} lasts ${duration} s, over the source TARGETDURATION ${header.targetDuration}`,
      );
    }
    if (header.container === 'fmp4' && s.initUri === undefined) {
      throw new SwiftvrError('internal', `fMP4 output segment sn ${s.sn} has no init section URI`);
    }
    if (header.container === 'ts' && s.initUri !== undefined) {
      throw new SwiftvrError('internal', `MPEG-TS output segment sn ${s.sn} must not have an init section`);
    }
    if (s.initUri !== undefined) version = Math.max(version, 6); // EXT-X-MAP without I-FRAMES-ONLY
    if (s.byteRange !== undefined) version = Math.max(version, 4);
    return new Segment({
      uri: s.uri,
      duration,
      mediaSequenceNumber: s.sn,
      discontinuitySequence: s.discontinuitySequence,
      discontinuity: s.discontinuity,
      ...(s.byteRange ? { byterange: { offset: s.byteRange.offset, length: s.byteRange.length } } : {}),
      ...(s.initUri !== undefined ? { map: new MediaInitializationSection({ uri: s.initUri }) } : {}),
      ...(s.programDateTime ? { programDateTime: s.programDateTime } : {}),
    });
  });
  // hls-parser's stringify leaves out a 0 target duration (it tests the value for truth), so a
  // 0 is written as 1 and the line set back: RFC 8216 §4.3.3.1 allows 0 when every EXTINF
  // rounds to 0, and the output keeps the source's value.
  const zeroTarget = header.targetDuration === 0;
  const playlist = new MediaPlaylist({
    version,
    independentSegments: true, // every output segment starts with an IDR frame
    targetDuration: zeroTarget ? 1 : header.targetDuration,
    mediaSequenceBase: first.sn,
    discontinuitySequenceBase: first.discontinuitySequence - (first.discontinuity ? 1 : 0),
    ...(header.playlistType ? { playlistType: header.playlistType } : {}),
    endlist: header.endList,
    segments: out,
  });
  const text = HLS.stringify(playlist);
  return `${zeroTarget ? text.replace(/^#EXT-X-TARGETDURATION:1$/m, '#EXT-X-TARGETDURATION:0') : text}\n`;
}

/** The upscaled variant's EXT-X-STREAM-INF attributes. */
export interface RestoredVariant {
  /** URI of the restored media playlist, relative to the multivariant playlist. */
  readonly uri: string;
  /** Peak segment bit rate, bits/s ({@link measureBandwidth}). */
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  readonly resolution: Resolution;
  /** e.g. `avc1.640028,mp4a.40.2` ({@link restoredCodecs}). */
  readonly codecs: string;
  readonly frameRate: number;
}

/** A source variant to list when the input was a media playlist (no source multivariant). */
export interface ListedVariant {
  /** URI relative to the output multivariant playlist. */
  readonly uri: string;
  readonly bandwidth: number;
  readonly averageBandwidth?: number;
  readonly resolution?: Resolution;
  readonly codecs?: string;
  readonly frameRate?: number;
}

export interface MultivariantOptions {
  readonly restored: RestoredVariant;
  /** Text of the source multivariant playlist (SourcePlan.multivariant.text), if there was one. */
  readonly sourceText?: string;
  /**
   * Output URI of each URI written in `sourceText` (variants, I-frame variants, EXT-X-MEDIA,
   * SESSION-DATA): the source renditions are referenced, not copied. See {@link outputUriFor}.
   */
  readonly mapUri?: (uriAsWritten: string) => string;
  /** URI (as written) of the source variant the restored one was made from; its AUDIO,
   * SUBTITLES and CLOSED-CAPTIONS groups are copied. Default: the highest-BANDWIDTH variant. */
  readonly basedOn?: string;
  /** Without `sourceText`: the source variant(s) to list beside the restored one. */
  readonly sourceVariants?: readonly ListedVariant[];
  /** Where the restored variant goes in the list. @default 'last' */
  readonly position?: 'first' | 'last';
}

/**
 * The output multivariant playlist: the source variants (URIs mapped by the caller), the
 * source's EXT-X-MEDIA renditions, and the restored variant with the same AUDIO group as the
 * variant it was made from.
 */
export function renderMultivariantPlaylist(opts: MultivariantOptions): string {
  let playlist: MasterPlaylist;
  let basedOn: Variant | undefined;
  if (opts.sourceText !== undefined) {
    const mapUri = opts.mapUri;
    if (mapUri === undefined) throw new SwiftvrError('internal', 'mapUri is required with sourceText');
    let parsed;
    try {
      parsed = parseStrict(opts.sourceText.replace(/^\uFEFF/, '')).playlist;
    } catch (e) {
      throw badInput(`source multivariant playlist is malformed: ${(e as Error).message}`, undefined, e);
    }
    if (!parsed.isMasterPlaylist) throw new SwiftvrError('internal', 'sourceText is a media playlist, not a multivariant one');
    playlist = parsed as MasterPlaylist;
    const sourceVariants = playlist.variants.filter((v) => !v.isIFrameOnly);
    basedOn =
      opts.basedOn !== undefined
        ? sourceVariants.find((v) => v.uri === opts.basedOn)
        : [...sourceVariants].sort((a, b) => b.bandwidth - a.bandwidth)[0];
    if (opts.basedOn !== undefined && basedOn === undefined) {
      throw new SwiftvrError('internal', `basedOn variant ${opts.basedOn} is not in the source multivariant playlist`);
    }
    const mapped = new WeakSet<object>();
    const remap = (r: { uri?: string }): void => {
      if (mapped.has(r) || r.uri === undefined) return;
      r.uri = mapUri(r.uri);
      mapped.add(r);
    };
    for (const v of playlist.variants) {
      for (const r of [...v.audio, ...v.video, ...v.subtitles, ...v.closedCaptions]) remap(r);
    }
    for (const v of playlist.variants) remap(v); // after renditions: basedOn's groups are shared below
    for (const d of playlist.sessionDataList) remap(d);
  } else {
    const listed = opts.sourceVariants ?? [];
    playlist = new MasterPlaylistClass({
      variants: listed.map(
        (v) =>
          new VariantClass({
            uri: v.uri,
            bandwidth: v.bandwidth,
            ...(v.averageBandwidth ? { averageBandwidth: v.averageBandwidth } : {}),
            ...(v.resolution ? { resolution: v.resolution } : {}),
            ...(v.codecs ? { codecs: v.codecs } : {}),
            ...(v.frameRate ? { frameRate: v.frameRate } : {}),
          }),
      ),
      independentSegments: true,
    });
  }

  const r = opts.restored;
  checkRestored(r);
  const restored = new VariantClass({
    uri: r.uri,
    bandwidth: r.bandwidth,
    averageBandwidth: r.averageBandwidth,
    resolution: { width: r.resolution.width, height: r.resolution.height },
    codecs: r.codecs,
    frameRate: r.frameRate,
    audio: copyGroup(basedOn?.audio),
    video: [],
    subtitles: copyGroup(basedOn?.subtitles),
    closedCaptions: copyGroup(basedOn?.closedCaptions),
  });
  // hls-parser's constructor leaves allowedCpc undefined, which stringify accepts.
  if (opts.position === 'first') playlist.variants.unshift(restored);
  else playlist.variants.push(restored);
  return `${HLS.stringify(playlist)}\n`;
}

function copyGroup<T extends Rendition>(group: readonly T[] | undefined): T[] {
  return group ? [...group] : [];
}

function checkRestored(r: RestoredVariant): void {
  const positiveInt = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
  if (!positiveInt(r.bandwidth) || !positiveInt(r.averageBandwidth)) {
    throw new SwiftvrError(
      'internal',
      `restored variant BANDWIDTH ${r.bandwidth} and AVERAGE-BANDWIDTH ${r.averageBandwidth} must be positive integers`,
    );
  }
  if (!positiveInt(r.resolution.width) || !positiveInt(r.resolution.height)) {
    throw new SwiftvrError('internal', `restored variant RESOLUTION ${r.resolution.width}x${r.resolution.height} is invalid`);
  }
  if (!(r.frameRate > 0)) throw new SwiftvrError('internal', `restored variant FRAME-RATE ${r.frameRate} must be positive`);
  if (r.codecs.trim() === '') throw new SwiftvrError('internal', 'restored variant CODECS must not be empty');
}

/**
 * BANDWIDTH and AVERAGE-BANDWIDTH (bits/s, rounded up) from produced segment sizes.
 * Peak: the largest bit rate of any contiguous run of segments lasting between 0.5 and 1.5
 * times the target duration (the "peak segment bit rate" of RFC 8216 §4.3.4.2 as draft-pantos
 * -hls-rfc8216bis defines it); average: total bits over total duration.
 */
export function measureBandwidth(
  segments: readonly { readonly bytes: number; readonly duration: number }[],
  targetDuration: number,
): { readonly peak: number; readonly average: number } {
  if (segments.length === 0) throw new SwiftvrError('internal', 'measureBandwidth needs at least one segment');
  for (const s of segments) {
    if (!(s.duration > 0) || !(s.bytes >= 0)) {
      throw new SwiftvrError('internal', `segment of ${s.bytes} bytes and ${s.duration} s cannot give a bit rate`);
    }
  }
  const lo = 0.5 * targetDuration;
  const hi = 1.5 * targetDuration;
  let peak = 0;
  for (let i = 0; i < segments.length; i++) {
    let bits = 0;
    let seconds = 0;
    for (let j = i; j < segments.length; j++) {
      const s = segments[j] as { bytes: number; duration: number };
      bits += s.bytes * 8;
      seconds += s.duration;
      if (seconds > hi + 1e-9) break;
      if (seconds >= lo - 1e-9) peak = Math.max(peak, bits / seconds);
    }
  }
  const totalBits = segments.reduce((a, s) => a + s.bytes * 8, 0);
  const totalSeconds = segments.reduce((a, s) => a + s.duration, 0);
  const average = totalBits / totalSeconds;
  // Every run too short or too long (e.g. one short segment): the per-segment peak stands in.
  if (peak === 0) peak = Math.max(...segments.map((s) => (s.bytes * 8) / s.duration));
  return { peak: Math.ceil(peak), average: Math.ceil(average) };
}

const H264_PROFILE_IDC: Readonly<Record<string, readonly [number, number]>> = {
  'constrained baseline': [66, 0xc0], // constraint_set0 + set1, as x264 writes it
  baseline: [66, 0],
  main: [77, 0],
  extended: [88, 0],
  high: [100, 0],
  'high 10': [110, 0],
  'high 4:2:2': [122, 0],
  'high 4:4:4 predictive': [244, 0],
};

/**
 * RFC 6381 `avc1.PPCCLL` for an H.264 stream; `profile` is ffprobe's profile name (e.g. `High`)
 * or profile_idc, `level` ffprobe's level (e.g. 40 for 4.0).
 */
export function avc1Codec(profile: string | number, level: number, constraintFlags?: number): string {
  let idc: number;
  let flags = constraintFlags ?? 0;
  if (typeof profile === 'number') {
    idc = profile;
  } else {
    const known = H264_PROFILE_IDC[profile.trim().toLowerCase()];
    if (known === undefined) throw new SwiftvrError('internal', `H.264 profile "${profile}" is not one avc1Codec knows`);
    [idc] = known;
    flags = constraintFlags ?? known[1];
  }
  if (!Number.isInteger(level) || level <= 0 || level > 255) {
    throw new SwiftvrError('internal', `H.264 level ${level} must be an integer in 1..255 (e.g. 40 for 4.0)`);
  }
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `avc1.${hex(idc)}${hex(flags)}${hex(level)}`;
}

const VIDEO_CODEC = /^(avc[1-4]|hvc1|hev1|vp0?[89]|av01|dvh[1e]|dva[1v]|mp4v)\b/i;

/** CODECS of the restored variant: its video codec plus the source's non-video codecs (audio). */
export function restoredCodecs(videoCodec: string, sourceCodecs?: string): string {
  const others = (sourceCodecs ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !VIDEO_CODEC.test(c));
  return [videoCodec, ...others].join(',');
}

/**
 * How the output playlists reference a source resource: a relative path from `fromDir` for
 * local files (percent-encoded, `/` separators), the URL itself for http(s).
 */
export function outputUriFor(location: ResourceLocation, fromDir: string): string {
  switch (location.kind) {
    case 'file': {
      const rel = path.relative(path.resolve(fromDir), location.path);
      return rel.split(path.sep).map((p) => (p === '..' ? p : encodeURIComponent(p))).join('/');
    }
    case 'http':
      return location.url;
    case 's3':
      throw new SwiftvrError('internal', `s3://${location.bucket}/${location.key} has no output URI here: map it to its delivery URL`);
  }
}
