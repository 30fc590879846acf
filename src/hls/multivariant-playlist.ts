// The multivariant playlist of the output: the source's variants (and EXT-X-MEDIA groups) carried
// across, plus the upscaled variant. Rendering only: publishing is writeFileAtomic, and the caller
// writes the media playlists before the multivariant that lists them.
import { codecsAttribute, type Codecs } from '../types.js';
import HLS from 'hls-parser';
import type { MasterPlaylist, Rendition, Variant } from 'hls-parser/types.js';

import { SwiftvrError } from '../errors.js';
import type { Resolution } from '../types.js';

const { MasterPlaylist: MasterPlaylistClass, Variant: VariantClass } = HLS.types;

/** The upscaled variant's EXT-X-STREAM-INF attributes. */
export interface RestoredVariant {
  /** URI of the restored media playlist, relative to the multivariant playlist. */
  readonly uri: string;
  /** Peak segment bit rate, bits/s ({@link measureBandwidth}). */
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  readonly resolution: Resolution;
  /** Its video codec and the audio codecs of the groups it lists ({@link restoredCodecs}). */
  readonly codecs: Codecs;
  readonly frameRate: number;
  /** VIDEO-RANGE: PQ or HLG for an HDR rendition (players offer it to HDR screens only); absent for SDR. */
  readonly videoRange?: 'PQ' | 'HLG';
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
  readonly videoRange?: 'PQ' | 'HLG';
}

export interface MultivariantOptions {
  readonly restored: RestoredVariant;
  /** The source multivariant playlist as the reader parsed it (SourcePlan.multivariant.playlist); not changed. */
  readonly source?: MasterPlaylist;
  /**
   * Output URI of each URI written in `source` (variants, I-frame variants, EXT-X-MEDIA,
   * SESSION-DATA): the source renditions are referenced, not copied. See {@link outputUriFor}.
   */
  readonly mapUri?: (uriAsWritten: string) => string;
  /** URI (as written) of the source variant the restored one was made from; its AUDIO,
   * SUBTITLES and CLOSED-CAPTIONS groups are copied. Default: the highest-BANDWIDTH variant. */
  readonly basedOn?: string;
  /** Without `source`: the source variant(s) to list beside the restored one. */
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
  if (opts.source !== undefined) {
    const mapUri = opts.mapUri;
    if (mapUri === undefined) throw new SwiftvrError('internal', 'mapUri is required with source');
    // A copy: URIs are mapped and the restored variant added in place.
    playlist = structuredClone(opts.source);
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
            ...(v.videoRange ? { videoRange: v.videoRange } : {}),
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
    codecs: codecsAttribute(r.codecs),
    frameRate: r.frameRate,
    ...(r.videoRange !== undefined ? { videoRange: r.videoRange } : {}),
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
  if (r.codecs.video.trim() === '') throw new SwiftvrError('internal', 'restored variant has no video codec');
}
