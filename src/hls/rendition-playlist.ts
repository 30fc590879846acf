// The one model of a restored rendition's media playlist, for the local pipeline (VOD) and the
// cloud (VOD, and live windows that survive gaps), rendered and read back with hls-parser.
//
// Numbering follows the source: MEDIA-SEQUENCE is the first listed segment's source sequence
// number and DISCONTINUITY-SEQUENCE the source's, so the restored variant lines up with the source
// variants listed next to it. Live rules (RFC 8216 §6.2.2), kept by appendLive:
//  - append only: segments are never changed or reordered; removal only from the start;
//  - a segment leaves only while the playlist stays >= `window` segments and its duration stays
//    >= 3 x target duration ("MUST NOT remove ... less than three times the target duration");
//  - EXT-X-MEDIA-SEQUENCE counts the segments removed; EXT-X-DISCONTINUITY-SEQUENCE counts the
//    removed segments that carried EXT-X-DISCONTINUITY;
//  - a gap in source numbers (a segment lost to the dead-letter queue, a follow that started late)
//    is an EXT-X-DISCONTINUITY: timestamps jump there;
//  - no EXT-X-PLAYLIST-TYPE while live; EXT-X-ENDLIST once the source ended.
// In the cloud the playlist text in the store is the only state: a writer parses what it read,
// appends, trims and writes back with If-Match.
import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';

import { badInput, SwiftvrError } from '../errors.js';
import type { ByteRange, ContainerKind, SegmentRef } from '../types.js';
import { parseStrict } from './hls-parse.js';

const { MediaPlaylist: MediaPlaylistClass, Segment, MediaInitializationSection, DateRange } = HLS.types;

export interface RenditionEntry {
  /** URI relative to the playlist; restored segments are named seg_<sn>.<ext> after their source. */
  readonly uri: string;
  readonly duration: number;
  readonly discontinuity: boolean;
  /** Source media sequence number; read back from the URI. */
  readonly sourceSn: number;
  /** ISO 8601 (EXT-X-PROGRAM-DATE-TIME), carried from the source segment. */
  readonly programDateTime?: string;
  /** fMP4: EXT-X-MAP URI of this segment's init section (written where it changes). */
  readonly map?: string;
  readonly byteRange?: ByteRange;
  /**
   * Published as a plain upscale instead of restored. Marked in the playlist by an
   * EXT-X-DATERANGE of class FALLBACK_CLASS over the segment (players ignore it), which needs the
   * segment's PROGRAM-DATE-TIME (RFC 8216 §4.3.2.7).
   */
  readonly fallback?: boolean;
  /**
   * The fallback mark's time range (ISO 8601 start, seconds). Fixed when the entry is appended:
   * it starts at the segment's PROGRAM-DATE-TIME or where the previous mark ends, whichever is
   * later, so marks of one CLASS never overlap (§4.3.2.7.1) even when wall-clock date-times
   * are a few ms short of the segment durations; it is never changed afterwards (an ID's
   * attributes must not change). Absent: the segment's PROGRAM-DATE-TIME and duration.
   */
  readonly mark?: { readonly start: string; readonly duration: number };
  /**
   * The source segment could not be restored or upscaled (VOD: unrecoverable; live: corrupt,
   * missing or gone from the source window): listed with EXT-X-GAP (players skip it; version 8).
   */
  readonly gap?: boolean;
}

/** EXT-X-DATERANGE CLASS that marks a segment published as a plain upscale. */
export const FALLBACK_CLASS = 'com.swiftvr.plain-upscale';

export interface RenditionPlaylist {
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  readonly playlistType?: 'VOD';
  readonly entries: readonly RenditionEntry[];
  readonly ended: boolean;
}

/** The source sequence number is the number in the output segment name: seg_<sn>.<ext>. */
const SN_IN_URI = /seg_(\d+)\.[a-z0-9]+$/;

/** One restored segment: its source's sequence number, its URI and (fMP4) its init section's URI. */
export interface ProducedSegment {
  readonly sn: number;
  readonly uri: string;
  readonly initUri?: string;
}

/**
 * The entries of the restored rendition of `source`: exactly one produced segment per source
 * segment (same sequence number), with the source's durations, discontinuities and
 * PROGRAM-DATE-TIME; an init section for every fMP4 segment and none for MPEG-TS.
 */
export function restoredEntries(
  source: readonly SegmentRef[],
  produced: readonly ProducedSegment[],
  container: ContainerKind,
): RenditionEntry[] {
  const bySn = new Map(produced.map((p) => [p.sn, p]));
  if (bySn.size !== produced.length) throw new SwiftvrError('internal', 'produced segments repeat a sequence number');
  const entries = source.map((ref): RenditionEntry => {
    const out = bySn.get(ref.sn);
    if (out === undefined) {
      throw new SwiftvrError('internal', `no output segment for source segment sn ${ref.sn} (${ref.uri})`, {
        context: { sn: ref.sn, uri: ref.uri },
      });
    }
    bySn.delete(ref.sn);
    if (container === 'fmp4' && out.initUri === undefined)
      throw new SwiftvrError('internal', `fMP4 output segment sn ${ref.sn} has no init section URI`);
    if (container === 'ts' && out.initUri !== undefined)
      throw new SwiftvrError('internal', `MPEG-TS output segment sn ${ref.sn} must not have an init section`);
    return {
      uri: out.uri,
      duration: ref.duration,
      discontinuity: ref.discontinuity,
      sourceSn: ref.sn,
      ...(ref.programDateTime ? { programDateTime: ref.programDateTime.toISOString() } : {}),
      ...(out.initUri !== undefined ? { map: out.initUri } : {}),
    };
  });
  const extra = [...bySn.keys()];
  if (extra.length > 0) throw new SwiftvrError('internal', `output segments sn ${extra.join(', ')} have no source segment`);
  return entries;
}

/** The whole rendition of a finished (VOD) stream, numbered as its source. */
export function vodRendition(
  entries: readonly RenditionEntry[],
  targetDuration: number,
  firstDiscontinuitySequence: number,
): RenditionPlaylist {
  const first = entries[0];
  if (first === undefined) throw new SwiftvrError('internal', 'a rendition needs at least one segment');
  return {
    targetDuration,
    mediaSequence: first.sourceSn,
    discontinuitySequence: Math.max(0, firstDiscontinuitySequence - (first.discontinuity ? 1 : 0)),
    playlistType: 'VOD',
    entries,
    ended: true,
  };
}

/**
 * Renders with hls-parser: EXTINF in milliseconds, EXT-X-VERSION the lowest the features need
 * (3 for decimal EXTINF, 4 for byte ranges, 6 for EXT-X-MAP), INDEPENDENT-SEGMENTS (every
 * restored segment starts with an IDR). Checks each EXTINF against TARGETDURATION (§4.3.3.1).
 */
export function renderRendition(p: RenditionPlaylist): string {
  if (p.entries.length === 0) throw new SwiftvrError('internal', 'a rendition needs at least one segment');
  checkMarks(p.entries);
  let version = 3;
  let discontinuitySequence = p.discontinuitySequence;
  const segments = p.entries.map((e, i) => {
    const duration = Math.round(e.duration * 1000) / 1000;
    if (!(duration > 0)) throw new SwiftvrError('internal', `segment sn ${e.sourceSn} has duration ${e.duration}: it must be positive`);
    if (Math.round(duration) > p.targetDuration) {
      throw badInput(`segment sn=${e.sourceSn} lasts ${e.duration} s, which rounds above the target duration ${p.targetDuration} s`, {
        sn: e.sourceSn,
      });
    }
    if (e.fallback === true && e.programDateTime === undefined) {
      throw new SwiftvrError('internal', `plain-upscale segment sn ${e.sourceSn} has no PROGRAM-DATE-TIME to mark it with EXT-X-DATERANGE`);
    }
    if (e.map !== undefined) version = Math.max(version, 6); // EXT-X-MAP without I-FRAMES-ONLY
    if (e.byteRange !== undefined) version = Math.max(version, 4);
    if (e.gap === true) version = Math.max(version, 8);
    if (e.discontinuity) discontinuitySequence++;
    return new Segment({
      uri: e.uri,
      duration,
      mediaSequenceNumber: p.mediaSequence + i,
      discontinuitySequence,
      discontinuity: e.discontinuity,
      ...(e.byteRange ? { byterange: { offset: e.byteRange.offset, length: e.byteRange.length } } : {}),
      ...(e.map !== undefined ? { map: new MediaInitializationSection({ uri: e.map }) } : {}),
      ...(e.programDateTime !== undefined ? { programDateTime: new Date(e.programDateTime) } : {}),
      ...(e.fallback === true
        ? {
            dateRange: new DateRange({
              id: `plain-upscale-${e.sourceSn}`,
              classId: FALLBACK_CLASS,
              start: new Date(markOf(e).start),
              duration: Math.round(markOf(e).duration * 1000) / 1000,
              attributes: {},
            }),
          }
        : {}),
    });
  });
  // hls-parser's stringify leaves out a 0 target duration (it tests the value for truth), so a
  // 0 is written as 1 and the line set back: RFC 8216 §4.3.3.1 allows 0 when every EXTINF
  // rounds to 0, and the output keeps the source's value.
  const zeroTarget = p.targetDuration === 0;
  const text = HLS.stringify(
    new MediaPlaylistClass({
      version,
      independentSegments: true,
      targetDuration: zeroTarget ? 1 : p.targetDuration,
      mediaSequenceBase: p.mediaSequence,
      discontinuitySequenceBase: p.discontinuitySequence,
      ...(p.playlistType ? { playlistType: p.playlistType } : {}),
      endlist: p.ended,
      segments,
    }),
  );
  // hls-parser refuses a second EXT-X-GAP anywhere in a playlist ("Redundant item"), though the tag
  // applies to one segment each: gap segments are rendered without it and the tag is written
  // before their URI lines (segment URIs are unique: seg_<sn>).
  const gaps = new Set(p.entries.filter((e) => e.gap === true).map((e) => e.uri));
  const lines = text.split('\n').flatMap((line) => (gaps.has(line) ? ['#EXT-X-GAP', line] : [line]));
  if (gaps.size > 0 && lines.filter((l) => l === '#EXT-X-GAP').length !== gaps.size) {
    throw new SwiftvrError('internal', 'rendition: a gap segment URI is not on a line of its own');
  }
  const out = lines.join('\n');
  return `${zeroTarget ? out.replace(/^#EXT-X-TARGETDURATION:1$/m, '#EXT-X-TARGETDURATION:0') : out}\n`;
}

/** Reads back a rendition written by renderRendition (the writers only ever read their own output). */
export function parseRendition(text: string, name: string): RenditionPlaylist {
  const bad = (rule: string): SwiftvrError => new SwiftvrError('internal', `rendition playlist ${name}: ${rule}`);
  let playlist: MediaPlaylist;
  try {
    const parsed = parseStrict(text).playlist;
    if (parsed.isMasterPlaylist) throw new Error('it is a multivariant playlist');
    playlist = parsed as MediaPlaylist;
  } catch (e) {
    throw bad(`cannot be read (${(e as Error).message})`);
  }
  const entries = playlist.segments.map((s): RenditionEntry => {
    const sn = SN_IN_URI.exec(s.uri)?.[1];
    if (sn === undefined) throw bad(`URI ${s.uri} is not a restored segment name seg_<sn>.<ext>`);
    return {
      uri: s.uri,
      duration: s.duration,
      discontinuity: s.discontinuity === true,
      sourceSn: Number(sn),
      ...(s.programDateTime ? { programDateTime: s.programDateTime.toISOString() } : {}),
      ...(s.map ? { map: s.map.uri } : {}),
      ...(s.byterange ? { byteRange: { offset: s.byterange.offset ?? 0, length: s.byterange.length } } : {}),
      ...(s.dateRange?.classId === FALLBACK_CLASS
        ? {
            fallback: true,
            ...(s.dateRange.start === undefined
              ? {}
              : { mark: { start: s.dateRange.start.toISOString(), duration: s.dateRange.duration ?? s.duration } }),
          }
        : {}),
      ...(s.gap === true ? { gap: true } : {}),
    };
  });
  return {
    targetDuration: playlist.targetDuration,
    mediaSequence: playlist.mediaSequenceBase ?? 0,
    discontinuitySequence: playlist.discontinuitySequenceBase ?? 0,
    ...(playlist.playlistType === 'VOD' ? { playlistType: 'VOD' as const } : {}),
    entries,
    ended: playlist.endlist,
  };
}

/** A fallback entry's mark: its own, or its PROGRAM-DATE-TIME and duration. */
export function markOf(e: RenditionEntry): { start: string; duration: number } {
  return e.mark ?? { start: e.programDateTime!, duration: e.duration };
}

/**
 * The invariant the playlist reader enforces on EXT-X-DATERANGE ("tags with the same CLASS should
 * not overlap"): each mark ends no later than the next one starts. Breaking it is a bug here, and
 * is refused before a player or `swiftvr status` could read the playlist.
 */
export function checkMarks(entries: readonly RenditionEntry[]): void {
  let end = -Infinity;
  let prev: number | undefined;
  for (const e of entries) {
    if (e.fallback !== true || e.programDateTime === undefined) continue;
    const m = markOf(e);
    const start = Date.parse(m.start);
    // Rendered in ms: compare as rendered.
    if (Math.round(start) < Math.round(end) || !(m.duration > 0)) {
      throw new SwiftvrError(
        'internal',
        `plain-upscale mark of segment sn ${e.sourceSn} starts at ${m.start}, before the mark of sn ${prev} ends`,
      );
    }
    end = start + Math.round(m.duration * 1000);
    prev = e.sourceSn;
  }
}
