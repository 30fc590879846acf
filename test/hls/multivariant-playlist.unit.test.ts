// The output multivariant playlist: the source variants carried across, the upscaled variant added
// (RFC 8216 §4.3.4.2), parsed back strictly and round-tripped.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import HLS from 'hls-parser';
import type { MasterPlaylist } from 'hls-parser/types.js';
import { describe, expect, it } from 'vitest';

import { readSourcePlan } from '../../src/hls/playlist-reader.js';
import { renderMultivariantPlaylist } from '../../src/hls/multivariant-playlist.js';
import { outputUriFor } from '../../src/hls/uri-policy.js';
import { avc1Codec, restoredCodecs } from '../../src/media/codec-strings.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hls/', import.meta.url));

function strictParse(text: string): ReturnType<typeof HLS.parse> {
  const saved = HLS.getOptions();
  HLS.setOptions({ strictMode: true, silent: true });
  try {
    return HLS.parse(text);
  } finally {
    HLS.setOptions(saved);
  }
}

function tags(text: string, tag: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(tag));
}

/** parse -> stringify must give the same text back: the output is in hls-parser's canonical form. */
function roundTrip(text: string): void {
  expect(`${HLS.stringify(strictParse(text))}\n`).toBe(text);
}

const SOURCE_MULTIVARIANT = [
  '#EXTM3U',
  '#EXT-X-VERSION:4',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",DEFAULT=YES,AUTOSELECT=YES,LANGUAGE="en",URI="audio/en.m3u8"',
  '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=NO,AUTOSELECT=YES,LANGUAGE="en",URI="subs/en.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=29.970,AUDIO="aac",SUBTITLES="subs"',
  'v360/media.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=300000,CODECS="avc1.42c015,mp4a.40.2",RESOLUTION=320x180,FRAME-RATE=29.970,AUDIO="aac",SUBTITLES="subs"',
  'v180/media.m3u8',
  '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e",RESOLUTION=640x360,URI="v360/iframes.m3u8"',
  '',
].join('\n');

describe('4.3.4.2 EXT-X-STREAM-INF: the upscaled variant', () => {
  const restored = {
    uri: 'restored/media.m3u8',
    bandwidth: 2_400_123,
    averageBandwidth: 2_000_001,
    resolution: { width: 2560, height: 1440 },
    codecs: restoredCodecs({ video: avc1Codec('High', 50), audio: [] }, 'avc1.64001e,mp4a.40.2'),
    frameRate: 30000 / 1001,
  };
  const mapUri = (u: string): string => `../src/${u}`;

  it('lists the source variants and renditions (URIs mapped) plus the new one with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE and the same AUDIO group', () => {
    const source = strictParse(SOURCE_MULTIVARIANT) as MasterPlaylist;
    const before = JSON.stringify(source);
    const text = renderMultivariantPlaylist({ source, mapUri, basedOn: 'v360/media.m3u8', restored });
    // The plan's parsed playlist is read, never changed (it is parsed once and shared).
    expect(JSON.stringify(source)).toBe(before);
    const parsed = strictParse(text) as MasterPlaylist;
    const variants = parsed.variants.filter((v) => !v.isIFrameOnly);
    expect(variants.map((v) => v.uri)).toEqual(['../src/v360/media.m3u8', '../src/v180/media.m3u8', 'restored/media.m3u8']);
    const added = variants[2];
    expect(added).toMatchObject({
      bandwidth: 2_400_123,
      averageBandwidth: 2_000_001,
      resolution: { width: 2560, height: 1440 },
      codecs: 'avc1.640032,mp4a.40.2',
      frameRate: 29.97,
    });
    expect(added?.audio.map((r) => [r.groupId, r.uri])).toEqual([['aac', '../src/audio/en.m3u8']]);
    expect(added?.subtitles.map((r) => r.groupId)).toEqual(['subs']);
    expect(tags(text, '#EXT-X-MEDIA')).toEqual([
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",DEFAULT=YES,AUTOSELECT=YES,LANGUAGE="en",URI="../src/audio/en.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=NO,AUTOSELECT=YES,LANGUAGE="en",URI="../src/subs/en.m3u8"',
    ]);
    expect(tags(text, '#EXT-X-I-FRAME-STREAM-INF')[0]).toContain('URI="../src/v360/iframes.m3u8"');
    expect(tags(text, '#EXT-X-STREAM-INF').at(-1)).toBe(
      '#EXT-X-STREAM-INF:BANDWIDTH=2400123,AVERAGE-BANDWIDTH=2000001,CODECS="avc1.640032,mp4a.40.2",RESOLUTION=2560x1440,FRAME-RATE=29.970,AUDIO="aac",SUBTITLES="subs"',
    );
    roundTrip(text);
  });

  it('from a media playlist input: the source rendition listed as given, the new variant after it (or first)', () => {
    const text = renderMultivariantPlaylist({
      sourceVariants: [
        {
          uri: '../in/media.m3u8',
          bandwidth: 150_400,
          resolution: { width: 96, height: 64 },
          codecs: 'avc1.64000b,mp4a.40.2',
          frameRate: 10,
        },
      ],
      restored: { ...restored, resolution: { width: 384, height: 256 }, frameRate: 10 },
      position: 'first',
    });
    const parsed = strictParse(text) as MasterPlaylist;
    expect(parsed.variants.map((v) => [v.uri, v.bandwidth, v.resolution?.width])).toEqual([
      ['restored/media.m3u8', 2_400_123, 384],
      ['../in/media.m3u8', 150_400, 96],
    ]);
    roundTrip(text);
  });

  it('the fixture multivariant gains the restored variant next to its two sources', async () => {
    const plan = await readSourcePlan(path.join(FIXTURES, 'ts/index.m3u8'));
    const outDir = path.join(FIXTURES, '..', '..', '..', 'out', 'x');
    const text = renderMultivariantPlaylist({
      source: plan.multivariant!.playlist,
      mapUri: (u) => outputUriFor({ kind: 'file', path: path.join(FIXTURES, 'ts', u) }, outDir),
      basedOn: plan.chosen?.uri,
      restored: { ...restored, codecs: restoredCodecs({ video: avc1Codec('High', 30), audio: [] }, plan.chosen?.codecs) },
    });
    const parsed = strictParse(text) as MasterPlaylist;
    expect(parsed.variants.map((v) => v.uri)).toEqual([
      '../../test/fixtures/hls/ts/48x32/media.m3u8',
      '../../test/fixtures/hls/ts/96x64/media.m3u8',
      'restored/media.m3u8',
    ]);
    expect(parsed.variants[2]?.codecs).toBe('avc1.64001e,mp4a.40.2');
  });

  it('refuses a restored variant without a measured bandwidth', () => {
    expect(() => renderMultivariantPlaylist({ sourceVariants: [], restored: { ...restored, bandwidth: 0 } })).toThrow(
      'restored variant BANDWIDTH 0 and AVERAGE-BANDWIDTH 2000001 must be positive integers',
    );
  });
});
