// The rendition playlist model, grouped by RFC 8216 section, round-tripping render -> parse.

import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';
import { describe, expect, it } from 'vitest';
import { renderLivePlaylist, type LiveSegment } from '../../src/hls/playlist-writer.js';
import { appendLive, parsePlaylist, renderPlaylist, type RenditionEntry, type RenditionPlaylist } from '../../src/cloud/live-playlist.js';

const entry = (sn: number, o: Partial<RenditionEntry> = {}): RenditionEntry => ({ uri: `seg_${String(sn).padStart(6, '0')}.ts`, duration: 2, discontinuity: false, sourceSn: sn, ...o });
const opts = { targetDuration: 2, window: 6, version: 3 };

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
    for (let sn = 0; sn < 8; sn++) p = appendLive(p, { entry: entry(sn, { duration: 1 }), last: false, discontinuitySequence: 0 }, { ...opts, targetDuration: 10 }) ?? p;
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
    expect(() => appendLive(undefined, { entry: entry(0), last: false, discontinuitySequence: 0 }, { ...opts, window: 5 })).toThrow('live window is 5 segments');
    expect(() => appendLive(undefined, { entry: entry(0, { duration: 2.6 }), last: false, discontinuitySequence: 0 }, opts)).toThrow(
      'segment sn=0 lasts 2.6 s, which rounds above the target duration 2 s',
    );
  });
});

describe('RFC 8216 §4.3 tags, render -> parse round trip', () => {
  it('§4.3.2.6 PROGRAM-DATE-TIME, §4.3.2.3 DISCONTINUITY, §4.3.2.5 MAP and §4.3.3 header tags survive a round trip', () => {
    const p: RenditionPlaylist = {
      version: 6,
      targetDuration: 2,
      mediaSequence: 7,
      discontinuitySequence: 3,
      independentSegments: true,
      ended: false,
      entries: [
        entry(7, { uri: 'seg_000007.m4s', programDateTime: '2026-01-01T00:00:14.000Z', map: 'init.mp4' }),
        entry(8, { uri: 'seg_000008.m4s', discontinuity: true, programDateTime: '2026-01-01T00:01:00.000Z', map: 'init_4.mp4' }),
      ],
    };
    const text = renderPlaylist(p);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXT-X-DISCONTINUITY-SEQUENCE:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:14.000Z',
        '#EXTINF:2.000000,',
        'seg_000007.m4s',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-MAP:URI="init_4.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:00.000Z',
        '#EXTINF:2.000000,',
        'seg_000008.m4s',
        '',
      ].join('\n'),
    );
    expect(parsePlaylist(text, 'x')).toEqual(p);
    const vod = { ...p, playlistType: 'VOD' as const, ended: true };
    expect(parsePlaylist(renderPlaylist(vod), 'x')).toEqual(vod);
  });

  it('names the playlist and the rule when reading back something that is not our output', () => {
    expect(() => parsePlaylist('#EXTM3U\n#EXTINF:1,\nother.ts\n', 'out/media.m3u8')).toThrow(
      'rendition playlist out/media.m3u8: URI other.ts is not a restored segment name seg_<sn>.<ext>',
    );
  });
});

describe('the same live playlist as src/hls renderLivePlaylist, where that one applies', () => {
  const parse = (text: string): MediaPlaylist => HLS.parse(text) as MediaPlaylist;
  // A follow that starts mid-stream: sn 1000.., source discontinuity sequence 4, a discontinuity at 1003, PDT, fMP4.
  const T0 = Date.parse('2026-01-01T00:00:00.000Z');
  const src = Array.from({ length: 9 }, (_, i) => {
    const sn = 1000 + i;
    return { sn, discontinuity: sn === 1003, dsn: sn >= 1003 ? 5 : 4, pdt: new Date(T0 + i * 2000) };
  });
  const uri = (sn: number): string => `seg_${String(sn).padStart(6, '0')}.m4s`;

  it('numbers, windows and tags each version as the hls writer does (consecutive segments, durations = target)', () => {
    let p: RenditionPlaylist | undefined;
    for (let n = 1; n <= src.length; n++) {
      const s = src[n - 1]!;
      const e = entry(s.sn, { uri: uri(s.sn), discontinuity: s.discontinuity, programDateTime: s.pdt.toISOString(), map: s.dsn === 4 ? 'init_4.mp4' : 'init_5.mp4' });
      const last = n === src.length;
      p = appendLive(p, { entry: e, last, discontinuitySequence: s.dsn }, { ...opts, version: 6 }) ?? p;
      const ours = parse(renderPlaylist(p!));
      const hlsSegments: LiveSegment[] = src.slice(0, n).map((x) => ({
        sn: x.sn,
        uri: uri(x.sn),
        duration: 2,
        initUri: x.dsn === 4 ? 'init_4.mp4' : 'init_5.mp4',
        discontinuity: x.discontinuity,
        discontinuitySequence: x.dsn,
        programDateTime: x.pdt,
      }));
      const theirs = parse(renderLivePlaylist(hlsSegments, { targetDuration: 2, container: 'fmp4', ended: last }).text);
      const at = `after ${n} segments`;
      expect(ours.mediaSequenceBase, at).toBe(theirs.mediaSequenceBase);
      expect(ours.discontinuitySequenceBase ?? 0, at).toBe(theirs.discontinuitySequenceBase ?? 0);
      expect(ours.endlist, at).toBe(theirs.endlist);
      expect(ours.playlistType, at).toBeUndefined();
      expect(theirs.playlistType, at).toBeUndefined();
      const view = (m: MediaPlaylist): unknown[] =>
        m.segments.map((x) => [x.uri, x.duration, x.mediaSequenceNumber, x.discontinuitySequence, x.discontinuity, x.programDateTime?.toISOString(), x.map?.uri]);
      expect(view(ours), at).toEqual(view(theirs));
    }
    expect(p!.mediaSequence).toBe(1003);
  });

  it('keeps publishing across a lost segment (a gap becomes a discontinuity), which the hls writer refuses', () => {
    let p: RenditionPlaylist | undefined;
    for (const sn of [1000, 1001, 1003]) p = appendLive(p, { entry: entry(sn), last: false, discontinuitySequence: 4 }, opts) ?? p;
    expect(p!.entries.map((e) => [e.sourceSn, e.discontinuity])).toEqual([
      [1000, false],
      [1001, false],
      [1003, true],
    ]);
    const seg = (sn: number): LiveSegment => ({ sn, uri: uri(sn), duration: 2, discontinuity: false, discontinuitySequence: 4 });
    expect(() => renderLivePlaylist([seg(1000), seg(1001), seg(1003)], { targetDuration: 2, container: 'ts', ended: false })).toThrow(
      'live segments must be consecutive',
    );
  });
});
