// Job events through the cloud worker: SUBMITTED, one PROGRESSING per segment, one COMPLETE, each
// kept in the job's folder and sent on once; a redelivered job sends nothing again; a poison segment
// is the job's ERROR.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedEvents } from '../../src/cloud/events.js';
import { JobLayout, type JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { jobEventSchema, type EventSink, type JobEvent } from '../../src/events/job-events.js';
import type { QualityReport } from '../../src/report/quality-report.js';
import { FIXTURE_TS, makeWorker, until, uploadDir, type LogLine } from './cloud-harness.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-events-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A sink that records what it is given (the EventBridge stand-in), checking each against the schema. */
function capture(): EventSink & { sent: JobEvent[] } {
  const sent: JobEvent[] = [];
  return { sent, publish: async (e) => void sent.push(jobEventSchema.parse(e)) };
}

async function runJob(store: FsObjectStore, sink: EventSink, name: string, logs: LogLine[], times = 1): Promise<void> {
  const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
  const w = makeWorker(store, queue, logs, { workerId: 'w', events: sink });
  await w.start();
  try {
    for (let i = 0; i < times; i++) {
      await submitJob(queue, jobMessageOf({ input: `s3://local/input/${name}/index.m3u8`, live: false, shards: 1 }, 'input'));
      await until(() => queue.depth === 0, 60_000, 'job done');
    }
  } finally {
    await w.stop();
  }
}

describe('job events from the cloud worker', () => {
  it('sends SUBMITTED, PROGRESSING at each segment and one COMPLETE, keeps them in the store, and sends nothing again on redelivery', async () => {
    const store = new FsObjectStore(dir);
    await uploadDir(store, FIXTURE_TS, 'input/show');
    const sink = capture();
    const logs: LogLine[] = [];
    await runJob(store, sink, 'show', logs);
    expect(logs.filter((l) => l.event === 'error' || l.event === 'job-event-failed')).toEqual([]);
    const job = 'show/index';
    expect(sink.sent.map((e) => e.type)).toEqual(['SUBMITTED', 'PROGRESSING', 'PROGRESSING', 'PROGRESSING', 'COMPLETE']);
    expect(sink.sent.every((e) => e.job === job)).toBe(true);
    const [submitted, ...rest] = sink.sent;
    expect(submitted).toMatchObject({ id: `${job}:SUBMITTED`, mode: 'vod', segments: 3, input: 'input/show/index.m3u8' });
    const progress = rest.filter((e) => e.type === 'PROGRESSING');
    expect(progress.map((e) => [e.id, e.segmentsDone, e.segmentsTotal, e.percent, e.framesDone])).toEqual([
      [`${job}:PROGRESSING:0`, 1, 3, 33.3, 10],
      [`${job}:PROGRESSING:1`, 2, 3, 66.7, 20],
      [`${job}:PROGRESSING:2`, 3, 3, 100, 30],
    ]);
    expect(progress.map((e) => e.segment?.sn)).toEqual([0, 1, 2]);
    expect(progress.at(-1)!.secondsLeft).toBe(0);
    const complete = rest.at(-1)!;
    expect(complete).toMatchObject({ id: `${job}:COMPLETE`, segments: 3, frames: 30, figures: { fallbacks: 0 } });
    expect(complete.type === 'COMPLETE' && complete.outputs).toEqual({
      multivariant: 'output/show/index/index.m3u8',
      rendition: 'output/show/index/restored/media.m3u8',
      report: 'output/show/index/report.json',
    });
    // The quality report, beside the multivariant: a row per segment with its fidelity to the source.
    const report = JSON.parse(bytesToText((await store.get('output/show/index/report.json'))!.body)) as QualityReport;
    expect(report.segments.map((s) => [s.sn, s.start, s.frames, s.fallback])).toEqual([
      [0, 0, 10, false],
      [1, 1, 10, false],
      [2, 2, 10, false],
    ]);
    expect(report.segments.every((s) => (s.fidelityPsnrY ?? 0) > 0)).toBe(true);
    expect(report.summary).toMatchObject({ segments: 3, frames: 30, restored: 3, fallbacks: 0 });
    expect(bytesToText((await store.get('output/show/index/report.csv'))!.body).split('\r\n')).toHaveLength(6);
    // The store holds the same events (what status and jobs read).
    expect(await storedEvents(store, new JobLayout('output', job))).toEqual(
      [...sink.sent].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id)),
    );

    // The same job again (a redelivered submit: every segment is skipped): no event is sent again.
    await runJob(store, sink, 'show', logs);
    expect(sink.sent).toHaveLength(5);
    expect(logs.filter((l) => l.event === 'segment-skipped').length).toBe(3);
  });

  it('a segment with no attempt left is the job ERROR, sent once, naming the segment', async () => {
    const store = new FsObjectStore(dir);
    await uploadDir(store, FIXTURE_TS, 'input/poison');
    await store.put('input/poison/96x64/seg_001.ts', new Uint8Array(4096).fill(0x47));
    const sink = capture();
    const logs: LogLine[] = [];
    await runJob(store, sink, 'poison', logs);
    const errors = sink.sent.filter((e) => e.type === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ id: 'poison/index:ERROR', code: 'bad-input', sn: 1 });
    expect(errors[0]!.type === 'ERROR' && errors[0]!.reason).toMatch(/seg_001\.ts/);
    expect(sink.sent.some((e) => e.type === 'COMPLETE')).toBe(false);
  });
});
