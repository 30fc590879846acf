// RFC 6381 codec strings (the CODECS attribute of EXT-X-STREAM-INF) read from encoded bytes: H.264
// and HEVC from Annex B streams, MPEG-TS and fMP4 init sections, audio from ffprobe's names; and
// the restored variant's codecs.
import type { Codecs } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { findBoxes } from './iso-bmff.js';

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
  for (let i = 12 + infoLength; i + 5 <= pmt.length - 4;) {
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
