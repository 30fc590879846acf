// The restored rendition's media playlist (VOD and live), grouped by the RFC 8216 section whose
// rule is checked. Every rendered playlist is parsed back with hls-parser in strict mode and
// stringified again.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';
import { describe, expect, it } from 'vitest';

import { parseStrict } from '../../src/hls/hls-parse.js';
import { readSourcePlan } from '../../src/hls/playlist-reader.js';
import { appendLive } from '../../src/hls/live-window.js';
import {
  parseRendition,
  renderRendition,
  restoredEntries,
  vodRendition,
  type ProducedSegment,
  type RenditionEntry,
  type RenditionPlaylist,
} from '../../src/hls/rendition-playlist.js';
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
  opts: {
    mediaSequence?: number;
    discontinuitySequence?: number;
    discontinuities?: number[];
    container?: 'ts' | 'fmp4';
    targetDuration?: number;
    pdt?: Date;
  } = {},
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
  m.segments.map((s) => ({ sn: s.sn, uri: `restored_${s.sn}.${ext}`, ...(init ? { initUri: init } : {}) }));

/** What the local pipeline publishes for a VOD: one restored segment per source segment. */
const renderVod = (m: MediaRendition, produced: readonly ProducedSegment[], durations?: readonly number[]): string => {
  const entries = restoredEntries(m.segments, produced, m.container).map((e, i) => ({ ...e, duration: durations?.[i] ?? e.duration }));
  return renderRendition(vodRendition(entries, m.targetDuration, m.segments[0]!.discontinuitySequence));
};

const entry = (sn: number, o: Partial<RenditionEntry> = {}): RenditionEntry => ({
  uri: `seg_${String(sn).padStart(6, '0')}.ts`,
  duration: 2,
  discontinuity: false,
  sourceSn: sn,
  ...o,
});

describe('4.3.1.2 EXT-X-VERSION', () => {
  it('version 3 for MPEG-TS ("MUST ... if it uses ... floating-point EXTINF duration values"), 6 with EXT-X-MAP', () => {
    const ts = source([2, 2]);
    expect(tags(renderVod(ts, produce(ts)), '#EXT-X-VERSION')).toEqual(['#EXT-X-VERSION:3']);
    const mp4 = source([2, 2], { container: 'fmp4' });
    expect(tags(renderVod(mp4, produce(mp4, 'm4s', 'init.mp4')), '#EXT-X-VERSION')).toEqual(['#EXT-X-VERSION:6']);
  });
});

describe('4.3.2.1 EXTINF', () => {
  it('"durations SHOULD be decimal-floating-point, with enough accuracy to avoid perceptible error when segment durations are accumulated": milliseconds kept', () => {
    const m = source([2.0333333, 1.9666667, 0.5]);
    const text = renderVod(m, produce(m));
    expect(tags(text, '#EXTINF')).toEqual(['#EXTINF:2.033,', '#EXTINF:1.967,', '#EXTINF:0.5,']);
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.segments.map((s) => s.duration)).toEqual([2.033, 1.967, 0.5]);
    roundTrip(text);
  });
});

describe('4.3.3.1 EXT-X-TARGETDURATION', () => {
  it("equals the source's", () => {
    const m = source([1.2, 1.4], { targetDuration: 4 });
    expect(tags(renderVod(m, produce(m)), '#EXT-X-TARGETDURATION')).toEqual(['#EXT-X-TARGETDURATION:4']);
  });

  it('"The EXTINF duration of each Media Segment ..., when rounded to the nearest integer, MUST be less than or equal to the target duration": a longer output is refused', () => {
    const m = source([2, 2]);
    expect(() => renderVod(m, produce(m), [2, 2.6])).toThrow('segment sn=1 lasts 2.6 s, which rounds above the target duration 2 s');
  });

  it('a source TARGETDURATION of 0 (every segment under 0.5 s) is written as 0, VOD and live, and read back as 0', () => {
    const m = source([0.2, 0.2, 0.2], { targetDuration: 0 });
    const vod = renderVod(m, produce(m));
    expect(tags(vod, '#EXT-X-TARGETDURATION')).toEqual(['#EXT-X-TARGETDURATION:0']);
    expect(parseStrict(vod).playlist).toMatchObject({
      targetDuration: 0,
      segments: [{ duration: 0.2 }, { duration: 0.2 }, { duration: 0.2 }],
    });
    let live: RenditionPlaylist | undefined;
    for (const sn of [0, 1, 2])
      live = appendLive(
        live,
        { entry: entry(sn, { duration: 0.2 }), last: false, discontinuitySequence: 0 },
        { targetDuration: 0, window: 6 },
      );
    const text = renderRendition(live!);
    expect(tags(text, '#EXT-X-TARGETDURATION')).toEqual(['#EXT-X-TARGETDURATION:0']);
    expect(tags(text, '#EXTINF')).toHaveLength(3);
    expect(parseRendition(text, 'live.m3u8').targetDuration).toBe(0);
    expect(() => renderVod(m, produce(m), [0.2, 0.2, 0.5])).toThrow('segment sn=2 lasts 0.5 s, which rounds above the target duration 0 s');
  });
});

describe('4.3.3.2 EXT-X-MEDIA-SEQUENCE', () => {
  it('output segments keep the source sequence numbers', () => {
    const m = source([2, 2, 2], { mediaSequence: 120 });
    const text = renderVod(m, produce(m));
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
    expect(() => renderVod(m, produce(m).slice(0, 2))).toThrow('no output segment for source segment sn 2 (s2.ts)');
    expect(() => renderVod(m, [...produce(m), { sn: 7, uri: 'x.ts' }])).toThrow('output segments sn 7 have no source segment');
  });
});

describe('4.3.2.3 EXT-X-DISCONTINUITY and 4.3.3.3 EXT-X-DISCONTINUITY-SEQUENCE', () => {
  it('discontinuities sit before the same segments, and the sequence numbers a client derives match the source', () => {
    const m = source([2, 2, 2, 2], { discontinuitySequence: 3, discontinuities: [1, 3] });
    const text = renderVod(m, produce(m));
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
    const text = renderVod(m, produce(m, 'm4s', 'init_0.mp4'));
    expect(tags(text, '#EXT-X-MAP')).toEqual(['#EXT-X-MAP:URI="init_0.mp4"']);
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.segments.map((s) => s.map?.uri)).toEqual(['init_0.mp4', 'init_0.mp4']);
    roundTrip(text);
  });

  it('a new init section after a discontinuity gets its own EXT-X-MAP', () => {
    const m = source([2, 2], { container: 'fmp4', discontinuities: [1] });
    const out = produce(m, 'm4s').map((p) => ({ ...p, initUri: `init_${p.sn}.mp4` }));
    expect(tags(renderVod(m, out), '#EXT-X-MAP')).toEqual(['#EXT-X-MAP:URI="init_0.mp4"', '#EXT-X-MAP:URI="init_1.mp4"']);
  });

  it('fMP4 output without an init section, or TS output with one, is refused', () => {
    const mp4 = source([2], { container: 'fmp4' });
    expect(() => renderVod(mp4, produce(mp4, 'm4s'))).toThrow('fMP4 output segment sn 0 has no init section URI');
    const ts = source([2]);
    expect(() => renderVod(ts, produce(ts, 'ts', 'init.mp4'))).toThrow('must not have an init section');
  });
});

describe('4.3.2.6 EXT-X-PROGRAM-DATE-TIME', () => {
  it('carried to the same segments with millisecond precision', () => {
    const pdt = new Date('2026-03-04T05:06:07.089Z');
    const m = source([2, 2, 2], { discontinuities: [2], pdt });
    const text = renderVod(m, produce(m));
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
    const text = renderVod(m, produce(m));
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
    const text = renderVod(plan.media, produce(plan.media));
    const parsed = strictParse(text) as MediaPlaylist;
    expect(parsed.targetDuration).toBe(plan.media.targetDuration);
    expect(parsed.segments.map((s) => [s.mediaSequenceNumber, s.duration])).toEqual(plan.media.segments.map((s) => [s.sn, s.duration]));
    expect(parsed.playlistType).toBe('VOD');
    expect(parsed.endlist).toBe(true);
  });
});

const opts = { targetDuration: 2, window: 6 };

function grow(sns: number[], disc: number[] = [], last = -1): RenditionPlaylist[] {
  const out: RenditionPlaylist[] = [];
  let p: RenditionPlaylist | undefined;
  for (const sn of sns) {
    p = appendLive(p, { entry: entry(sn, { discontinuity: disc.includes(sn) }), last: sn === last, discontinuitySequence: 0 }, opts) ?? p;
    out.push(p!);
  }
  return out;
}

describe('RFC 8216 §6.2.2 Live Playlists', () => {
  it('"The server MUST NOT remove a Media Segment ... if that would cause the duration of the Playlist to be less than three times the target duration": keeps a window of 6', () => {
    const ps = grow([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ps.map((p) => p.entries.length)).toEqual([1, 2, 3, 4, 5, 6, 6, 6]);
    expect(ps.at(-1)!.entries.map((e) => e.sourceSn)).toEqual([2, 3, 4, 5, 6, 7]);
    // With long segments the duration rule, not the count, keeps more: 3 x 10 s target.
    let p: RenditionPlaylist | undefined;
    for (let sn = 0; sn < 8; sn++)
      p = appendLive(p, { entry: entry(sn, { duration: 1 }), last: false, discontinuitySequence: 0 }, { ...opts, targetDuration: 10 }) ?? p;
    expect(p!.entries.length).toBe(8); // 8 s < 30 s: nothing may leave
  });

  it('"it MUST increment the value of EXT-X-MEDIA-SEQUENCE" by the segments removed', () => {
    const ps = grow([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ps.map((p) => p.mediaSequence)).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
  });

  it('"If the server removes a Media Segment ... with an EXT-X-DISCONTINUITY tag, it MUST increment ... EXT-X-DISCONTINUITY-SEQUENCE"', () => {
    const ps = grow([0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 2]);
    expect(ps.map((p) => p.discontinuitySequence)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2]);
  });

  it('is append-only: a duplicate or older segment changes nothing; a gap becomes a discontinuity', () => {
    const [p] = grow([4]);
    expect(appendLive(p, { entry: entry(4), last: false, discontinuitySequence: 0 }, opts)).toBeUndefined();
    expect(appendLive(p, { entry: entry(3), last: false, discontinuitySequence: 0 }, opts)).toBeUndefined();
    const q = appendLive(p, { entry: entry(6), last: false, discontinuitySequence: 0 }, opts)!;
    expect(q.entries.map((e) => [e.sourceSn, e.discontinuity])).toEqual([
      [4, false],
      [6, true],
    ]);
  });

  it('adds EXT-X-ENDLIST with the last segment, or to the last one already listed', () => {
    expect(grow([0, 1], [], 1).at(-1)!.ended).toBe(true);
    const [p] = grow([0]);
    const ended = appendLive(p, { entry: entry(0), last: true, discontinuitySequence: 0 }, opts)!;
    expect(ended.ended).toBe(true);
    expect(ended.entries).toHaveLength(1);
    expect(appendLive(ended, { entry: entry(1), last: false, discontinuitySequence: 0 }, opts)).toBeUndefined();
  });

  it('refuses a window under 6 segments and a segment longer than the target duration', () => {
    expect(() => appendLive(undefined, { entry: entry(0), last: false, discontinuitySequence: 0 }, { ...opts, window: 5 })).toThrow(
      'live window is 5 segments',
    );
    expect(() => appendLive(undefined, { entry: entry(0, { duration: 2.6 }), last: false, discontinuitySequence: 0 }, opts)).toThrow(
      'segment sn=0 lasts 2.6 s, which rounds above the target duration 2 s',
    );
  });
});

describe('RFC 8216 §4.3.2.7 EXT-X-DATERANGE marks plain-upscale segments', () => {
  it('marks each fallback entry over its own span and reads the mark back', () => {
    let p: RenditionPlaylist | undefined;
    const pdt = (sn: number): string => new Date(Date.UTC(2026, 0, 1) + sn * 2000).toISOString();
    for (const sn of [0, 1, 2, 3]) {
      p =
        appendLive(
          p,
          {
            entry: entry(sn, { programDateTime: pdt(sn), ...(sn === 1 || sn === 2 ? { fallback: true } : {}) }),
            last: false,
            discontinuitySequence: 0,
          },
          opts,
        ) ?? p;
    }
    const text = renderRendition(p!);
    roundTrip(text);
    expect(tags(text, '#EXT-X-DATERANGE')).toEqual([
      '#EXT-X-DATERANGE:ID="plain-upscale-1",START-DATE="2026-01-01T00:00:02.000Z",DURATION=2,CLASS="com.swiftvr.plain-upscale"',
      '#EXT-X-DATERANGE:ID="plain-upscale-2",START-DATE="2026-01-01T00:00:04.000Z",DURATION=2,CLASS="com.swiftvr.plain-upscale"',
    ]);
    expect(parseRendition(text, 'media.m3u8').entries.map((e) => e.fallback === true)).toEqual([false, true, true, false]);
  });

  it('without source PROGRAM-DATE-TIME, dates marks from first sight, each after the listed segments end', () => {
    const seen = new Date('2026-01-01T00:00:10.000Z'); // all four seen in one playlist read
    let p: RenditionPlaylist | undefined;
    for (const sn of [0, 1, 2, 3]) {
      p =
        appendLive(
          p,
          { entry: entry(sn, sn === 0 ? {} : { fallback: true }), last: false, discontinuitySequence: 0, firstSeenAt: seen },
          opts,
        ) ?? p;
    }
    expect(p!.entries.map((e) => e.programDateTime)).toEqual([
      undefined,
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:12.000Z',
      '2026-01-01T00:00:14.000Z',
    ]);
    roundTrip(renderRendition(p!));
  });

  it('marks never overlap when wall-clock date-times run a few ms short of the durations (as packagers write them)', () => {
    let p: RenditionPlaylist | undefined;
    // 1999.5, 1996, 1999, ... ms apart: each mark would overlap the next by up to 16 ms at face value.
    const gaps = [1999.5, 1996, 1999, 1984, 1998, 1997, 2000, 1990];
    let t = Date.UTC(2026, 11, 6, 12);
    for (const [sn, gap] of gaps.entries()) {
      p =
        appendLive(
          p,
          { entry: entry(sn, { programDateTime: new Date(t).toISOString(), fallback: true }), last: false, discontinuitySequence: 0 },
          opts,
        ) ?? p;
      t += gap;
    }
    const text = renderRendition(p!);
    roundTrip(text);
    const back = parseRendition(text, 'media.m3u8');
    expect(back.entries.filter((e) => e.fallback === true)).toHaveLength(6); // the window of 6
    // The marks as written read back unchanged, so the next append renders the same tags.
    expect(renderRendition(back)).toBe(text);
  });

  it('property: jittery and jumping date-times, gaps, fallbacks and windows always give a playlist that reads back', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let run = 0; run < 40; run++) {
      let p: RenditionPlaylist | undefined;
      let t = Date.UTC(2026, 11, 6) + Math.floor(rand() * 1e6);
      let sn = Math.floor(rand() * 100);
      let msn = -1;
      let dsn = -1;
      for (let i = 0; i < 30; i++) {
        const duration = 1 + Math.round(rand() * 1000) / 1000;
        const r = rand();
        const e = entry(sn, {
          duration,
          ...(rand() < 0.85 ? { programDateTime: new Date(t).toISOString() } : {}),
          ...(r < 0.4 ? { fallback: true } : r < 0.5 ? { gap: true } : {}),
          discontinuity: rand() < 0.05,
        });
        p = appendLive(p, { entry: e, last: false, discontinuitySequence: 0, firstSeenAt: new Date(t) }, opts) ?? p;
        const text = renderRendition(p!);
        const back = parseRendition(text, 'media.m3u8');
        expect(back.mediaSequence).toBeGreaterThanOrEqual(msn);
        expect(back.discontinuitySequence).toBeGreaterThanOrEqual(dsn);
        msn = back.mediaSequence;
        dsn = back.discontinuitySequence;
        expect(renderRendition(back)).toBe(text);
        // Jitter of +-20 ms around the nominal spacing, sometimes a jump (a source pause or clock step).
        t += duration * 1000 + (rand() - 0.5) * 40 + (rand() < 0.1 ? (rand() - 0.3) * 10_000 : 0);
        sn += rand() < 0.08 ? 2 : 1;
      }
    }
  });

  it('a fallback entry without any PROGRAM-DATE-TIME is refused at render', () => {
    const p: RenditionPlaylist = {
      targetDuration: 2,
      mediaSequence: 0,
      discontinuitySequence: 0,
      ended: false,
      entries: [entry(0, { fallback: true })],
    };
    expect(() => renderRendition(p)).toThrow('plain-upscale segment sn 0 has no PROGRAM-DATE-TIME');
  });
});

describe('RFC 8216 §4.3 tags, render -> parse round trip', () => {
  it('§4.3.2.6 PROGRAM-DATE-TIME, §4.3.2.3 DISCONTINUITY, §4.3.2.5 MAP and §4.3.3 header tags survive a round trip', () => {
    const p: RenditionPlaylist = {
      targetDuration: 2,
      mediaSequence: 7,
      discontinuitySequence: 3,
      ended: false,
      entries: [
        entry(7, { uri: 'seg_000007.m4s', programDateTime: '2026-01-01T00:00:14.000Z', map: 'init.mp4' }),
        entry(8, { uri: 'seg_000008.m4s', discontinuity: true, programDateTime: '2026-01-01T00:01:00.000Z', map: 'init_4.mp4' }),
      ],
    };
    const text = renderRendition(p);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXT-X-DISCONTINUITY-SEQUENCE:3',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:14.000Z',
        '#EXTINF:2,',
        'seg_000007.m4s',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-MAP:URI="init_4.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:00.000Z',
        '#EXTINF:2,',
        'seg_000008.m4s',
        '',
      ].join('\n'),
    );
    expect(parseRendition(text, 'x')).toEqual(p);
    const vod = { ...p, playlistType: 'VOD' as const, ended: true };
    expect(parseRendition(renderRendition(vod), 'x')).toEqual(vod);
  });

  it('names the playlist and the rule when reading back something that is not our output', () => {
    expect(() => parseRendition('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nother.ts\n', 'out/media.m3u8')).toThrow(
      'rendition playlist out/media.m3u8: URI other.ts is not a restored segment name seg_<sn>.<ext>',
    );
  });
});
