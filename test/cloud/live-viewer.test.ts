/// <reference lib="dom" />
// What a live viewer sees: hls.js in Chromium plays the restored rendition of a live stream while
// the worker behind it is slower than real time and one segment's restore fails. The rendition
// mixes restored and plain-upscale segments; playback must advance through all of them without
// a stall or an error.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { FALLBACK_CLASS } from '../../src/hls/rendition-playlist.js';
import { launchChromium, skipWithoutChromium } from '../browser.js';
import { startLoopbackServer, type LoopbackServer } from '../hls/loopback-server.js';
import { faultyRestorer } from '../inference/faulty-restorer.js';
import { FIXTURE_TS, makeWorker, until, type LogLine } from './cloud-harness.js';
import { playLive, type LiveSegment } from './live-source.js';

const HLS_JS = fileURLToPath(new URL('../../node_modules/hls.js/dist/hls.min.js', import.meta.url));
const RENDITION = 'output/cam/index/restored/media.m3u8';
const SEGMENTS = 12;

// A player holding back the latency budget plus one target duration (4 s here): a live rendition
// may list a segment up to the budget after its source did, so a player closer to the edge than
// that can wait there after a slow stretch (docs/deploy.md). A stall is a 'waiting' event or
// hls.js's bufferStalledError once playback has started.
const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script><script>
const video = document.getElementById('v');
const state = { frags: [], errors: [], stalls: [], playing: false, ended: false, time: 0, dateRanges: 0 };
window.state = state;
const hls = new Hls({ liveSyncDurationCount: 4 });
hls.on(Hls.Events.ERROR, (_, d) => {
  if (d.details === 'bufferStalledError') { if (state.playing) state.stalls.push('bufferStalledError@' + video.currentTime.toFixed(2)); return; }
  state.errors.push(d.type + ':' + d.details + (d.fatal ? ':fatal' : ''));
});
hls.on(Hls.Events.FRAG_BUFFERED, (_, d) => state.frags.push(d.frag.sn));
hls.on(Hls.Events.LEVEL_UPDATED, (_, d) => { state.dateRanges = Object.keys(d.details.dateRanges || {}).length; });
video.addEventListener('playing', () => { state.playing = true; });
video.addEventListener('waiting', () => { if (state.playing && !video.ended) state.stalls.push('waiting@' + video.currentTime.toFixed(2)); });
video.addEventListener('timeupdate', () => { state.time = video.currentTime; });
video.addEventListener('ended', () => { state.ended = true; });
hls.loadSource('/${RENDITION}');
hls.attachMedia(video);
video.play().catch((e) => state.errors.push('play:' + e.message));
</script></body></html>`;

interface PageState {
  frags: number[];
  errors: string[];
  stalls: string[];
  playing: boolean;
  ended: boolean;
  time: number;
  dateRanges: number;
}

describe.skipIf(skipWithoutChromium)('a live viewer of the restored rendition', () => {
  let dir: string;
  let server: LoopbackServer | undefined;
  let browser: Browser | undefined;
  let state: PageState;
  let logs: LogLine[];
  let text: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-liveview-'));
    const store = new FsObjectStore(dir);
    const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
    logs = [];
    // 1 s segments of 10 frames. Push 15 (frame 5 of segment 1) fails as a model error would;
    // from push 40 on (segment 3 or so) the worker is throttled to 250 ms a frame, 2.5x slower
    // than real time, so segments go late until the throttle lifts at push 80. The 3 s budget leaves
    // room for segment 1's restore to be tried even when the machine is busy (a restore of such a
    // short segment takes about 1 s, most of it process start-up), so the injected failure is reached.
    const worker = makeWorker(store, queue, logs, {
      workerId: 'viewer',
      livePollMs: 100,
      liveLatencyBudgetSeconds: 3,
      open: faultyRestorer({ failPushes: [15], pushDelayMs: (push) => (push >= 40 && push < 80 ? 250 : 20) }),
    });
    const segments: LiveSegment[] = [];
    for (let sn = 0; sn < SEGMENTS; sn++) {
      segments.push({
        bytes: new Uint8Array(await readFile(path.join(FIXTURE_TS, `96x64/seg_00${sn % 3}.ts`))),
        duration: 1,
        discontinuity: sn > 0 && sn % 3 === 0,
      });
    }
    await worker.start();
    try {
      const source = playLive(store, segments, { playlistKey: 'input/cam/index.m3u8', window: 6, programDateTime: true });
      await until(async () => (await store.head('input/cam/index.m3u8')) !== undefined, 10_000, 'source listed');
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/cam/index.m3u8', live: true, shards: 1 }, 'input'));
      // The viewer arrives once the rendition holds the hold-back's worth of segments.
      await until(
        async () => (bytesToText((await store.get(RENDITION))?.body ?? new Uint8Array()).match(/^seg_/gm) ?? []).length >= 4,
        60_000,
        'rendition started',
      );
      await writeFile(path.join(dir, 'index.html'), PAGE);
      await copyFile(HLS_JS, path.join(dir, 'hls.min.js'));
      server = await startLoopbackServer(dir);
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${server.origin}/index.html`);
      await source.done;
      await page.waitForFunction(
        () => {
          const s = (window as unknown as { state: PageState }).state;
          return s.ended || s.errors.some((e) => e.endsWith(':fatal'));
        },
        undefined,
        { timeout: 60_000 },
      );
      state = await page.evaluate(() => (window as unknown as { state: PageState }).state);
      text = bytesToText((await store.get(RENDITION))!.body);
    } finally {
      await worker.stop();
    }
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the rendition mixes restored segments with marked plain upscales: one for the failed restore, others for lateness', () => {
    expect(logs.filter((l) => l.event === 'error')).toEqual([]);
    const done = logs.filter((l) => l.event === 'segment-done');
    expect(done.map((l) => l.sn)).toEqual([...Array(SEGMENTS).keys()]);
    const reasons = logs.filter((l) => l.event === 'segment-fallback').map((l) => String(l.reason));
    expect(reasons.filter((r) => r.startsWith('restore failed'))).toHaveLength(1);
    expect(reasons.some((r) => /deadline/.test(r))).toBe(true);
    expect(done.some((l) => l.Fallback === 0)).toBe(true);
    expect(text).toContain(`CLASS="${FALLBACK_CLASS}"`);
  });

  it('hls.js plays through to the end without a stall or an error', () => {
    expect(state.errors).toEqual([]);
    expect(state.stalls).toEqual([]);
    expect(state.ended).toBe(true);
    // It joined behind the edge and buffered every segment from there to the end.
    const first = Math.min(...state.frags);
    expect(first).toBeLessThanOrEqual(3);
    expect(new Set(state.frags)).toEqual(new Set([...Array(SEGMENTS - first).keys()].map((i) => i + first)));
    expect(state.time).toBeGreaterThan(SEGMENTS - first - 1);
    expect(state.dateRanges).toBeGreaterThan(0);
  });
});
