// Cancelling a cloud job: the segment in flight stops (nothing of it stored), queued messages are
// dropped, a VOD job publishes no playlist, a live rendition ends with EXT-X-ENDLIST; the cancel
// record and the CANCELED event say who and when; status shows it.
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelJob } from '../../src/cloud/cancel.js';
import { StoreEventSink, storedEvents } from '../../src/cloud/events.js';
import { JobLayout, type JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { formatStatus, readJobStatus } from '../../src/cloud/status.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { faultyRestorer } from '../inference/faulty-restorer.js';
import { FIXTURE_TS, makeWorker, until, uploadDir, type LogLine } from './cloud-harness.js';
import { playLive, type LiveSegment } from './live-source.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-cancel-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cancel = (store: FsObjectStore, job: string) =>
  cancelJob({
    store,
    outputPrefix: 'output',
    job,
    by: 'ops',
    reason: 'wrong source',
    events: new StoreEventSink(store, 'output', undefined, () => {}),
  });

describe('swiftvr cancel', () => {
  it('VOD: the segment in flight stops unstored, the queued one is dropped, no playlist is published', async () => {
    const store = new FsObjectStore(dir);
    await uploadDir(store, FIXTURE_TS, 'input/show');
    const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
    const logs: LogLine[] = [];
    // 300 ms a frame: a 10-frame segment runs 3 s, long enough to be stopped in the middle.
    const w = makeWorker(store, queue, logs, { workerId: 'w', open: faultyRestorer({ pushDelayMs: 300 }) });
    await w.start();
    try {
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/show/index.m3u8', live: false, shards: 1 }, 'input'));
      await until(() => logs.some((l) => l.event === 'segment-start' && l.sn === 1), 60_000, 'segment 1 started');
      const first = await cancel(store, 'show/index');
      expect(first).toMatchObject({ result: 'cancelled', record: { job: 'show/index', by: 'ops', reason: 'wrong source' } });
      expect((await cancel(store, 'show/index')).result).toBe('already');
      await until(() => queue.depth === 0, 30_000, 'queue drained');
    } finally {
      await w.stop();
    }
    expect(logs.filter((l) => l.event === 'segment-done').map((l) => l.sn)).toEqual([0]);
    const dropped = logs.filter((l) => l.event === 'message-dropped');
    expect(dropped.map((l) => l.reason)).toEqual(['job cancelled while it ran', 'job cancelled']);
    expect(logs.filter((l) => l.event === 'error')).toEqual([]);
    const layout = new JobLayout('output', 'show/index');
    for (const key of [layout.rendition, layout.multivariant, layout.segment(1, 'ts'), layout.segment(2, 'ts'), layout.metrics(1)]) {
      expect(await store.head(key), key).toBeUndefined();
    }
    const events = await storedEvents(store, layout);
    expect(events.map((e) => e.type)).toEqual(['SUBMITTED', 'PROGRESSING', 'CANCELED']);
    expect(events.at(-1)).toMatchObject({ id: 'show/index:CANCELED', code: 'canceled', by: 'ops', reason: 'wrong source' });
    const status = await readJobStatus(store, 'output', 'show/index');
    expect(status.cancelled).toMatchObject({ by: 'ops', reason: 'wrong source' });
    expect(formatStatus(status)).toMatch(/^cancelled  at \S+ by ops: wrong source \(no playlist is published\)$/m);
  });

  it('live: the rendition ends with EXT-X-ENDLIST where it stands and the follow stops', async () => {
    const store = new FsObjectStore(dir);
    const src = path.join(FIXTURE_TS, '96x64');
    const names = (await readdir(src)).filter((n) => n.endsWith('.ts')).sort();
    const one = await Promise.all(names.map(async (n) => new Uint8Array(await readFile(path.join(src, n)))));
    // Nine 1 s segments (the fixture's three, three times; the source never ends by itself in the test's time).
    const segments: LiveSegment[] = [...one, ...one, ...one].map((bytes, i) => ({
      bytes,
      duration: 1,
      discontinuity: i > 0 && i % 3 === 0,
    }));
    const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
    const logs: LogLine[] = [];
    const w = makeWorker(store, queue, logs, { workerId: 'w', liveIdleTimeoutMs: 60_000 });
    await w.start();
    const controller = new AbortController();
    try {
      const source = playLive(store, segments, {
        playlistKey: 'input/live/index.m3u8',
        window: 6,
        programDateTime: true,
        signal: controller.signal,
      });
      await until(async () => (await store.head('input/live/index.m3u8')) !== undefined, 10_000, 'source listed');
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/live/index.m3u8', live: true, shards: 1 }, 'input'));
      await until(() => logs.filter((l) => l.event === 'segment-done').length >= 2, 60_000, 'two segments restored');
      await cancel(store, 'live/index');
      await until(() => queue.depth === 0, 30_000, 'follow stopped');
      controller.abort();
      await source.done.catch(() => {});
    } finally {
      await w.stop();
    }
    const rendition = bytesToText((await store.get('output/live/index/restored/media.m3u8'))!.body);
    expect(rendition).toContain('#EXT-X-ENDLIST');
    expect(logs.find((l) => l.event === 'live-ended')).toMatchObject({ reason: 'job cancelled' });
    expect(logs.filter((l) => l.event === 'segment-done').length).toBeLessThan(segments.length);
  });
});
