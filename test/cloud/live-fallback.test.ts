// A live rendition never waits for the model: a segment whose restore fails, or that would be
// late, is published as a marked plain upscale, and the stream keeps pace with its source.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { formatStatus, readJobStatus } from '../../src/cloud/status.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { FALLBACK_CLASS } from '../../src/hls/rendition-playlist.js';
import type { Clock } from '../../src/util/clock.js';
import { faultyRestorer, type Faults } from '../inference/faulty-restorer.js';
import { FIXTURE_TS, makeWorker, until, type LogLine } from './cloud-harness.js';
import { playLive, type LiveSegment } from './live-source.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** `n` 1 s segments: the fixture's three, repeated, a discontinuity at each repeat. */
async function fixtureSegments(n: number): Promise<LiveSegment[]> {
  const out: LiveSegment[] = [];
  for (let sn = 0; sn < n; sn++) {
    const bytes = new Uint8Array(await readFile(path.join(FIXTURE_TS, `96x64/seg_00${sn % 3}.ts`)));
    out.push({ bytes, duration: 1, discontinuity: sn > 0 && sn % 3 === 0 });
  }
  return out;
}

async function follow(
  n: number,
  faults: Faults,
  o: { pdt: boolean; budget?: number; pace?: number; clock?: Clock },
): Promise<{ store: FsObjectStore; logs: LogLine[]; playlist: MediaPlaylist; text: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-livefb-'));
  dirs.push(dir);
  const store = new FsObjectStore(dir);
  const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
  // The first segment is listed before the job starts; with a pace the rest follow on the clock.
  const source = playLive(store, await fixtureSegments(n), {
    playlistKey: 'input/cam/index.m3u8',
    pace: o.pace ?? 0,
    ...(o.pdt ? { programDateTime: new Date('2026-01-01T00:00:00Z') } : {}),
  });
  await until(async () => (await store.head('input/cam/index.m3u8')) !== undefined, 10_000, 'source listed');
  const logs: LogLine[] = [];
  const w = makeWorker(store, queue, logs, {
    workerId: 'w',
    livePollMs: 100,
    open: faultyRestorer(faults),
    ...(o.budget === undefined ? {} : { liveLatencyBudgetSeconds: o.budget }),
    ...(o.clock === undefined ? {} : { clock: o.clock }),
  });
  await w.start();
  try {
    await submitJob(queue, jobMessageOf({ input: 's3://local/input/cam/index.m3u8', live: true, shards: 1 }, 'input'));
    await source.done;
    await until(() => queue.depth === 0, 90_000, 'follow finished');
  } finally {
    await w.stop();
  }
  expect(logs.filter((l) => l.event === 'error')).toEqual([]);
  const text = bytesToText((await store.get('output/cam/index/restored/media.m3u8'))!.body);
  return { store, logs, playlist: HLS.parse(text) as MediaPlaylist, text };
}

const marked = (p: MediaPlaylist): number[] =>
  p.segments.filter((s) => s.dateRange?.classId === FALLBACK_CLASS).map((s) => Number(/seg_(\d+)/.exec(s.uri)![1]));

describe('live fallback to the plain upscale', () => {
  it('a segment whose restore fails is published as a marked plain upscale; the next is restored on a warmed state', async () => {
    // 10 frames per segment, chunks of t_max: push 25 falls in segment 2 (frames 20..29). The worker's
    // clock stands still, so no segment can be judged late however loaded the machine is: the only
    // fallback is the failure's.
    const frozen = Date.now();
    const { store, logs, playlist, text } = await follow(5, { failPushes: [25] }, { pdt: true, budget: 30, clock: { now: () => frozen } });
    expect(playlist.segments.map((s) => s.uri)).toEqual([
      'seg_000000.ts',
      'seg_000001.ts',
      'seg_000002.ts',
      'seg_000003.ts',
      'seg_000004.ts',
    ]);
    const reasons = JSON.stringify(logs.filter((l) => l.event === 'segment-fallback').map((l) => [l.sn, l.reason]));
    expect(marked(playlist), reasons).toEqual([2]);
    expect(text).toMatch(
      /#EXT-X-DATERANGE:ID="plain-upscale-2",START-DATE="2026-01-01T00:00:02\.000Z",DURATION=1,CLASS="com\.swiftvr\.plain-upscale"/,
    );
    expect(logs.find((l) => l.event === 'segment-fallback')).toMatchObject({
      sn: 2,
      reason: 'restore failed: inference failed: out of memory (injected)',
    });
    const record = JSON.parse(bytesToText((await store.get('output/cam/index/fallbacks/000002.json'))!.body)) as { reason: string };
    expect(record.reason).toMatch(/out of memory/);
    const status = await readJobStatus(store, 'output', 'cam/index');
    expect(status.plainUpscaled).toEqual([{ sn: 2, reason: 'restore failed: inference failed: out of memory (injected)' }]);
    expect(formatStatus(status)).toContain('plain      1 of 5 segments published as plain upscales; latest sn 2: restore failed');
    const done = logs.filter((l) => l.event === 'segment-done');
    expect(done.map((l) => [l.sn, l.Fallback])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 0],
      [4, 0],
    ]);
    // No checkpoint for the plain segment: segment 3 warmed on segment 2's source.
    expect(await store.head('output/cam/index/state/000002.bin')).toBeUndefined();
    expect(logs.find((l) => l.event === 'state-warmed')).toMatchObject({ sn: 3, on: 2 });
  });

  it('a restorer slower than real time: late segments become plain upscales, the rendition keeps pace and is marked even without source PDT', async () => {
    // 10 frames per 1 s segment at 150 ms per frame: 1.5 s of restore per second of video.
    const { logs, playlist } = await follow(6, { pushDelayMs: 150 }, { pdt: false, budget: 1, pace: 1 });
    expect(playlist.segments).toHaveLength(6);
    const done = logs.filter((l) => l.event === 'segment-done');
    const plain = done.filter((l) => l.Fallback === 1).map((l) => l.sn);
    expect(plain.length).toBeGreaterThanOrEqual(3);
    expect(marked(playlist)).toEqual(plain);
    for (const l of logs.filter((x) => x.event === 'segment-fallback')) expect(l.reason).toMatch(/deadline/);
    // Every plain segment was listed within its 1 s budget plus the plain upscale's own time (and a
    // margin for the publish: the playlist and multivariant writes).
    const plainSeconds = new Map(logs.filter((x) => x.event === 'segment-fallback').map((x) => [x.sn, x.plainSeconds as number]));
    for (const l of done.filter((x) => x.Fallback === 1)) {
      expect(l.LagSeconds as number, `sn ${String(l.sn)}`).toBeLessThan(1 + plainSeconds.get(l.sn)! + 0.5);
    }
  });
});
