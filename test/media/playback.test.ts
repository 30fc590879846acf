/// <reference lib="dom" />
// What a viewer's player does with the restored segments: hls.js in Chromium plays a
// multivariant stream of the source and the restored rendition, switches from one to the other
// mid-play, and places every segment of both at the same time (video and audio).
import { codecsAttribute } from '../../src/types.js';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeFrames } from '../../src/media/decoder.js';
import { createSegmentEncoder } from '../../src/media/encoder.js';
import type { EncodedSegment } from '../../src/media/encoder.js';
import { probeSegment } from '../../src/media/probe.js';
import { startLoopbackServer } from '../hls/loopback-server.js';
import type { LoopbackServer } from '../hls/loopback-server.js';
import { makeHls, removeTempDirs, tempDir, upscale2x } from './media-fixtures.js';
import { launchChromium, skipWithoutChromium } from '../browser.js';

afterAll(removeTempDirs);

const HLS_JS = fileURLToPath(new URL('../../node_modules/hls.js/dist/hls.min.js', import.meta.url));

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="hls.min.js"></script><script>
const video = document.getElementById('v');
const state = { frags: [], errors: [], switchedAt: null, tracks: [], startGapSeek: false };
window.state = state;
const hls = new Hls({ startLevel: 1, capLevelToPlayerSize: false, abrEwmaDefaultEstimate: 1e8 });
hls.on(Hls.Events.ERROR, (_, d) => {
  // The source's video starts a frame after its audio (AAC priming); when playback starts at 0,
  // hls.js may seek over that gap. It belongs to the source, which the rendition reproduces exactly.
  if (d.details === 'bufferSeekOverHole' && /seeking from 0 to/.test(d.reason || '')) { state.startGapSeek = true; return; }
  state.errors.push(d.type + ':' + d.details + (d.fatal ? ':fatal' : ''));
});
hls.on(Hls.Events.BUFFER_CREATED, (_, d) => state.tracks.push(...Object.keys(d.tracks)));
hls.on(Hls.Events.FRAG_BUFFERED, (_, d) => {
  const f = d.frag, es = f.elementaryStreams;
  const span = (e) => e ? [e.startPTS, e.endPTS] : undefined;
  state.frags.push({ level: f.level, sn: f.sn, v: span(es.video), a: span(es.audio), av: span(es.audiovideo) });
});
video.addEventListener('timeupdate', () => {
  if (state.switchedAt === null && video.currentTime > 0.5) { state.switchedAt = video.currentTime; hls.currentLevel = 0; }
  state.time = video.currentTime; state.size = [video.videoWidth, video.videoHeight];
});
hls.loadSource('index.m3u8');
hls.attachMedia(video);
video.play().catch((e) => state.errors.push('play:' + e.message));
</script></body></html>`;

interface FragTiming {
  level: number;
  sn: number;
  v?: [number, number];
  a?: [number, number];
  /** fMP4 with both tracks in one SourceBuffer: hls.js times them together. */
  av?: [number, number];
}

interface PageState {
  frags: FragTiming[];
  errors: string[];
  /** hls.js sought over the gap before the first video frame at start-up. */
  startGapSeek: boolean;
  switchedAt: number | null;
  time?: number;
  size?: [number, number];
  tracks: string[];
}

describe.skipIf(skipWithoutChromium).each(['ts', 'fmp4'] as const)('%s restored rendition in hls.js', (container) => {
  let dir: string;
  let server: LoopbackServer;
  let browser: Browser;
  let state: PageState;

  beforeAll(async () => {
    dir = await tempDir(`play-${container}`);
    const fixture = await makeHls(dir, container, { seconds: 3 });
    const ext = container === 'ts' ? 'ts' : 'm4s';
    const encoded: EncodedSegment[] = [];
    for (const [i, src] of fixture.segments.entries()) {
      const info = await probeSegment(src, container);
      const enc = createSegmentEncoder({
        sourcePath: src,
        info,
        width: 320,
        height: 240,
        container,
        encoder: 'libx264',
        sequenceNumber: i + 1,
        outPath: path.join(dir, `r-${i}.${ext}`),
        initOutPath: path.join(dir, 'r-init.mp4'),
      });
      for await (const frame of decodeFrames(src, info)) await enc.write(upscale2x(frame));
      encoded.push(await enc.finish());
    }
    // The restored media playlist is the source's with the restored names.
    const source = await readFile(fixture.playlist, 'utf8');
    await writeFile(
      path.join(dir, 'restored.m3u8'),
      source.replace(`${container}-init.mp4`, 'r-init.mp4').replace(new RegExp(`${container}-(\\d+)\\.${ext}`, 'g'), `r-$1.${ext}`),
    );
    const codecs = (i: number): string => codecsAttribute(encoded[i]!.codecs);
    await writeFile(
      path.join(dir, 'index.m3u8'),
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        `#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=160x120,CODECS="avc1.64000c,mp4a.40.2"`,
        path.basename(fixture.playlist),
        `#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=320x240,CODECS="${codecs(0)}"`,
        'restored.m3u8',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(dir, 'index.html'), PAGE);
    await copyFile(HLS_JS, path.join(dir, 'hls.min.js'));
    server = await startLoopbackServer(dir);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${server.origin}/index.html`);
    // Both renditions buffered for every segment, and playback went on after the switch.
    await page.waitForFunction(
      () => {
        const s = (window as unknown as { state: PageState }).state;
        const levels = new Set(s.frags.map((f) => `${f.level}:${f.sn}`));
        return (
          s.errors.some((e) => e.endsWith(':fatal')) || (levels.size >= 5 && s.switchedAt !== null && (s.time ?? 0) > s.switchedAt + 0.8)
        );
      },
      undefined,
      { timeout: 60_000 },
    );
    state = await page.evaluate(() => (window as unknown as { state: PageState }).state);
    if (process.env.DEBUG_PLAYBACK) console.log(JSON.stringify(state.frags));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('plays the restored rendition, then the source after a switch, without errors', () => {
    expect(state.errors).toEqual([]);
    if (state.startGapSeek) {
      // Only a gap the source has too: its first video frame comes after time 0.
      const first = state.frags.find((f) => f.level === 0 && f.sn === 0);
      expect((first?.v ?? first?.av)?.[0] ?? 0).toBeGreaterThan(0);
    }
    expect(state.frags.filter((f) => f.level === 1).length).toBeGreaterThan(0);
    expect(state.frags.filter((f) => f.level === 0).length).toBeGreaterThan(0);
    expect(state.size).toEqual([160, 120]);
    // MPEG-TS is remuxed into separate audio and video buffers; fMP4 goes in as one audio+video buffer.
    expect(state.tracks.sort()).toEqual(container === 'ts' ? ['audio', 'video'] : ['audiovideo']);
  });

  it("places each restored segment's video and audio where the source's are", () => {
    let compared = 0;
    for (const restored of state.frags.filter((f) => f.level === 1)) {
      const source = state.frags.find((f) => f.level === 0 && f.sn === restored.sn);
      if (source === undefined) continue;
      compared++;
      const kinds = container === 'ts' ? (['v', 'a'] as const) : (['av'] as const);
      for (const kind of kinds) {
        for (const k of [0, 1] as const) {
          expect(Math.abs(restored[kind]![k] - source[kind]![k]), `sn ${restored.sn} ${kind}`).toBeLessThan(0.001);
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(2);
  });
});
