// RFC 6381 codec strings (the CODECS attribute of EXT-X-STREAM-INF) read from encoded bytes, and
// the fMP4 patches that keep a restored segment's audio and timeline identical to its source's.
import type { Codecs } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { boxesIn, childBoxes, findBox, findBoxes, makeBox, type Box } from './iso-bmff.js';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** `avc1.PPCCLL` from profile_idc, constraint flags and level_idc. */
export function avcCodecString(profileIdc: number, constraints: number, levelIdc: number): string {
  return `avc1.${hex2(profileIdc)}${hex2(constraints)}${hex2(levelIdc)}`;
}

/**
 * The codec string from the first H.264 SPS in Annex B bytes (00 00 01 start codes, as in
 * MPEG-TS), or undefined when there is none.
 */
export function avcCodecFromAnnexB(bytes: Uint8Array): string | undefined {
  for (let i = 0; i + 6 < bytes.length; i++) {
    if (bytes[i] !== 0 || bytes[i + 1] !== 0 || bytes[i + 2] !== 1) continue;
    if ((bytes[i + 3]! & 0x1f) === 7) return avcCodecString(bytes[i + 4]!, bytes[i + 5]!, bytes[i + 6]!);
  }
  return undefined;
}

/** MPEG-TS packet payloads of one PID, with their payload_unit_start_indicator. */
function* tsPayloads(ts: Uint8Array, pid?: number): Generator<{ pid: number; start: boolean; payload: Uint8Array }> {
  for (let pos = 0; pos + 188 <= ts.length; pos += 188) {
    if (ts[pos] !== 0x47) return;
    const p = ((ts[pos + 1]! & 0x1f) << 8) | ts[pos + 2]!;
    if (pid !== undefined && p !== pid) continue;
    const afc = (ts[pos + 3]! >> 4) & 0x3;
    if ((afc & 0x1) === 0) continue; // no payload
    const offset = afc === 0x3 ? 5 + ts[pos + 4]! : 4;
    if (offset >= 188) continue;
    yield { pid: p, start: (ts[pos + 1]! & 0x40) !== 0, payload: ts.subarray(pos + offset, pos + 188) };
  }
}

/** The first section of a PSI table on `pid` (after the pointer field). */
function psiSection(ts: Uint8Array, pid: number): Uint8Array | undefined {
  for (const { start, payload } of tsPayloads(ts, pid)) {
    if (!start) continue;
    const section = payload.subarray(1 + payload[0]!);
    const length = ((section[1]! & 0x0f) << 8) | section[2]!;
    return section.subarray(0, Math.min(section.length, 3 + length));
  }
  return undefined;
}

/** Video stream types in a PMT: H.264 and HEVC. */
const TS_VIDEO = { 0x1b: 'h264', 0x24: 'hevc' } as const;

/**
 * The codec string of the video stream in MPEG-TS bytes: PAT -> PMT -> the PID with stream_type
 * 0x1b (H.264) or 0x24 (HEVC) -> the SPS in its first PES. Undefined when there is no such stream or SPS.
 */
export function videoCodecFromTs(ts: Uint8Array): string | undefined {
  const pat = psiSection(ts, 0);
  if (pat === undefined || pat.length < 16) return undefined;
  let pmtPid: number | undefined;
  for (let i = 8; i + 4 <= pat.length - 4; i += 4) {
    const program = (pat[i]! << 8) | pat[i + 1]!;
    if (program !== 0) {
      pmtPid = ((pat[i + 2]! & 0x1f) << 8) | pat[i + 3]!;
      break;
    }
  }
  const pmt = pmtPid === undefined ? undefined : psiSection(ts, pmtPid);
  if (pmt === undefined || pmt.length < 12) return undefined;
  let videoPid: number | undefined;
  let kind: 'h264' | 'hevc' | undefined;
  const infoLength = ((pmt[10]! & 0x0f) << 8) | pmt[11]!;
  for (let i = 12 + infoLength; i + 5 <= pmt.length - 4; ) {
    const esInfo = ((pmt[i + 3]! & 0x0f) << 8) | pmt[i + 4]!;
    const type = TS_VIDEO[pmt[i]! as keyof typeof TS_VIDEO];
    if (type !== undefined) {
      videoPid = ((pmt[i + 1]! & 0x1f) << 8) | pmt[i + 2]!;
      kind = type;
      break;
    }
    i += 5 + esInfo;
  }
  if (videoPid === undefined) return undefined;
  // The first PES of the video PID, up to the next one (an access unit with parameter sets first).
  const parts: Uint8Array[] = [];
  for (const { start, payload } of tsPayloads(ts, videoPid)) {
    if (start && parts.length > 0) break;
    if (start || parts.length > 0) parts.push(payload);
  }
  const pes = Buffer.concat(parts);
  if (pes.length < 9 || pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) return undefined;
  const es = pes.subarray(9 + pes[8]!);
  return kind === 'h264' ? avcCodecFromAnnexB(es) : hevcCodecFromAnnexB(es, 'hev1');
}

/** The H.264 codec string of MPEG-TS bytes (see videoCodecFromTs), or undefined for any other video. */
export function avcCodecFromTs(ts: Uint8Array): string | undefined {
  const c = videoCodecFromTs(ts);
  return c?.startsWith('avc1.') === true ? c : undefined;
}

/**
 * RFC 6381 / ISO/IEC 14496-15 Annex E codec string of HEVC from its 12-byte general
 * profile_tier_level (profile space, tier, profile, compatibility flags, constraint flags, level),
 * e.g. `hvc1.2.4.L120.90` for Main 10 at level 4.
 */
export function hevcCodecString(entry: 'hvc1' | 'hev1', ptl: Uint8Array): string {
  const space = ptl[0]! >> 6;
  const tier = (ptl[0]! >> 5) & 1;
  const profile = ptl[0]! & 0x1f;
  const compat = ((ptl[1]! << 24) | (ptl[2]! << 16) | (ptl[3]! << 8) | ptl[4]!) >>> 0;
  let reversed = 0;
  for (let j = 0; j < 32; j++) if ((compat >>> (31 - j)) & 1) reversed = (reversed | (1 << j)) >>> 0;
  const constraints = Array.from(ptl.subarray(5, 11));
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  return [
    entry,
    `${['', 'A', 'B', 'C'][space]}${profile}`,
    reversed.toString(16).toUpperCase(),
    `${tier === 1 ? 'H' : 'L'}${ptl[11]!}`,
    ...constraints.map((b) => hex2(b).toUpperCase()),
  ].join('.');
}

/** RBSP bytes of a NAL unit's payload: emulation prevention bytes (00 00 03) removed, up to `max` bytes. */
function rbsp(nal: Uint8Array, max: number): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (let i = 0; i < nal.length && out.length < max; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** The HEVC codec string from the first SPS (NAL type 33) in Annex B bytes, or undefined when there is none. */
export function hevcCodecFromAnnexB(bytes: Uint8Array, entry: 'hvc1' | 'hev1'): string | undefined {
  for (let i = 0; i + 5 < bytes.length; i++) {
    if (bytes[i] !== 0 || bytes[i + 1] !== 0 || bytes[i + 2] !== 1) continue;
    if (((bytes[i + 3]! >> 1) & 0x3f) !== 33) continue;
    // After the 2-byte NAL header: vps id, max sub-layers, nesting (1 byte), then the 12-byte general PTL.
    const sps = rbsp(bytes.subarray(i + 5), 13);
    if (sps.length < 13) return undefined;
    return hevcCodecString(entry, sps.subarray(1, 13));
  }
  return undefined;
}

/**
 * The HEVC codec string from the hvcC box of an MP4 init section
 * (HEVCDecoderConfigurationRecord: version, then the general profile_tier_level), or undefined.
 */
export function hevcCodecFromInit(init: Uint8Array): string | undefined {
  for (const entry of ['hvc1', 'hev1'] as const) {
    const hvcC = findBoxes(init, [...STSD, entry, 'hvcC'])[0];
    if (hvcC === undefined || hvcC.body + 13 > hvcC.end || init[hvcC.body] !== 1) continue;
    return hevcCodecString(entry, init.subarray(hvcC.body + 1, hvcC.body + 13));
  }
  return undefined;
}

/**
 * The codec string from the avcC box of an MP4 init section (AVCDecoderConfigurationRecord:
 * version, profile, constraints, level), or undefined when there is none.
 */
export function avcCodecFromInit(init: Uint8Array): string | undefined {
  const avcC = ['avc1', 'avc3'].flatMap((entry) => findBoxes(init, [...STSD, entry, 'avcC']))[0];
  if (avcC === undefined || avcC.body + 4 > avcC.end || init[avcC.body] !== 1) return undefined;
  return avcCodecString(init[avcC.body + 1]!, init[avcC.body + 2]!, init[avcC.body + 3]!);
}

/** The video codec string of an MP4 init section: H.264 (avcC) or HEVC (hvcC). */
export function videoCodecFromInit(init: Uint8Array): string | undefined {
  return avcCodecFromInit(init) ?? hevcCodecFromInit(init);
}

/** The video codec string of Annex B bytes: H.264 or HEVC (parameter sets in band: `hev1`). */
export function videoCodecFromAnnexB(bytes: Uint8Array): string | undefined {
  return avcCodecFromAnnexB(bytes) ?? hevcCodecFromAnnexB(bytes, 'hev1');
}

/** moov -> trak -> ... -> stsd: where a track's sample entries (avc1, mp4a) live. */
const STSD = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd'] as const;

/** The codec string of an audio stream from ffprobe's codec_name and profile. */
export function audioCodecString(codecName: string, profile?: string): string | undefined {
  switch (codecName) {
    case 'aac':
      switch (profile) {
        case 'HE-AAC':
          return 'mp4a.40.5';
        case 'HE-AACv2':
          return 'mp4a.40.29';
        case 'Main':
          return 'mp4a.40.1';
        default:
          return 'mp4a.40.2';
      }
    case 'mp3':
      return 'mp4a.40.34';
    case 'ac3':
      return 'ac-3';
    case 'eac3':
      return 'ec-3';
    case 'opus':
      return 'Opus';
    case 'flac':
      return 'fLaC';
    default:
      return undefined;
  }
}

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
  const esds = (bytes: Uint8Array): (number | undefined)[] => findBoxes(bytes, [...STSD, 'mp4a', 'esds']).map((b) => esdsRateFields(bytes, b.body));
  const btrt = (bytes: Uint8Array): number[] =>
    ['mp4a', 'avc1', 'avc3'].flatMap((entry) => findBoxes(bytes, [...STSD, entry, 'btrt'])).filter((b) => b.body + 12 <= b.end).map((b) => b.body);
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
  const trexes = childBoxes(bytes, child(bytes, t.moov, 'mvex') ?? { type: 'mvex', start: 0, end: 0, body: 0 }).filter((b) => b.type === 'trex');
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
  return avcCodecString(idc, flags, level);
}

const VIDEO_CODEC = /^(avc[1-4]|hvc1|hev1|vp0?[89]|av01|dvh[1e]|dva[1v]|mp4v)\b/i;

/**
 * Codecs of the restored variant: its video codec plus the source variant's non-video codecs as its
 * CODECS attribute lists them (audio; `sourceCodecs` absent: the encoded segment's own audio).
 */
export function restoredCodecs(encoded: Codecs, sourceCodecs?: string): Codecs {
  if (sourceCodecs === undefined) return encoded;
  const audio = sourceCodecs
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !VIDEO_CODEC.test(c));
  return { video: encoded.video, audio };
}
