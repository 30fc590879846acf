// RFC 6381 codec strings (the CODECS attribute of EXT-X-STREAM-INF) read from encoded bytes.

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

/**
 * The codec string from the avcC box of an MP4 init section (AVCDecoderConfigurationRecord:
 * version, profile, constraints, level), or undefined when there is none.
 */
export function avcCodecFromInit(init: Uint8Array): string | undefined {
  const tag = [0x61, 0x76, 0x63, 0x43]; // 'avcC'
  for (let i = 4; i + 8 <= init.length; i++) {
    if (init[i] === tag[0] && init[i + 1] === tag[1] && init[i + 2] === tag[2] && init[i + 3] === tag[3]) {
      if (init[i + 4] !== 1) return undefined;
      return avcCodecString(init[i + 5]!, init[i + 6]!, init[i + 7]!);
    }
  }
  return undefined;
}

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

/** Top-level ISO BMFF boxes of `bytes`: type and byte range. */
export function topLevelBoxes(bytes: Uint8Array): { type: string; start: number; end: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: { type: string; start: number; end: number }[] = [];
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    let size = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    if (size === 1) {
      if (pos + 16 > bytes.length) break;
      size = Number(view.getBigUint64(pos + 8));
    } else if (size === 0) {
      size = bytes.length - pos;
    }
    if (size < 8 || pos + size > bytes.length) throw new RangeError(`box ${type} at byte ${pos} has size ${size}, past the end (${bytes.length} bytes)`);
    boxes.push({ type, start: pos, end: pos + size });
    pos += size;
  }
  if (pos !== bytes.length) throw new RangeError(`${bytes.length - pos} trailing bytes after the last box at byte ${pos}`);
  return boxes;
}
