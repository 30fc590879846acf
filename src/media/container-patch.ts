// fMP4 patches that keep a restored segment's audio and timeline identical to its source's: the
// audio bit rate fields (esds, btrt), the source's edit lists, and the audio sample durations.
import { boxesIn, childBoxes, findBox, findBoxes, makeBox, type Box } from './iso-bmff.js';

const STSD = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd'] as const;

/** Reads an MPEG-4 descriptor length (1-4 bytes, 7 bits each); returns [length, bytes used]. */
function descriptorLength(bytes: Uint8Array, at: number): [number, number] {
  let length = 0;
  for (let i = 0; i < 4; i++) {
    const b = bytes[at + i] ?? 0;
    length = (length << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) return [length, i + 1];
  }
  return [length, 4];
}

/** Offset of bufferSizeDB (3 bytes) + maxBitrate + avgBitrate (4 each) inside an esds box body. */
function esdsRateFields(bytes: Uint8Array, body: number): number | undefined {
  let q = body + 4; // version + flags
  if (bytes[q] !== 0x03) return undefined; // ES_Descriptor
  q += 1 + descriptorLength(bytes, q + 1)[1];
  const flags = bytes[q + 2] ?? 0;
  q += 3;
  if ((flags & 0x80) !== 0) q += 2;
  if ((flags & 0x40) !== 0) q += 1 + (bytes[q] ?? 0);
  if ((flags & 0x20) !== 0) q += 2;
  if (bytes[q] !== 0x04) return undefined; // DecoderConfigDescriptor
  q += 1 + descriptorLength(bytes, q + 1)[1];
  q += 2; // objectTypeIndication, streamType
  return q + 11 <= bytes.length ? q : undefined;
}

/**
 * Makes the bitrate fields of copied audio tracks (esds DecoderConfigDescriptor, btrt) in an
 * fMP4 init section equal to the source's (zero where the source has none). ffmpeg fills them
 * from each input file's measured bitrate, which differs per segment; without this the init
 * would change from segment to segment although the media does not need it to.
 */
export function alignAudioBitrates(init: Uint8Array, source: Uint8Array): Uint8Array {
  const out = Uint8Array.from(init);
  const patch = (ours: (number | undefined)[], theirs: (number | undefined)[], length: number): void => {
    for (const [k, at] of ours.entries()) {
      if (at === undefined) continue;
      const from = theirs[k];
      if (from === undefined) out.fill(0, at, at + length);
      else out.set(source.subarray(from, from + length), at);
    }
  };
  const esds = (bytes: Uint8Array): (number | undefined)[] =>
    findBoxes(bytes, [...STSD, 'mp4a', 'esds']).map((b) => esdsRateFields(bytes, b.body));
  const btrt = (bytes: Uint8Array): number[] =>
    ['mp4a', 'avc1', 'avc3']
      .flatMap((entry) => findBoxes(bytes, [...STSD, entry, 'btrt']))
      .filter((b) => b.body + 12 <= b.end)
      .map((b) => b.body);
  patch(esds(out), esds(source), 11);
  patch(btrt(out), btrt(source), 12);
  return out;
}

const child = (bytes: Uint8Array, parent: Box | undefined, type: string): Box | undefined =>
  parent === undefined ? undefined : childBoxes(bytes, parent).find((b) => b.type === type);

/** The timescale of an mvhd or mdhd box (version 0: 32-bit times before it, version 1: 64-bit). */
function timescaleOf(bytes: Uint8Array, box: Box | undefined): number | undefined {
  if (box === undefined) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(box.start + 12 + (bytes[box.start + 8] === 1 ? 16 : 8));
}

interface TrackFacts {
  readonly trak: Box;
  readonly handler: string;
  readonly timescale: number | undefined;
  readonly edts: Box | undefined;
}

function tracks(bytes: Uint8Array): { moov: Box; mvhdScale: number | undefined; traks: TrackFacts[] } | undefined {
  const moov = findBox(bytes, ['moov']);
  if (moov === undefined) return undefined;
  const traks = childBoxes(bytes, moov)
    .filter((b) => b.type === 'trak')
    .map((trak) => {
      const mdia = child(bytes, trak, 'mdia');
      const hdlr = child(bytes, mdia, 'hdlr');
      return {
        trak,
        handler: hdlr === undefined ? '' : String.fromCharCode(...bytes.subarray(hdlr.start + 16, hdlr.start + 20)),
        timescale: timescaleOf(bytes, child(bytes, mdia, 'mdhd')),
        edts: child(bytes, trak, 'edts'),
      };
    });
  return { moov, mvhdScale: timescaleOf(bytes, child(bytes, moov, 'mvhd')), traks };
}

/**
 * Gives each track of an fMP4 init section the edit list (edts) of the source's track with the
 * same handler (vide, soun), where movie and media timescales match. The encoder places frames
 * and copied audio on the source's raw fragment timeline, so the source's edit list maps both to
 * the same presentation times: players that apply edit lists and players that ignore them see
 * the output exactly where they see the source.
 */
export function copyEditLists(init: Uint8Array, source: Uint8Array): Uint8Array {
  const ours = tracks(init);
  const theirs = tracks(source);
  if (ours === undefined || theirs === undefined || ours.mvhdScale !== theirs.mvhdScale) return init;
  const used = new Set<TrackFacts>();
  const moovBody: Uint8Array[] = [];
  for (const box of childBoxes(init, ours.moov)) {
    const track = ours.traks.find((t) => t.trak.start === box.start);
    const match = track === undefined ? undefined : theirs.traks.find((t) => !used.has(t) && t.handler === track.handler);
    if (track === undefined || match === undefined) {
      moovBody.push(init.subarray(box.start, box.end));
      continue;
    }
    used.add(match);
    const parts: Uint8Array[] = [];
    for (const c of childBoxes(init, track.trak)) {
      if (c.type === 'edts') continue;
      parts.push(init.subarray(c.start, c.end));
      if (c.type === 'tkhd' && match.edts !== undefined && match.timescale === track.timescale) {
        parts.push(source.subarray(match.edts.start, match.edts.end));
      }
    }
    moovBody.push(makeBox('trak', parts));
  }
  const moov = makeBox('moov', moovBody);
  const out = new Uint8Array(init.length - (ours.moov.end - ours.moov.start) + moov.length);
  out.set(init.subarray(0, ours.moov.start), 0);
  out.set(moov, ours.moov.start);
  out.set(init.subarray(ours.moov.end), ours.moov.start + moov.length);
  return out;
}

const u32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
const u24 = (bytes: Uint8Array, at: number): number => (bytes[at]! << 16) + (bytes[at + 1]! << 8) + bytes[at + 2]!;

/** track_ID of a tkhd box. */
const tkhdTrackId = (bytes: Uint8Array, tkhd: Box): number => u32(bytes, tkhd.start + (bytes[tkhd.start + 8] === 1 ? 28 : 20));

/** IDs of the tracks with `handler` (soun, vide) in the moov of `bytes`, with their trex default sample duration. */
function tracksOf(bytes: Uint8Array, handler: string): { id: number; defaultDuration: number }[] {
  const t = tracks(bytes);
  if (t === undefined) return [];
  const trexes = childBoxes(bytes, child(bytes, t.moov, 'mvex') ?? { type: 'mvex', start: 0, end: 0, body: 0 }).filter(
    (b) => b.type === 'trex',
  );
  return t.traks
    .filter((k) => k.handler === handler)
    .map((k) => {
      const tkhd = child(bytes, k.trak, 'tkhd');
      const id = tkhd === undefined ? -1 : tkhdTrackId(bytes, tkhd);
      const trex = trexes.find((x) => u32(bytes, x.start + 12) === id);
      return { id, defaultDuration: trex === undefined ? 0 : u32(bytes, trex.start + 20) };
    });
}

/** Top-level moof boxes, stopping quietly at anything that does not parse as a box. */
const moofs = (bytes: Uint8Array): Box[] => boxesIn(bytes).filter((b) => b.type === 'moof');

interface TrunLayout {
  readonly flags: number;
  readonly count: number;
  /** Offset of the first sample record. */
  readonly records: number;
  readonly recordSize: number;
}

function trunLayout(bytes: Uint8Array, trun: Box): TrunLayout {
  const flags = u24(bytes, trun.start + 9);
  let records = trun.start + 16;
  if ((flags & 0x1) !== 0) records += 4; // data_offset
  if ((flags & 0x4) !== 0) records += 4; // first_sample_flags
  const recordSize = 4 * [0x100, 0x200, 0x400, 0x800].filter((f) => (flags & f) !== 0).length;
  return { flags, count: u32(bytes, trun.start + 12), records, recordSize };
}

/** tfhd of a traf: track ID, flags and the default sample duration it sets (or undefined). */
function tfhdFacts(bytes: Uint8Array, traf: Box): { id: number; flags: number; defaultDuration?: number } | undefined {
  const tfhd = child(bytes, traf, 'tfhd');
  if (tfhd === undefined) return undefined;
  const flags = u24(bytes, tfhd.start + 9);
  let p = tfhd.start + 16;
  if ((flags & 0x1) !== 0) p += 8;
  if ((flags & 0x2) !== 0) p += 4;
  return { id: u32(bytes, tfhd.start + 12), flags, ...((flags & 0x8) !== 0 ? { defaultDuration: u32(bytes, p) } : {}) };
}

/** Sample durations of one track across the given moofs, in order. */
function sampleDurations(bytes: Uint8Array, boxes: readonly Box[], trackId: number, trexDuration: number): number[] {
  const out: number[] = [];
  for (const moof of boxes) {
    for (const traf of childBoxes(bytes, moof).filter((b) => b.type === 'traf')) {
      const tfhd = tfhdFacts(bytes, traf);
      if (tfhd?.id !== trackId) continue;
      for (const trun of childBoxes(bytes, traf).filter((b) => b.type === 'trun')) {
        const l = trunLayout(bytes, trun);
        for (let k = 0; k < l.count; k++) {
          out.push((l.flags & 0x100) !== 0 ? u32(bytes, l.records + k * l.recordSize) : (tfhd.defaultDuration ?? trexDuration));
        }
      }
    }
  }
  return out;
}

/** A trun with explicit per-sample durations. */
function trunWithDurations(bytes: Uint8Array, trun: Box, durations: readonly number[]): Uint8Array {
  const l = trunLayout(bytes, trun);
  const had = (l.flags & 0x100) !== 0;
  const recordSize = had ? l.recordSize : l.recordSize + 4;
  const header = bytes.subarray(trun.start + 8, l.records);
  const out = new Uint8Array(8 + header.length + l.count * recordSize);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length);
  out.set([0x74, 0x72, 0x75, 0x6e], 4); // 'trun'
  out.set(header, 8);
  view.setUint32(8, (bytes[trun.start + 8]! << 24) | l.flags | 0x100); // version + flags
  for (let k = 0; k < l.count; k++) {
    const at = 8 + header.length + k * recordSize;
    view.setUint32(at, durations[k]!);
    const old = l.records + k * l.recordSize + (had ? 4 : 0);
    out.set(bytes.subarray(old, l.records + (k + 1) * l.recordSize), at + 4);
  }
  return out;
}

/**
 * Gives the copied audio samples of an fMP4 media segment the durations the source's trun gives
 * them (sound tracks matched in order, where the sample counts agree). ffmpeg reads every AAC
 * frame of a fragment as full length, so where the source shortens the last frame of a stream
 * the copy would run up to one frame longer. Video is left alone: its samples are re-encoded
 * and timed from the source's presentation times. Only done for moof-relative data offsets
 * (ffmpeg's default_base_moof).
 */
export function alignAudioDurations(media: Uint8Array, init: Uint8Array, source: Uint8Array): Uint8Array {
  const ourMoofs = moofs(media);
  const sourceMoofs = moofs(source);
  const wanted = new Map<number, number[]>();
  const ours = tracksOf(init, 'soun');
  const theirs = tracksOf(source, 'soun');
  if (ours.length !== theirs.length) return media;
  for (const [i, track] of ours.entries()) {
    const want = sampleDurations(source, sourceMoofs, theirs[i]!.id, theirs[i]!.defaultDuration);
    const have = sampleDurations(media, ourMoofs, track.id, track.defaultDuration);
    if (want.length === have.length && want.some((d, k) => d !== have[k])) wanted.set(track.id, want);
  }
  if (wanted.size === 0) return media;
  const used = new Map<number, number>();
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (const moof of ourMoofs) {
    parts.push(media.subarray(pos, moof.start));
    const moofBody: Uint8Array[] = [];
    for (const box of childBoxes(media, moof)) {
      const tfhd = box.type === 'traf' ? tfhdFacts(media, box) : undefined;
      if (tfhd !== undefined && (tfhd.flags & 0x1) !== 0) return media; // absolute base offsets: leave alone
      const durations = tfhd === undefined ? undefined : wanted.get(tfhd.id);
      if (tfhd === undefined || durations === undefined) {
        moofBody.push(media.subarray(box.start, box.end));
        continue;
      }
      const trafBody = childBoxes(media, box).map((c) => {
        if (c.type !== 'trun') return media.subarray(c.start, c.end);
        const from = used.get(tfhd.id) ?? 0;
        const count = trunLayout(media, c).count;
        used.set(tfhd.id, from + count);
        return trunWithDurations(media, c, durations.slice(from, from + count));
      });
      moofBody.push(makeBox('traf', trafBody));
    }
    const rebuilt = makeBox('moof', moofBody);
    // Data offsets count from the moof start; the samples moved by as much as the moof grew.
    const growth = rebuilt.length - (moof.end - moof.start);
    const view = new DataView(rebuilt.buffer);
    for (const traf of childBoxes(rebuilt, { type: 'moof', start: 0, end: rebuilt.length, body: 8 }).filter((b) => b.type === 'traf')) {
      for (const trun of childBoxes(rebuilt, traf).filter((b) => b.type === 'trun')) {
        if ((u24(rebuilt, trun.start + 9) & 0x1) !== 0) view.setInt32(trun.start + 16, view.getInt32(trun.start + 16) + growth);
      }
    }
    parts.push(rebuilt);
    pos = moof.end;
  }
  parts.push(media.subarray(pos));
  return Buffer.concat(parts);
}
