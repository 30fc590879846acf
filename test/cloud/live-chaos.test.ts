/// <reference lib="dom" />
// A live source that does what real packagers and networks do, followed by a worker slower than
// real time for a stretch, watched by hls.js in Chromium at the live edge: wall-clock
// PROGRAM-DATE-TIME a few ms short of the durations, a sliding window whose old files are deleted,
// a corrupt segment, a segment listed but gone before it was read, a discontinuity with a
// timestamp jump and a source pause longer than a segment. The rendition runs to EXT-X-ENDLIST
// with every good segment published once, in order, within the latency budget plus one target
// duration; the two bad ones are EXT-X-GAP entries with error records; the player keeps playing.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import type { SegmentMetrics } from '../../src/cloud/metrics.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { readJobStatus, type JobStatus } from '../../src/cloud/status.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { parseRendition } from '../../src/hls/rendition-playlist.js';
import { launchChromium, skipWithoutChromium } from '../browser.js';
import { startLoopbackServer, type LoopbackServer } from '../hls/loopback-server.js';
import { faultyRestorer } from '../inference/faulty-restorer.js';
import { makeWorker, until, type LogLine } from './cloud-harness.js';
import { playLive, type LiveSegment } from './live-source.js';

const run = promisify(execFile);
const HLS_JS = fileURLToPath(new URL('../../node_modules/hls.js/dist/hls.min.js', import.meta.url));
const RENDITION = 'output/chaos/index/restored/media.m3u8';
const SEGMENTS = 14;
const CORRUPT = 4;
const MISSING = 6;
const JUMP = 8; // discontinuity: timestamps jump by 1000 s
const PAUSE = { sn: 10, ms: 2500 };
const BUDGET = 3;
const TARGET = 1;

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script><script>
const video = document.getElementById('v');
const state = { frags: [], errors: [], stalls: [], playing: false, ended: false, time: 0, gaps: 0 };
window.state = state;
const hls = new Hls({ liveSyncDurationCount: 3 });
hls.on(Hls.Events.ERROR, (_, d) => {
  if (d.details === 'bufferStalledError') { if (state.playing) state.stalls.push('bufferStalledError@' + video.currentTime.toFixed(2)); return; }
  state.errors.push(d.type + ':' + d.details + (d.fatal ? ':fatal' : ''));
});
hls.on(Hls.Events.FRAG_BUFFERED, (_, d) => state.frags.push(d.frag.sn));
hls.on(Hls.Events.LEVEL_UPDATED, (_, d) => { state.gaps = Math.max(state.gaps, d.details.fragments.filter((f) => f.gap).length); });
video.addEventListener('playing', () => { state.playing = true; });
const ranges = () => Array.from({ length: video.buffered.length }, (_, i) => video.buffered.start(i).toFixed(2) + '-' + video.buffered.end(i).toFixed(2)).join(' ');
video.addEventListener('waiting', () => { if (state.playing && !video.ended) state.stalls.push('waiting@' + video.currentTime.toFixed(2) + ' [' + ranges() + ']'); });
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
  gaps: number;
}

/** 1 s MPEG-TS segments of a 96x64 10 fps clip, timestamps continuous from `offset` seconds. */
async function cut(dir: string, seconds: number, offset: number): Promise<Uint8Array[]> {
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=96x64:rate=10',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '10',
    '-keyint_min',
    '10',
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-output_ts_offset',
    String(offset),
    '-f',
    'hls',
    '-hls_time',
    '1',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(dir, 'seg_%03d.ts'),
    path.join(dir, 'index.m3u8'),
  ]);
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ts')).sort();
  return Promise.all(names.map(async (n) => new Uint8Array(await readFile(path.join(dir, n)))));
}

describe.skipIf(skipWithoutChromium)('a live source with real faults', () => {
  let dir: string;
  let server: LoopbackServer | undefined;
  let browser: Browser | undefined;
  let state: PageState;
  let logs: LogLine[];
  let metrics: SegmentMetrics[];
  let status: JobStatus;
  let versions: string[];
  let listedAt: Map<number, number>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-chaos-'));
    const a = await mkdtemp(path.join(tmpdir(), 'swiftvr-chaos-a-'));
    const b = await mkdtemp(path.join(tmpdir(), 'swiftvr-chaos-b-'));
    const bytes = [...(await cut(a, JUMP, 10)), ...(await cut(b, SEGMENTS - JUMP, 1010))];
    await rm(a, { recursive: true });
    await rm(b, { recursive: true });
    expect(bytes).toHaveLength(SEGMENTS);
    const segments: LiveSegment[] = bytes.map((x, sn) => ({ bytes: x, duration: 1, discontinuity: sn === JUMP }));
    const store = new FsObjectStore(dir);
    const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
    logs = [];
    // Slower than real time (150 ms a frame: 1.5x) for pushes 50-90, around segments 5-8.
    const worker = makeWorker(store, queue, logs, {
      workerId: 'chaos',
      livePollMs: 100,
      liveLatencyBudgetSeconds: BUDGET,
      liveIdleTimeoutMs: 8000,
      open: faultyRestorer({ pushDelayMs: (push) => (push >= 50 && push < 90 ? 150 : 0) }),
    });
    versions = [];
    await worker.start();
    try {
      const source = playLive(store, segments, {
        playlistKey: 'input/chaos/index.m3u8',
        window: 5,
        programDateTime: true,
        pdtJitterMs: 16,
        corrupt: [CORRUPT],
        missing: [MISSING],
        pauseAfter: PAUSE,
        deleteOld: true,
      });
      listedAt = source.listedAt;
      await until(async () => (await store.head('input/chaos/index.m3u8')) !== undefined, 10_000, 'source listed');
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/chaos/index.m3u8', live: true, shards: 1 }, 'input'));
      // Every version of the rendition a player could fetch, read back as `swiftvr status` reads it.
      const watch = (async () => {
        let last = '';
        while (!last.includes('#EXT-X-ENDLIST')) {
          const got = await store.get(RENDITION);
          const text = got === undefined ? '' : bytesToText(got.body);
          if (text !== last && text !== '') versions.push(text);
          last = text;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
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
      await until(() => queue.depth === 0, 60_000, 'live job done');
      await watch;
      await page.waitForFunction(
        () => {
          const s = (window as unknown as { state: PageState }).state;
          return s.ended || s.errors.some((e) => e.endsWith(':fatal'));
        },
        undefined,
        { timeout: 60_000 },
      );
      state = await page.evaluate(() => (window as unknown as { state: PageState }).state);
      const keys = (await store.list('output/chaos/index/segments/')).map((o) => o.key);
      metrics = await Promise.all(keys.map(async (k) => JSON.parse(bytesToText((await store.get(k))!.body)) as SegmentMetrics));
      status = await readJobStatus(store, 'output', 'chaos/index');
    } finally {
      await worker.stop();
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs to EXT-X-ENDLIST: every good segment once and in order, the corrupt and the missing one as gaps with error records', () => {
    const published = logs.filter((l) => l.event === 'segment-done' || l.event === 'segment-gap').map((l) => l.sn);
    expect(published).toEqual([...Array(SEGMENTS).keys()]);
    // A failure prints each gap's and error's reason.
    const why = JSON.stringify(logs.filter((l) => l.event === 'segment-gap' || l.event === 'error' || l.event === 'segment-retry'));
    expect(
      logs.filter((l) => l.event === 'segment-gap').map((l) => l.sn),
      why,
    ).toEqual([CORRUPT, MISSING]);
    expect(logs.filter((l) => l.event === 'error').map((l) => l.sn)).toEqual([CORRUPT, MISSING]);
    const last = parseRendition(versions.at(-1)!, RENDITION);
    expect(last.ended).toBe(true);
    expect(status.gaps).toEqual([CORRUPT, MISSING]);
    expect(status.deadLettered).toEqual([]);
    expect(status.stopped).toBeUndefined();
    expect(status.renditionProblem).toBeUndefined();
  });

  it('every version of the rendition reads back; sequence numbers only go forward; gaps and the discontinuity are listed', () => {
    let msn = -1;
    let dsn = -1;
    let sawGap = 0;
    for (const text of versions) {
      const p = parseRendition(text, RENDITION);
      expect(p.mediaSequence).toBeGreaterThanOrEqual(msn);
      expect(p.discontinuitySequence).toBeGreaterThanOrEqual(dsn);
      msn = p.mediaSequence;
      dsn = p.discontinuitySequence;
      sawGap = Math.max(sawGap, p.entries.filter((e) => e.gap === true).length);
      expect(p.entries.every((e) => Math.round(e.duration) <= p.targetDuration)).toBe(true);
    }
    expect(sawGap).toBeGreaterThan(0);
    expect(versions.some((t) => parseRendition(t, RENDITION).entries.some((e) => e.sourceSn === JUMP && e.discontinuity))).toBe(true);
  });

  it('each published segment is listed within the latency budget plus one target duration of its source listing', () => {
    expect(metrics).toHaveLength(SEGMENTS - 2);
    const lag = (m: SegmentMetrics): number => (Date.parse(m.at) - listedAt.get(m.sn)!) / 1000;
    const late = metrics.filter((m) => lag(m) > BUDGET + TARGET).map((m) => `sn ${m.sn}: ${lag(m).toFixed(2)} s`);
    expect(late).toEqual([]);
  });

  it('hls.js keeps playing through the gaps, the jump and the pause to the end, with no error', () => {
    expect(state.errors.filter((e) => e.endsWith(':fatal'))).toEqual([]);
    expect(state.ended).toBe(true);
    expect(state.gaps).toBeGreaterThan(0);
    expect(state.time).toBeGreaterThan(5);
    // It joined near the live edge (where depends on how fast Chromium started), before the missing
    // segment, so it played through a gap, the jump and the pause; and it buffered every later
    // fragment but the gaps.
    const first = Math.min(...state.frags);
    expect(first).toBeLessThan(MISSING);
    const expected = [...Array(SEGMENTS).keys()].filter((sn) => sn >= first && sn !== CORRUPT && sn !== MISSING);
    expect([...new Set(state.frags)].sort((x, y) => x - y)).toEqual(expected);
    console.log(`live chaos viewer: stalls ${JSON.stringify(state.stalls)}, non-fatal errors ${JSON.stringify(state.errors)}`);
  });
});
