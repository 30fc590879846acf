// The live window of a restored rendition: appending a segment (or an EXT-X-GAP entry) to the
// stored playlist and trimming its start, by the live rules in rendition-playlist.ts; plain-upscale
// segments are marked with EXT-X-DATERANGE on their own wall-clock time line.
import { badInput, SwiftvrError } from '../errors.js';
import { markOf, type RenditionEntry, type RenditionPlaylist } from './rendition-playlist.js';

export interface LiveAppend {
  readonly entry: RenditionEntry;
  /** Source discontinuity sequence number of the entry; numbers a playlist that starts with it. */
  readonly discontinuitySequence: number;
  /** The source ended with this segment: add EXT-X-ENDLIST. */
  readonly last: boolean;
  /**
   * When the source segment was first seen. A plain-upscale entry without a source
   * PROGRAM-DATE-TIME is dated from it, never earlier than the listed segments before it end,
   * so each mark has its own, increasing START-DATE.
   */
  readonly firstSeenAt?: Date;
}

export interface LiveWindow {
  readonly targetDuration: number;
  /** Segments kept in the sliding window; at least 6 (a player needs room to start 3 target durations back). */
  readonly window: number;
}

/**
 * Appends one segment to a live rendition (or starts one). Returns undefined when the segment is
 * already listed or older than the newest listed one: append only, duplicates harmless.
 */
export function appendLive(current: RenditionPlaylist | undefined, add: LiveAppend, o: LiveWindow): RenditionPlaylist | undefined {
  if (!Number.isInteger(o.window) || o.window < 6) {
    throw new SwiftvrError('usage', `live window is ${o.window} segments; RFC 8216 §6.2.2 practice and this tool require at least 6`);
  }
  const base: RenditionPlaylist = current ?? {
    targetDuration: o.targetDuration,
    // Numbered as the source: a follow that starts mid-stream keeps the source's numbers.
    mediaSequence: add.entry.sourceSn,
    discontinuitySequence: Math.max(0, add.discontinuitySequence - (add.entry.discontinuity ? 1 : 0)),
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
  const gap = newest !== undefined && add.entry.sourceSn !== newest.sourceSn + 1;
  const dated =
    add.entry.fallback === true && add.entry.programDateTime === undefined
      ? { programDateTime: new Date(Math.max(add.firstSeenAt?.getTime() ?? Date.now(), listedEnd(base.entries) ?? 0)).toISOString() }
      : {};
  const appended: RenditionEntry = { ...add.entry, ...dated, discontinuity: add.entry.discontinuity || gap };
  const marked: RenditionEntry =
    appended.fallback === true && appended.programDateTime !== undefined
      ? { ...appended, mark: newMark(base.entries, appended.programDateTime, appended.duration) }
      : appended;
  const entries = [...base.entries, marked];
  let mediaSequence = base.mediaSequence;
  let discontinuitySequence = base.discontinuitySequence;
  const total = (es: readonly RenditionEntry[]): number => es.reduce((s, e) => s + e.duration, 0);
  while (entries.length > o.window && total(entries.slice(1)) >= 3 * base.targetDuration) {
    const removed = entries.shift()!;
    mediaSequence++;
    if (removed.discontinuity) discontinuitySequence++;
  }
  return { ...base, entries, mediaSequence, discontinuitySequence, ended: add.last };
}

/**
 * The mark of a fallback entry appended after `entries`: from its PROGRAM-DATE-TIME or the end of
 * the previous mark, whichever is later, to the segment's end (at least 1 ms).
 */
function newMark(entries: readonly RenditionEntry[], programDateTime: string, duration: number): { start: string; duration: number } {
  let prevEnd = -Infinity;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.fallback === true && e.programDateTime !== undefined) {
      const m = markOf(e);
      prevEnd = Date.parse(m.start) + Math.round(m.duration * 1000);
      break;
    }
  }
  const pdt = Date.parse(programDateTime);
  const start = Math.max(pdt, prevEnd);
  const end = pdt + Math.round(duration * 1000);
  return { start: new Date(start).toISOString(), duration: Math.max(1, end - start) / 1000 };
}

/** The wall-clock end of the listed entries, from the newest one with a PROGRAM-DATE-TIME. */
function listedEnd(entries: readonly RenditionEntry[]): number | undefined {
  let seconds = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    seconds += e.duration;
    if (e.programDateTime !== undefined) return Date.parse(e.programDateTime) + seconds * 1000;
  }
  return undefined;
}
