// RFC 6381 codec strings read from the bytes, checked against what ffprobe says of the stream.
import { codecsAttribute } from '../../src/types.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { audioCodecString, avc1Codec, avcCodecFromInit, avcCodecFromTs, restoredCodecs } from '../../src/media/codec-strings.js';
import { topLevelBoxes } from '../../src/media/iso-bmff.js';
import { ffmpeg, ffprobeJson, makeHls, removeTempDirs, tempDir } from './media-fixtures.js';
import type { HlsFixture } from './media-fixtures.js';

afterAll(removeTempDirs);

interface ProbedVideo {
  streams: { profile: string; level: number }[];
}

const expected = async (file: string): Promise<string> => {
  const { streams } = await ffprobeJson<ProbedVideo>(['-select_streams', 'v:0', '-show_entries', 'stream=profile,level', file]);
  const profileIdc: Record<string, number> = { High: 0x64, Main: 0x4d, 'Constrained Baseline': 0x42 };
  const constraints: Record<string, number> = { High: 0x00, Main: 0x40, 'Constrained Baseline': 0xc0 };
  const s = streams[0]!;
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `avc1.${hex(profileIdc[s.profile]!)}${hex(constraints[s.profile]!)}${hex(s.level)}`;
};

describe('codec strings', () => {
  let dir: string;
  let ts: HlsFixture;
  let fmp4: HlsFixture;

  beforeAll(async () => {
    dir = await tempDir('codecs');
    ts = await makeHls(dir, 'ts', { seconds: 1, size: '640x360' });
    fmp4 = await makeHls(dir, 'fmp4', { seconds: 1, size: '640x360' });
  });

  it('reads avc1.PPCCLL from the SPS of the video PID in MPEG-TS', async () => {
    const codec = avcCodecFromTs(await readFile(ts.segments[0]!));
    expect(codec).toBe(await expected(ts.segments[0]!));
    expect(codec).toBe('avc1.64001e'); // High, level 3.0 for 640x360 at 25 fps
  });

  it('reads it from the avcC box of an fMP4 init section', async () => {
    const init = await readFile(path.join(dir, 'fmp4-init.mp4'));
    expect(avcCodecFromInit(init)).toBe(await expected(fmp4.segments[0]!));
    expect(topLevelBoxes(init).map((b) => b.type)).toEqual(['ftyp', 'moov']);
  });

  it('reads Main and Constrained Baseline profiles with their constraint flags', async () => {
    for (const [profile, want] of [
      ['main', 'avc1.4d40'],
      ['baseline', 'avc1.42c0'],
    ] as const) {
      const file = path.join(dir, `${profile}.ts`);
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=0.2', '-c:v', 'libx264', '-profile:v', profile, '-f', 'mpegts', file]);
      const codec = avcCodecFromTs(await readFile(file));
      expect(codec?.startsWith(want)).toBe(true);
      expect(codec).toBe(await expected(file));
    }
  });

  it('has no avc1 string for a TS without H.264', async () => {
    const file = path.join(dir, 'audio.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=d=0.5', '-c:a', 'aac', '-f', 'mpegts', file]);
    expect(avcCodecFromTs(await readFile(file))).toBeUndefined();
  });

  it('names AAC profiles and other audio codecs as HLS CODECS expects', () => {
    expect(audioCodecString('aac', 'LC')).toBe('mp4a.40.2');
    expect(audioCodecString('aac', 'HE-AAC')).toBe('mp4a.40.5');
    expect(audioCodecString('aac', 'HE-AACv2')).toBe('mp4a.40.29');
    expect(audioCodecString('mp3')).toBe('mp4a.40.34');
    expect(audioCodecString('ac3')).toBe('ac-3');
    expect(audioCodecString('pcm_s16le')).toBeUndefined();
  });
});

describe('CODECS (RFC 6381)', () => {
  it('avc1.PPCCLL from ffprobe profile and level, audio codec taken from the source', () => {
    expect(avc1Codec('High', 40)).toBe('avc1.640028');
    expect(avc1Codec('Main', 31)).toBe('avc1.4d001f');
    expect(avc1Codec('Constrained Baseline', 30)).toBe('avc1.42c01e');
    const encoded = { video: 'avc1.640028', audio: ['mp4a.40.5'] };
    // The source variant's CODECS name its audio (any order, spaces allowed); without them the segment's own.
    expect(restoredCodecs(encoded, 'avc1.4d401f,mp4a.40.2')).toEqual({ video: 'avc1.640028', audio: ['mp4a.40.2'] });
    expect(restoredCodecs(encoded, 'ec-3, hvc1.1.6.L93.B0')).toEqual({ video: 'avc1.640028', audio: ['ec-3'] });
    expect(restoredCodecs(encoded)).toEqual(encoded);
    expect(codecsAttribute({ video: 'avc1.640028', audio: ['mp4a.40.2', 'ec-3'] })).toBe('avc1.640028,mp4a.40.2,ec-3');
    expect(() => avc1Codec('Unknown', 40)).toThrow('H.264 profile "Unknown" is not one avc1Codec knows');
  });
});
