// The restored rendition's playlists, grouped by the RFC 8216 section whose rule is checked.
// Every rendered playlist is parsed back with hls-parser in strict mode and stringified again.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import HLS from 'hls-parser';
import type { MasterPlaylist, MediaPlaylist } from 'hls-parser/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseStrict } from '../../src/hls/hls-parse.js';
import { readSourcePlan } from '../../src/hls/playlist-reader.js';
import {
  avc1Codec,
  liveSegment,
  measureBandwidth,
  outputUriFor,
  renderLivePlaylist,
  renderMultivariantPlaylist,
  renderVodPlaylist,
  restoredCodecs,
} from '../../src/hls/playlist-writer.js';
import type { LiveSegment, ProducedSegment } from '../../src/hls/playlist-writer.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import type { MediaRendition, SegmentRef } from '../../src/types.js';

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

/** parse -> stringify must give the same text back: the output is in hls-parser's canonical form. */
function roundTrip(text: string): void {
  expect(`${HLS.stringify(strictParse(text))}\n`).toBe(text);
}

function tags(text: string, tag: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(tag));
}

const loc = (p: string) => ({ kind: 'file', path: `/in/${p}` }) as const;

/** A source rendition in memory: durations per segment, discontinuity before the listed indices. */
function source(
  durations: number[],
  opts: { mediaSequence?: number; discontinuitySequence?: number; discontinuities?: number[]; container?: 'ts' | 'fmp4'; targetDuration?: number; pdt?: Date } = {},
): MediaRendition {
  let dseq = opts.discontinuitySequence ?? 0;
  const segments: SegmentRef[] = durations.map((duration, i) => {
    const discontinuity = opts.discontinuities?.includes(i) ?? false;
    if (discontinuity) dseq++;
    return {
      sn: (opts.mediaSequence ?? 0) + i,
      uri: `s${i}.ts`,
      location: loc(`s${i}.ts`),
      duration,
      discontinuity,
      discontinuitySequence: dseq,
      ...(opts.pdt && (i === 0 || discontinuity) ? { programDateTime: new Date(opts.pdt.getTime() + i * 60_000) } : {}),
    };
  });
  return {
    isMultivariant: false,
    uri: 'media.m3u8',
    location: loc('media.m3u8'),
    version: 3,
    targetDuration: opts.targetDuration ?? 2,
    mediaSequence: opts.mediaSequence ?? 0,
    discontinuitySequence: opts.discontinuitySequence ?? 0,
    playlistType: 'VOD',
    endList: true,
    independentSegments: true,
    container: opts.container ?? 'ts',
    segments,
  };
}

const produce = (m: MediaRendition, ext = 'ts', init?: string): ProducedSegment[] =>
  m.segments.map((s) => ({ sn: s.sn, uri: `restored_${s.sn}.${ext}`, duration: s.duration, ...(init ? { initUri: init } : {}) }));

describe('4.3.1.2 EXT-X-VERSION', () => {
  it('version 3 for MPEG-TS ("MUST ... if it uses ... floating-point EXTINF duration values"), 6 with EXT-X-MAP', () => {
    const ts = source([2, 2]);
    expect(tags(renderVodPlaylist(ts, produce(ts)), '#EXT-X-VERSION')).toEqual(['#EXT-X-VERSION:3']);
    const mp4 = source([2, 2], { container: 'fmp4' });
    expect(tags(renderVodPlaylist(mp4, produce(mp4, 'm4s', 'init.mp4')), '#EXT-X-VERSION')).toEqual(['#EXT-X-VERSION:6']);
  });
});

describe('4.3.2.1 EXTINF', () => {
  it('"durations SHOULD be decimal-floating-point, with enough accuracy to avoid perceptible error when segment durations are accumulated": milliseconds kept', () => {
    const m = source([2.0333333, 1.9666667, 0.5]);
    const text = renderVodPlaylist(m, produce(m));
    expect(tags(text, '#EXTINF')).toEqual(['#EXTINF:2.033,', '#EXTINF:1.967,', '#EXTINF:0.5,']);
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.segments.map((s) => s.duration)).toEqual([2.033, 1.967, 0.5]);
    roundTrip(text);
  });
});

describe('4.3.3.1 EXT-X-TARGETDURATION', () => {
  it('equals the source\'s', () => {
    const m = source([1.2, 1.4], { targetDuration: 4 });
    expect(tags(renderVodPlaylist(m, produce(m)), '#EXT-X-TARGETDURATION')).toEqual(['#EXT-X-TARGETDURATION:4']);
  });

  it('"The EXTINF duration of each Media Segment ..., when rounded to the nearest integer, MUST be less than or equal to the target duration": a longer output is refused', () => {
    const m = source([2, 2]);
    const out = produce(m).map((p, i) => (i === 1 ? { ...p, duration: 2.6 } : p));
    expect(() => renderVodPlaylist(m, out)).toThrow('output segment sn 1 lasts 2.6 s, over the source TARGETDURATION 2');
  });

  it('a source TARGETDURATION of 0 (every segment under 0.5 s) is written as 0, VOD and live, and read back as 0', () => {
    const m = source([0.2, 0.2, 0.2], { targetDuration: 0 });
    const vod = renderVodPlaylist(m, produce(m));
    expect(tags(vod, '#EXT-X-TARGETDURATION')).toEqual(['#EXT-X-TARGETDURATION:0']);
    expect(parseStrict(vod).playlist).toMatchObject({ targetDuration: 0, segments: [{ duration: 0.2 }, { duration: 0.2 }, { duration: 0.2 }] });
    const live = renderLivePlaylist(
      m.segments.map((s, i) => liveSegment(s, produce(m)[i] as ProducedSegment)),
      { targetDuration: 0, container: 'ts', ended: false },
    );
    expect(tags(live.text, '#EXT-X-TARGETDURATION')).toEqual(['#EXT-X-TARGETDURATION:0']);
    expect(tags(live.text, '#EXTINF')).toHaveLength(3); // the default window (6 s) holds them all
    const over = produce(m).map((p, i) => (i === 2 ? { ...p, duration: 0.5 } : p));
    expect(() => renderVodPlaylist(m, over)).toThrow('output segment sn 2 lasts 0.5 s, over the source TARGETDURATION 0');
  });
});

describe('4.3.3.2 EXT-X-MEDIA-SEQUENCE', () => {
  it('output segments keep the source sequence numbers', () => {
    const m = source([2, 2, 2], { mediaSequence: 120 });
    const text = renderVodPlaylist(m, produce(m));
    expect(tags(text, '#EXT-X-MEDIA-SEQUENCE')).toEqual(['#EXT-X-MEDIA-SEQUENCE:120']);
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.segments.map((s) => [s.mediaSequenceNumber, s.uri])).toEqual([
      [120, 'restored_120.ts'],
      [121, 'restored_121.ts'],
      [122, 'restored_122.ts'],
    ]);
    roundTrip(text);
  });

  it('every source segment needs exactly one output segment', () => {
    const m = source([2, 2, 2]);
    expect(() => renderVodPlaylist(m, produce(m).slice(0, 2))).toThrow('no output segment for source segment sn 2 (s2.ts)');
    expect(() => renderVodPlaylist(m, [...produce(m), { sn: 7, uri: 'x.ts', duration: 1 }])).toThrow(
      'output segments sn 7 have no source segment',
    );
  });
});

describe('4.3.2.3 EXT-X-DISCONTINUITY and 4.3.3.3 EXT-X-DISCONTINUITY-SEQUENCE', () => {
  it('discontinuities sit before the same segments, and the sequence numbers a client derives match the source', () => {
    const m = source([2, 2, 2, 2], { discontinuitySequence: 3, discontinuities: [1, 3] });
    const text = renderVodPlaylist(m, produce(m));
    expect(tags(text, '#EXT-X-DISCONTINUITY-SEQUENCE')).toEqual(['#EXT-X-DISCONTINUITY-SEQUENCE:3']);
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.segments.map((s) => [s.discontinuity === true, s.discontinuitySequence])).toEqual(
      m.segments.map((s) => [s.discontinuity, s.discontinuitySequence]),
    );
    roundTrip(text);
  });
});

describe('4.3.2.5 EXT-X-MAP', () => {
  it('"The EXT-X-MAP tag specifies how to obtain the Media Initialization Section" for fMP4 output', () => {
    const m = source([2, 2], { container: 'fmp4' });
    const text = renderVodPlaylist(m, produce(m, 'm4s', 'init_0.mp4'));
    expect(tags(text, '#EXT-X-MAP')).toEqual(['#EXT-X-MAP:URI="init_0.mp4"']);
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.segments.map((s) => s.map?.uri)).toEqual(['init_0.mp4', 'init_0.mp4']);
    roundTrip(text);
  });

  it('a new init section after a discontinuity gets its own EXT-X-MAP', () => {
    const m = source([2, 2], { container: 'fmp4', discontinuities: [1] });
    const out = produce(m, 'm4s').map((p) => ({ ...p, initUri: `init_${p.sn}.mp4` }));
    expect(tags(renderVodPlaylist(m, out), '#EXT-X-MAP')).toEqual(['#EXT-X-MAP:URI="init_0.mp4"', '#EXT-X-MAP:URI="init_1.mp4"']);
  });

  it('fMP4 output without an init section, or TS output with one, is refused', () => {
    const mp4 = source([2], { container: 'fmp4' });
    expect(() => renderVodPlaylist(mp4, produce(mp4, 'm4s'))).toThrow('fMP4 output segment sn 0 has no init section URI');
    const ts = source([2]);
    expect(() => renderVodPlaylist(ts, produce(ts, 'ts', 'init.mp4'))).toThrow('must not have an init section');
  });
});

describe('4.3.2.6 EXT-X-PROGRAM-DATE-TIME', () => {
  it('carried to the same segments with millisecond precision', () => {
    const pdt = new Date('2026-03-04T05:06:07.089Z');
    const m = source([2, 2, 2], { discontinuities: [2], pdt });
    const text = renderVodPlaylist(m, produce(m));
    expect(tags(text, '#EXT-X-PROGRAM-DATE-TIME')).toEqual([
      '#EXT-X-PROGRAM-DATE-TIME:2026-03-04T05:06:07.089Z',
      '#EXT-X-PROGRAM-DATE-TIME:2026-03-04T05:08:07.089Z',
    ]);
    roundTrip(text);
  });
});

describe('4.3.3.4 EXT-X-ENDLIST, 4.3.3.5 EXT-X-PLAYLIST-TYPE, 4.3.5.1 EXT-X-INDEPENDENT-SEGMENTS', () => {
  it('VOD output: "If the EXT-X-PLAYLIST-TYPE value is VOD, the Playlist cannot change", ended, every segment independently decodable', () => {
    const m = source([2, 2]);
    const text = renderVodPlaylist(m, produce(m));
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXTINF:2,',
        'restored_0.ts',
        '#EXTINF:2,',
        'restored_1.ts',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });

  it('restoring the ts fixture keeps its timeline exactly', async () => {
    const plan = await readSourcePlan(path.join(FIXTURES, 'ts/index.m3u8'));
    const text = renderVodPlaylist(plan.media, produce(plan.media));
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.targetDuration).toBe(plan.media.targetDuration);
    expect(parsed.segments.map((s) => [s.mediaSequenceNumber, s.duration])).toEqual(
      plan.media.segments.map((s) => [s.sn, s.duration]),
    );
    expect(parsed.playlistType).toBe('VOD');
    expect(parsed.endlist).toBe(true);
  });
});

describe('6.2.2 Live Playlists', () => {
  const target = 2;
  // 10 segments of 2 s, discontinuities before sn 103 and 106, source DISCONTINUITY-SEQUENCE 7.
  const live = source(Array<number>(10).fill(2), { mediaSequence: 100, discontinuitySequence: 7, discontinuities: [3, 6], targetDuration: target });
  const all: LiveSegment[] = live.segments.map((s, i) => liveSegment(s, produce(live)[i] as ProducedSegment));

  it('"The server MUST NOT remove a Media Segment from a Playlist file without an EXT-X-ENDLIST tag if that would produce a Playlist whose duration is less than three times the target duration"', () => {
    for (let count = 1; count <= all.length; count++) {
      const { text } = renderLivePlaylist(all.slice(0, count), { targetDuration: target, container: 'ts', ended: false, windowSeconds: 1 });
      const parsed = strictParse(text) as MediaPlaylist;
      const total = parsed.segments.reduce((a, s) => a + s.duration, 0);
      expect(total).toBeGreaterThanOrEqual(Math.min(3 * target, 2 * count));
      expect(parsed.segments.length).toBe(Math.min(count, 3));
    }
  });

  it('the window slides: MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE let a client number every segment as in the source', () => {
    for (let count = 1; count <= all.length; count++) {
      const shown = renderLivePlaylist(all.slice(0, count), { targetDuration: target, container: 'ts', ended: false, windowSeconds: 8 });
      const parsed = strictParse(shown.text) as MediaPlaylist;
      const first = parsed.segments[0];
      expect(first?.mediaSequenceNumber).toBe(shown.mediaSequence);
      // What a client computes from the tags equals the true numbering of each segment.
      expect(parsed.segments.map((s) => [s.mediaSequenceNumber, s.discontinuitySequence, s.discontinuity === true])).toEqual(
        all
          .slice(0, count)
          .slice(-parsed.segments.length)
          .map((s) => [s.sn, s.discontinuitySequence, s.discontinuity]),
      );
      expect(shown.removed.map((s) => s.sn)).toEqual(all.slice(0, count - parsed.segments.length).map((s) => s.sn));
      expect(parsed.playlistType).toBeUndefined();
      expect(parsed.endlist).toBe(false);
      roundTrip(shown.text);
    }
  });

  it('"If the server removes a Media Segment from the Playlist that contains an EXT-X-DISCONTINUITY tag, the server MUST increment the value of the EXT-X-DISCONTINUITY-SEQUENCE tag"', () => {
    const before = renderLivePlaylist(all.slice(0, 7), { targetDuration: target, container: 'ts', ended: false, windowSeconds: 8 });
    const after = renderLivePlaylist(all.slice(0, 8), { targetDuration: target, container: 'ts', ended: false, windowSeconds: 8 });
    // before: sn 103..106 (103 carries a DISCONTINUITY); after: 104..107, 103 left.
    expect([before.mediaSequence, before.discontinuitySequence]).toEqual([103, 7]);
    expect([after.mediaSequence, after.discontinuitySequence]).toEqual([104, 8]);
    expect(tags(after.text, '#EXT-X-DISCONTINUITY-SEQUENCE')).toEqual(['#EXT-X-DISCONTINUITY-SEQUENCE:8']);
  });

  it('ENDLIST once the source ends; segments must be consecutive', () => {
    const { text } = renderLivePlaylist(all, { targetDuration: target, container: 'ts', ended: true });
    expect(tags(text, '#EXT-X-ENDLIST')).toHaveLength(1);
    expect(tags(text, '#EXT-X-PLAYLIST-TYPE')).toHaveLength(0);
    expect(() =>
      renderLivePlaylist([all[0], all[2]] as LiveSegment[], { targetDuration: target, container: 'ts', ended: false }),
    ).toThrow('live segments must be consecutive: sn 102 follows sn 100');
  });
});

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
    codecs: restoredCodecs(avc1Codec('High', 50), 'avc1.64001e,mp4a.40.2'),
    frameRate: 30000 / 1001,
  };
  const mapUri = (u: string): string => `../src/${u}`;

  it('lists the source variants and renditions (URIs mapped) plus the new one with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE and the same AUDIO group', () => {
    const text = renderMultivariantPlaylist({ sourceText: SOURCE_MULTIVARIANT, mapUri, basedOn: 'v360/media.m3u8', restored });
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
      sourceVariants: [{ uri: '../in/media.m3u8', bandwidth: 150_400, resolution: { width: 96, height: 64 }, codecs: 'avc1.64000b,mp4a.40.2', frameRate: 10 }],
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
      sourceText: plan.multivariant?.text ?? '',
      mapUri: (u) => outputUriFor({ kind: 'file', path: path.join(FIXTURES, 'ts', u) }, outDir),
      basedOn: plan.chosen?.uri,
      restored: { ...restored, codecs: restoredCodecs(avc1Codec('High', 30), plan.chosen?.codecs) },
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

describe('4.3.4.2 BANDWIDTH and AVERAGE-BANDWIDTH from produced segments', () => {
  it('"the peak segment bit rate": the highest rate over runs of 0.5 to 1.5 target durations', () => {
    // target 2 s: single 2 s segments qualify; the 0.4 s burst alone does not (< 1 s) but joins runs.
    const segs = [
      { bytes: 250_000, duration: 2 }, // 1.0 Mb/s
      { bytes: 100_000, duration: 0.4 }, // 2.0 Mb/s alone, too short to count
      { bytes: 300_000, duration: 2 }, // 1.2 Mb/s; with the burst: 400000*8/2.4 = 1.333 Mb/s
    ];
    const { peak, average } = measureBandwidth(segs, 2);
    expect(peak).toBe(Math.ceil((400_000 * 8) / 2.4));
    expect(average).toBe(Math.ceil((650_000 * 8) / 4.4));
  });

  it('one short segment still gives its own rate', () => {
    expect(measureBandwidth([{ bytes: 1000, duration: 0.2 }], 6)).toEqual({ peak: 40_000, average: 40_000 });
  });
});

describe('CODECS (RFC 6381)', () => {
  it('avc1.PPCCLL from ffprobe profile and level, audio codec taken from the source', () => {
    expect(avc1Codec('High', 40)).toBe('avc1.640028');
    expect(avc1Codec('Main', 31)).toBe('avc1.4d001f');
    expect(avc1Codec('Constrained Baseline', 30)).toBe('avc1.42c01e');
    expect(restoredCodecs('avc1.640028', 'avc1.4d401f,mp4a.40.2')).toBe('avc1.640028,mp4a.40.2');
    expect(restoredCodecs('avc1.640028', 'hvc1.1.6.L93.B0, ec-3')).toBe('avc1.640028,ec-3');
    expect(restoredCodecs('avc1.640028')).toBe('avc1.640028');
    expect(() => avc1Codec('Unknown', 40)).toThrow('H.264 profile "Unknown" is not one avc1Codec knows');
  });
});

describe('writeFileAtomic (a playlist is replaced whole, never half-written)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'swiftvr-publish-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, replaces and leaves no temp file', async () => {
    const file = path.join(dir, 'sub', 'media.m3u8');
    await writeFileAtomic(file, 'one\n');
    await writeFileAtomic(file, new TextEncoder().encode('two\n'));
    expect(await readFile(file, 'utf8')).toBe('two\n');
    expect(await readdir(path.dirname(file))).toEqual(['media.m3u8']);
  });

  it('on failure the target is untouched and the temp file removed', async () => {
    const target = path.join(dir, 'busy');
    await mkdir(path.join(target, 'inner'), { recursive: true }); // rename over a non-empty folder fails
    await writeFile(path.join(target, 'inner', 'x'), 'keep');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(await readFile(path.join(target, 'inner', 'x'), 'utf8')).toBe('keep');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
