// The upscaled rendition's media playlist, for live streams (RFC 8216 §6.2.2) and VOD.
// The playlist text in the store is the only state: a writer parses the version it read,
// appends, trims the window and writes back with If-Match, so no sidecar can drift from it.
//
// §6.2.2 rules kept here:
//  - append only: segments are never changed or reordered; removal only from the start;
//  - a segment leaves only while the playlist stays >= `window` segments and its duration
//    stays >= 3 x target duration ("MUST NOT remove ... less than three times the target duration");
//  - EXT-X-MEDIA-SEQUENCE counts the segments removed; EXT-X-DISCONTINUITY-SEQUENCE counts the
//    removed segments that carried EXT-X-DISCONTINUITY;
//  - no EXT-X-PLAYLIST-TYPE while live; EXT-X-ENDLIST once the source ended.
// A new playlist is numbered as the source is (MEDIA-SEQUENCE = the first segment's source sn,
// DISCONTINUITY-SEQUENCE from the source), as src/hls renderLivePlaylist numbers it, so the
// restored variant lines up with the source variants it is listed next to.
//
// Why not src/hls/playlist-writer.ts renderLivePlaylist: it refuses non-consecutive sequence
// numbers ("live segments must be consecutive"), and a cloud stream must keep publishing after a
// segment went to the DLQ (the gap becomes an EXT-X-DISCONTINUITY here). It also windows by
// seconds rather than by a segment count, and has no read-back of its own output (the playlist
// text is this module's only state). See src/cloud/README.md.

import { badInput, SwiftvrError } from '../errors.js';

export interface RenditionEntry {
  /** URI relative to the playlist. */
  readonly uri: string;
  readonly duration: number;
  readonly discontinuity: boolean;
  /** ISO 8601 (EXT-X-PROGRAM-DATE-TIME), carried from the source segment. */
  readonly programDateTime?: string;
  /** Source media sequence number; not a tag of its own, it is read back from the URI seg_<sn>. */
  readonly sourceSn: number;
  /** fMP4: EXT-X-MAP URI of this segment's init section (written where it changes). */
  readonly map?: string;
}

export interface RenditionPlaylist {
  readonly version: number;
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly discontinuitySequence: number;
  readonly playlistType?: 'VOD';
  readonly independentSegments: boolean;
  readonly entries: readonly RenditionEntry[];
  readonly ended: boolean;
}

/** The source sequence number is the number in the output segment name: seg_<sn>.<ext>. */
const SN_IN_URI = /seg_(\d+)\.[a-z0-9]+$/;

export function renderPlaylist(p: RenditionPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, `#EXT-X-TARGETDURATION:${p.targetDuration}`];
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`);
  if (p.discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  if (p.playlistType !== undefined) lines.push(`#EXT-X-PLAYLIST-TYPE:${p.playlistType}`);
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  let map: string | undefined;
  for (const e of p.entries) {
    if (e.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (e.map !== undefined && e.map !== map) lines.push(`#EXT-X-MAP:URI="${e.map}"`);
    map = e.map;
    if (e.programDateTime !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${e.programDateTime}`);
    lines.push(`#EXTINF:${e.duration.toFixed(6)},`, e.uri);
  }
  if (p.ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** Parses a playlist written by renderPlaylist (the worker only ever reads back its own output). */
export function parsePlaylist(text: string, name: string): RenditionPlaylist {
  const bad = (rule: string): SwiftvrError => new SwiftvrError('internal', `rendition playlist ${name}: ${rule}`);
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== '#EXTM3U') throw bad('does not start with #EXTM3U');
  let version = 3;
  let targetDuration = 0;
  let mediaSequence = 0;
  let discontinuitySequence = 0;
  let map: string | undefined;
  let playlistType: 'VOD' | undefined;
  let independentSegments = false;
  let ended = false;
  const entries: RenditionEntry[] = [];
  let pending: { duration?: number; discontinuity: boolean; programDateTime?: string } = { discontinuity: false };
  const num = (v: string, tag: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw bad(`${tag} value ${v} is not a number`);
    return n;
  };
  for (const line of lines.slice(1)) {
    const [tag, value = ''] = line.startsWith('#') ? [line.slice(0, line.indexOf(':') < 0 ? undefined : line.indexOf(':')), line.slice(line.indexOf(':') + 1)] : [undefined, line];
    switch (tag) {
      case '#EXT-X-VERSION':
        version = num(value, tag);
        break;
      case '#EXT-X-TARGETDURATION':
        targetDuration = num(value, tag);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        mediaSequence = num(value, tag);
        break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE':
        discontinuitySequence = num(value, tag);
        break;
      case '#EXT-X-PLAYLIST-TYPE':
        playlistType = 'VOD';
        break;
      case '#EXT-X-INDEPENDENT-SEGMENTS':
        independentSegments = true;
        break;
      case '#EXT-X-MAP':
        map = /URI="([^"]*)"/.exec(value)?.[1];
        break;
      case '#EXT-X-DISCONTINUITY':
        pending.discontinuity = true;
        break;
      case '#EXT-X-PROGRAM-DATE-TIME':
        pending.programDateTime = value;
        break;
      case '#EXTINF':
        pending.duration = num(value.split(',')[0] ?? '', tag);
        break;
      case '#EXT-X-ENDLIST':
        ended = true;
        break;
      case undefined: {
        if (pending.duration === undefined) throw bad(`URI ${value} has no #EXTINF before it`);
        const sn = SN_IN_URI.exec(value)?.[1];
        if (sn === undefined) throw bad(`URI ${value} is not a restored segment name seg_<sn>.<ext>`);
        entries.push({
          uri: value,
          duration: pending.duration,
          discontinuity: pending.discontinuity,
          sourceSn: Number(sn),
          ...(map !== undefined ? { map } : {}),
          ...(pending.programDateTime !== undefined ? { programDateTime: pending.programDateTime } : {}),
        });
        pending = { discontinuity: false };
        break;
      }
      default:
        throw bad(`unexpected tag ${tag}`);
    }
  }
  return {
    version,
    targetDuration,
    mediaSequence,
    discontinuitySequence,
    ...(playlistType !== undefined ? { playlistType } : {}),
    independentSegments,
    entries,
    ended,
  };
}

export interface LiveAppend {
  readonly entry: RenditionEntry;
  /** Source discontinuity sequence number of the entry; numbers a playlist that starts with it. */
  readonly discontinuitySequence: number;
  /** The source ended with this segment: add EXT-X-ENDLIST. */
  readonly last: boolean;
}

export interface LivePlaylistOptions {
  readonly targetDuration: number;
  /** Segments kept in the sliding window; at least 6 (a player needs room to start 3 target durations back). */
  readonly window: number;
  readonly version: number;
}

/**
 * Appends one segment to a live playlist (or starts one). Returns undefined when the segment
 * is already listed or older than the newest listed one: append only, duplicates harmless.
 */
export function appendLive(current: RenditionPlaylist | undefined, add: LiveAppend, o: LivePlaylistOptions): RenditionPlaylist | undefined {
  if (!Number.isInteger(o.window) || o.window < 6) {
    throw new SwiftvrError('usage', `live window is ${o.window} segments; RFC 8216 §6.2.2 practice and this tool require at least 6`);
  }
  const base: RenditionPlaylist = current ?? {
    version: o.version,
    targetDuration: o.targetDuration,
    // Numbered as the source: a follow that starts mid-stream keeps the source's numbers.
    mediaSequence: add.entry.sourceSn,
    discontinuitySequence: Math.max(0, add.discontinuitySequence - (add.entry.discontinuity ? 1 : 0)),
    independentSegments: true,
    entries: [],
    ended: false,
  };
  const newest = base.entries.at(-1);
  if (base.ended || (newest !== undefined && add.entry.sourceSn <= newest.sourceSn)) {
    // Already listed (a duplicate) or a late straggler: an append-only playlist never goes back.
    if (add.last && !base.ended && newest?.sourceSn === add.entry.sourceSn) return { ...base, ended: true };
    return undefined;
  }
  if (Math.round(add.entry.duration) > base.targetDuration) {
    throw badInput(
      `segment sn=${add.entry.sourceSn} lasts ${add.entry.duration} s, which rounds above the target duration ${base.targetDuration} s`,
      { sn: add.entry.sourceSn },
    );
  }
  // A gap in source numbers (a segment lost to the DLQ, or a follower that started late) is a
  // discontinuity in the output: timestamps jump.
  const gap = newest !== undefined && add.entry.sourceSn !== newest.sourceSn + 1;
  const entries = [...base.entries, { ...add.entry, discontinuity: add.entry.discontinuity || gap }];
  let mediaSequence = base.mediaSequence;
  let discontinuitySequence = base.discontinuitySequence;
  const total = (es: readonly RenditionEntry[]): number => es.reduce((s, e) => s + e.duration, 0);
  while (entries.length > o.window && total(entries.slice(1)) >= 3 * base.targetDuration) {
    const removed = entries.shift()!;
    mediaSequence++;
    if (removed.discontinuity) discontinuitySequence++;
  }
  // The first entry's discontinuity tag is meaningless after trimming but harmless; keep it
  // append-only (never edit an entry in place).
  return { ...base, entries, mediaSequence, discontinuitySequence, ended: add.last };
}
