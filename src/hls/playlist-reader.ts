// Reads an HLS input into a SourcePlan: the rendition to restore, every segment resolved and
// checked under the job's URI policy, plus what the output multivariant playlist must keep.
import type { MasterPlaylist, MediaPlaylist, Playlist, Variant } from 'hls-parser/types.js';

import { badInput, isSwiftvrError } from '../errors.js';
import type {
  ByteRange,
  ContainerKind,
  InitSectionRef,
  MediaRendition,
  ResourceLocation,
  SegmentRef,
  SourcePlan,
  VariantInfo,
} from '../types.js';
import { parseStrict } from './hls-parse.js';
import type { ParsedPlaylist } from './hls-parse.js';
import { sourceAccess, type Loader, type SourceAccess } from './resource-loader.js';
import { checkRealPath, describe, locationFromInput, policyForInput, resolveUri } from './uri-policy.js';
import type { UriPolicy } from './uri-policy.js';

export interface ReadOptions {
  /**
   * Which variant of a multivariant input to restore: a 0-based index in playlist order, the
   * variant's URI as written, or its resolution `WxH`. Default: the highest BANDWIDTH.
   */
  readonly variant?: number | string;
  /** Hosts (besides the input's own) whose http(s) URIs the playlists may name. */
  readonly allowedHosts?: readonly string[];
  /** Folder local URIs must stay inside; default: the input playlist's folder. */
  readonly root?: string;
  /** Loads s3:// locations (the cloud binds one to its object store). */
  readonly s3?: Loader;
  readonly signal?: AbortSignal;
}

/**
 * Reads `input` (a local path, `file:`, `http(s):` or `s3:` URL of a multivariant or media
 * playlist) into the plan of what to restore. Throws badInput naming the playlist, the URI
 * and the rule for a missing file, something that is not a playlist, a malformed one, one with
 * no segments, non-positive durations, encrypted or gap segments, and URIs outside the policy.
 */
export async function readSourcePlan(input: string, opts: ReadOptions = {}): Promise<SourcePlan> {
  const location = locationFromInput(input);
  const source = sourceAccess(policyForInput(location, { allowedHosts: opts.allowedHosts, root: opts.root }), {
    ...(opts.s3 === undefined ? {} : { s3: opts.s3 }),
  });
  const policy = source.policy;
  const text = await source.loadText(location, { signal: opts.signal });
  const playlist = parsePlaylistText(text, location);

  if (!playlist.isMasterPlaylist) {
    const media = await parseMediaPlaylistText(text, location, source, { signal: opts.signal });
    return { media, source };
  }

  const variants = (playlist as MasterPlaylist).variants.filter((v) => !v.isIFrameOnly).map((v) => toVariantInfo(v, location, policy));
  if (variants.length === 0) {
    throw badInput(`multivariant playlist ${describe(location)} lists no variant streams (EXT-X-STREAM-INF)`, {
      uri: describe(location),
    });
  }
  const chosen = chooseVariant(variants, opts.variant, location);
  const mediaText = await source.loadText(chosen.location, { signal: opts.signal });
  const mediaPlaylist = parsePlaylistText(mediaText, chosen.location);
  if (mediaPlaylist.isMasterPlaylist) {
    throw badInput(`variant ${chosen.uri} of ${describe(location)} is itself a multivariant playlist; a variant must be a media playlist`, {
      uri: chosen.uri,
    });
  }
  const media = await parseMediaPlaylistText(mediaText, chosen.location, source, { signal: opts.signal, uri: chosen.uri });
  return { multivariant: { uri: input, location, variants, playlist: playlist as MasterPlaylist }, chosen, media, source };
}

export interface ParseMediaOptions {
  /** The playlist's URI as its referrer wrote it (default: the base location). */
  readonly uri?: string;
  readonly signal?: AbortSignal;
  /**
   * Check that local segment and init files exist and that their real paths (symlinks
   * followed) stay inside the policy root. @default true
   */
  readonly checkFiles?: boolean;
}

/**
 * Parses and validates a media playlist's text fetched from `base` (also for the cloud side,
 * with bytes it read from S3): every segment and EXT-X-MAP URI is resolved under the source's policy, the
 * container is detected from EXT-X-MAP, the segment URIs' extensions or, failing both, the first
 * segment's bytes.
 */
export async function parseMediaPlaylistText(
  text: string,
  base: ResourceLocation,
  source: SourceAccess,
  opts: ParseMediaOptions = {},
): Promise<MediaRendition> {
  const name = describe(base);
  const policy = source.policy;
  const parsed = parseChecked(text, base);
  const playlist = parsed.playlist;
  if (playlist.isMasterPlaylist) {
    throw badInput(`${name} is a multivariant playlist where a media playlist was expected`, { uri: name });
  }
  const media = playlist as MediaPlaylist;
  if (media.segments.length === 0) {
    throw badInput(`media playlist ${name} has no media segments (RFC 8216 §4.3.2.1: each needs an EXTINF and a URI)`, {
      uri: name,
    });
  }

  const segments: SegmentRef[] = media.segments.map((s) => {
    const ctx = { uri: s.uri, sn: s.mediaSequenceNumber };
    if (!Number.isFinite(s.duration) || s.duration <= 0) {
      throw badInput(
        `segment ${s.uri} (sn ${s.mediaSequenceNumber}) of ${name} has EXTINF duration ${s.duration}: durations must be positive`,
        ctx,
      );
    }
    if (s.key && s.key.method !== 'NONE') {
      throw badInput(`segment ${s.uri} of ${name} is encrypted (EXT-X-KEY METHOD=${s.key.method}), which is not supported`, ctx);
    }
    if (s.gap) throw badInput(`segment ${s.uri} of ${name} is marked EXT-X-GAP, which is not supported`, ctx);
    const map: InitSectionRef | undefined = s.map
      ? {
          uri: s.map.uri,
          location: resolveUri(s.map.uri, base, policy),
          ...(s.map.byterange ? { byteRange: toRange(s.map.byterange) } : {}),
        }
      : undefined;
    return {
      sn: s.mediaSequenceNumber,
      uri: s.uri,
      location: resolveUri(s.uri, base, policy),
      ...(s.byterange ? { byteRange: toRange(s.byterange) } : {}),
      duration: s.duration,
      discontinuity: s.discontinuity === true,
      discontinuitySequence: s.discontinuitySequence,
      ...(s.programDateTime ? { programDateTime: s.programDateTime } : {}),
      ...(map ? { map } : {}),
      ...(s.title ? { title: s.title } : {}),
    };
  });

  if (opts.checkFiles ?? true) await checkLocalFiles(segments, policy);
  const container = await detectContainer(segments, name, source, opts.signal);
  return {
    isMultivariant: false,
    uri: opts.uri ?? name,
    location: base,
    version: parsed.declaredVersion,
    targetDuration: media.targetDuration,
    mediaSequence: media.mediaSequenceBase ?? 0,
    discontinuitySequence: media.discontinuitySequenceBase ?? 0,
    ...(media.playlistType ? { playlistType: media.playlistType } : {}),
    endList: media.endlist,
    independentSegments: media.independentSegments,
    container,
    segments,
  };
}

/**
 * Parses playlist text with hls-parser in strict mode (see parseStrict: a too low EXT-X-VERSION
 * is tolerated), turning its errors into badInput naming the playlist.
 */
export function parsePlaylistText(text: string, base: ResourceLocation): Playlist {
  return parseChecked(text, base).playlist;
}

function parseChecked(text: string, base: ResourceLocation): ParsedPlaylist {
  const name = describe(base);
  const body = text.replace(/^\uFEFF/, '');
  if (!body.startsWith('#EXTM3U')) {
    throw badInput(`${name} is not an HLS playlist: its first line must be #EXTM3U (RFC 8216 §4.3.1.1)`, { uri: name });
  }
  try {
    return parseStrict(body);
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    const why = raw.startsWith('Param Check')
      ? `a tag lacks a required attribute or has an invalid one (hls-parser: ${raw})`
      : raw.replace(/^Invalid Playlist : /, '');
    throw badInput(`playlist ${name} is malformed: ${why}`, { uri: name }, e);
  }
}

function toVariantInfo(v: Variant, base: ResourceLocation, policy: UriPolicy): VariantInfo {
  if (!Number.isFinite(v.bandwidth) || v.bandwidth <= 0) {
    throw badInput(`variant ${v.uri} of ${describe(base)} has BANDWIDTH ${v.bandwidth}: it must be a positive integer`, {
      uri: v.uri,
    });
  }
  return {
    uri: v.uri,
    location: resolveUri(v.uri, base, policy),
    bandwidth: v.bandwidth,
    ...(v.averageBandwidth ? { averageBandwidth: v.averageBandwidth } : {}),
    ...(v.resolution ? { resolution: { width: v.resolution.width, height: v.resolution.height } } : {}),
    ...(v.codecs ? { codecs: v.codecs } : {}),
    ...(v.frameRate ? { frameRate: v.frameRate } : {}),
    ...(v.audio[0] ? { audioGroup: v.audio[0].groupId } : {}),
    ...(v.subtitles[0] ? { subtitlesGroup: v.subtitles[0].groupId } : {}),
    ...(v.closedCaptions[0] ? { closedCaptions: v.closedCaptions[0].groupId } : {}),
  };
}

/** Highest BANDWIDTH, then largest picture, then first listed; or the one `want` names. */
function chooseVariant(variants: readonly VariantInfo[], want: number | string | undefined, base: ResourceLocation): VariantInfo {
  const listing = variants.map((v, i) => `${i}: ${v.uri}${v.resolution ? ` ${v.resolution.width}x${v.resolution.height}` : ''}`).join('; ');
  if (typeof want === 'number') {
    const v = Number.isInteger(want) ? variants[want] : undefined;
    if (v === undefined) {
      throw badInput(`variant ${want} does not exist in ${describe(base)}: give 0..${variants.length - 1} (${listing})`);
    }
    return v;
  }
  if (typeof want === 'string') {
    const byUri = variants.find((v) => v.uri === want);
    if (byUri) return byUri;
    const m = /^(\d+)x(\d+)$/.exec(want);
    const byRes = m ? variants.filter((v) => v.resolution?.width === Number(m[1]) && v.resolution.height === Number(m[2])) : [];
    const best = byRes.sort((a, b) => b.bandwidth - a.bandwidth)[0];
    if (best) return best;
    throw badInput(`variant "${want}" matches no variant URI or resolution in ${describe(base)} (${listing})`);
  }
  const area = (v: VariantInfo): number => (v.resolution ? v.resolution.width * v.resolution.height : 0);
  return variants.reduce((best, v) =>
    v.bandwidth > best.bandwidth || (v.bandwidth === best.bandwidth && area(v) > area(best)) ? v : best,
  );
}

async function checkLocalFiles(segments: readonly SegmentRef[], policy: UriPolicy): Promise<void> {
  const seen = new Set<string>();
  for (const ref of segments.flatMap((s) => (s.map ? [s.map, s] : [s]))) {
    if (ref.location.kind !== 'file' || seen.has(ref.location.path)) continue;
    seen.add(ref.location.path);
    await checkRealPath(ref.location, policy, ref.uri);
  }
}

const TS_EXT = new Set(['ts', 'tsv', 'tsa', 'm2ts', 'mts']);
const FMP4_EXT = new Set(['m4s', 'mp4', 'm4v', 'm4a', 'cmfv', 'cmfa', 'fmp4', 'mov']);

async function detectContainer(
  segments: readonly SegmentRef[],
  name: string,
  source: SourceAccess,
  signal: AbortSignal | undefined,
): Promise<ContainerKind> {
  const kinds = new Set<ContainerKind | 'unknown'>();
  for (const s of segments) {
    const ext = extensionOf(s.uri);
    kinds.add(TS_EXT.has(ext) ? 'ts' : FMP4_EXT.has(ext) ? 'fmp4' : s.map ? 'fmp4' : 'unknown');
  }
  const hasMap = segments.some((s) => s.map !== undefined);
  if (kinds.has('ts') && kinds.has('fmp4')) {
    throw badInput(`media playlist ${name} mixes MPEG-TS and fMP4 segments; a rendition must use one container`, { uri: name });
  }
  if (kinds.has('ts') && hasMap) {
    throw badInput(`media playlist ${name} has MPEG-TS segments with EXT-X-MAP, which is not supported`, { uri: name });
  }
  if (!kinds.has('unknown')) return kinds.has('ts') ? 'ts' : 'fmp4';
  if (hasMap) return 'fmp4';

  // No tag and no telling extension: look at the first segment's first bytes.
  const first = segments[0];
  if (first === undefined) throw badInput(`media playlist ${name} has no media segments`, { uri: name });
  const probeLength = Math.min(first.byteRange?.length ?? 1024, 1024);
  let head: Uint8Array;
  try {
    head = await source.load(first.location, {
      signal,
      byteRange: { offset: first.byteRange?.offset ?? 0, length: probeLength },
    });
  } catch (e) {
    if (isSwiftvrError(e) && e.code === 'range-past-end') {
      head = await source.load(first.location, { signal, ...(first.byteRange ? { byteRange: first.byteRange } : {}) });
    } else {
      throw e;
    }
  }
  const sniffed = sniffContainer(head);
  if (sniffed === undefined) {
    throw badInput(`segment ${first.uri} of ${name} is neither MPEG-TS nor fragmented MP4 (no 0x47 sync bytes, no ISO BMFF box)`, {
      uri: first.uri,
      sn: first.sn,
    });
  }
  return sniffed;
}

/** MPEG-TS: sync byte 0x47 every 188 bytes; fMP4: an ISO BMFF box type at bytes 4..8. */
export function sniffContainer(head: Uint8Array): ContainerKind | undefined {
  if (head[0] === 0x47 && (head.length < 189 || head[188] === 0x47)) return 'ts';
  if (head.length >= 8) {
    const type = String.fromCharCode(head[4] ?? 0, head[5] ?? 0, head[6] ?? 0, head[7] ?? 0);
    if (['ftyp', 'styp', 'moof', 'sidx', 'moov', 'emsg', 'prft'].includes(type)) return 'fmp4';
  }
  return undefined;
}

function extensionOf(uri: string): string {
  const pathPart = uri.split(/[?#]/)[0] ?? '';
  const file = pathPart.slice(pathPart.lastIndexOf('/') + 1);
  const dot = file.lastIndexOf('.');
  return dot < 0 ? '' : file.slice(dot + 1).toLowerCase();
}

function toRange(r: { length: number; offset: number }): ByteRange {
  return { offset: r.offset, length: r.length };
}
