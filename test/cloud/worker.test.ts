// Cloud workers against S3 and SQS FIFO served by moto on loopback: per-stream order with two
// workers, a worker SIGKILLed mid-segment, a duplicate message, a poison segment, refused playlists.

import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupOf, JobLayout, parseJobRecord, STATE_TAG, type JobMessage, type SegmentMessage } from '../../src/cloud/jobs.js';
import { jobTotals } from '../../src/cloud/progress.js';
import type { QualityReport } from '../../src/report/quality-report.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import type { S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { SqsQueue } from '../../src/cloud/queue/sqs-queue.js';
import { readJobStatus } from '../../src/cloud/status.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import type { Worker } from '../../src/cloud/worker/worker.js';
import {
  FIXTURE_MODEL,
  FIXTURE_TS,
  makeWorker,
  REPO,
  snapshot,
  STATEFUL_TOY_MODEL,
  until,
  uploadDir,
  type LogLine,
} from './cloud-harness.js';
import { startMotoWithBucket, type Moto } from './moto-server.js';
import { createFifoQueues, queueBacklog, readDlq } from './sqs-setup.js';

const run = promisify(execFile);
let moto: Moto;
let store: S3ObjectStore;
let sqs: SQSClient;
let queueCount = 0;
const BUCKET = 'media';

beforeAll(async () => {
  ({ moto, store, sqs } = await startMotoWithBucket(BUCKET));
  for (const name of ['a', 'b', 'term', 'dup', 'good', 'resume']) await uploadDir(store, FIXTURE_TS, `input/${name}`);
  // Segments of 2 frames (less than one model chunk) restored with a model whose output depends
  // on the carried state: a resume from the wrong state changes the segments and the checkpoints.
  const short = await mkdtemp(path.join(tmpdir(), 'swiftvr-short-'));
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=96x64:rate=10',
    '-t',
    '1.2',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '2',
    '-keyint_min',
    '2',
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-x264-params',
    'repeat-headers=1',
    '-f',
    'hls',
    '-hls_time',
    '0.2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(short, 'seg_%03d.ts'),
    path.join(short, 'index.m3u8'),
  ]);
  for (const name of ['short-ref', 'short-kill']) await uploadDir(store, short, `input/${name}`);
  await rm(short, { recursive: true, force: true });
  await uploadDir(store, FIXTURE_TS, 'input/poison');
  // A segment no decoder accepts: every attempt fails.
  await store.put('input/poison/96x64/seg_001.ts', new Uint8Array(4096).fill(0x47));
});

afterAll(async () => {
  await moto?.stop();
});

async function newQueue(maxReceives = 3, visibility = 3): Promise<{ queue: SqsQueue<JobMessage>; queueUrl: string; dlqUrl: string }> {
  const { queueUrl, dlqUrl } = await createFifoQueues(sqs, `work${queueCount++}`, maxReceives, visibility);
  return { queue: new SqsQueue<JobMessage>({ client: sqs, queueUrl }), queueUrl, dlqUrl };
}

const submit = (queue: SqsQueue<JobMessage>, name: string, shards = 1): Promise<void> =>
  submitJob(queue, jobMessageOf({ input: `s3://${BUCKET}/input/${name}/index.m3u8`, live: false, shards }, 'input'));

const outPrefix = (name: string): string => `${new JobLayout('output', `${name}/index`).root}/`;
/** Published bytes of a job: segments, playlists and checkpoints (not metrics: they hold timings). */
const published = (name: string): Promise<Map<string, Buffer>> =>
  snapshot(store, outPrefix(name), (k) => /^(restored\/|index\.m3u8$|state\/)/.test(k));
/** Byte equality; playlists may differ only in the source folder name they point to. */
function same(key: string, got: Buffer | undefined, ref: Buffer, refName: string, gotName: string): boolean {
  if (got === undefined) return false;
  if (!key.endsWith('.m3u8')) return got.equals(ref);
  return bytesToText(got) === bytesToText(ref).replaceAll(`/input/${refName}/`, `/input/${gotName}/`);
}
/**
 * `swiftvr worker` as its own process on the queue (so a test can kill it); every JSON log line is
 * collected and handed to `onLog`, which may signal the child.
 */
function spawnWorkerProcess(
  queueUrl: string,
  model: string,
  workerId: string,
  onLog: (line: LogLine, child: ChildProcessByStdio<null, Readable, Readable>) => void,
  /** 'fast': 3 s visibility, 1 s heartbeat and poll; 'default': the worker's own defaults. */
  timing: 'fast' | 'default' = 'fast',
): {
  logs: LogLine[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
} {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'worker',
      '--queue-url',
      queueUrl,
      '--bucket',
      BUCKET,
      '--endpoint',
      moto.endpoint,
      '--source-prefix',
      'input',
      '--output-prefix',
      'output',
      '--model',
      model,
      '--ep',
      'cpu',
      '--threads',
      '1',
      '--encoder',
      'libx264',
      '--instance-type',
      'g5.xlarge',
      ...(timing === 'fast' ? ['--visibility-timeout', '3', '--heartbeat', '1', '--wait-time', '1'] : []),
      '--worker-id',
      workerId,
    ],
    { cwd: REPO, env: { ...process.env, ...moto.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    // Stamped on arrival: when the parent saw it.
    const l = { t: Date.now(), ...(JSON.parse(line) as LogLine) };
    logs.push(l);
    onLog(l, child);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { logs, stderr: () => stderr, exited, stop };
}
const events = (logs: LogLine[], event: string, job: string): LogLine[] =>
  logs.filter((l) => l.event === event && (l.Stream ?? l.job) === job);

describe('cloud workers on S3 + SQS FIFO (moto)', () => {
  const logs: LogLine[] = [];

  it('two workers restore two streams at once, each stream strictly in order', async () => {
    const { queue } = await newQueue();
    const workers: Worker[] = [makeWorker(store, queue, logs, { workerId: 'w1' }), makeWorker(store, queue, logs, { workerId: 'w2' })];
    await Promise.all(workers.map((w) => w.start()));
    await submit(queue, 'a');
    await submit(queue, 'b');
    await until(
      async () =>
        (await store.head(`${outPrefix('a')}index.m3u8`)) !== undefined && (await store.head(`${outPrefix('b')}index.m3u8`)) !== undefined,
      90_000,
      'both streams published',
    );
    await Promise.all(workers.map((w) => w.stop()));

    for (const job of ['a/index', 'b/index']) {
      const done = events(logs, 'segment-done', job);
      expect(done.map((l) => l.sn)).toEqual([0, 1, 2]);
      // Segment n starts only after segment n-1 of the same stream was published.
      for (const d of done.slice(0, -1)) {
        const nextStart = events(logs, 'segment-start', job).find((s) => s.sn === (d.sn as number) + 1)!;
        expect(nextStart.t as number).toBeGreaterThanOrEqual(d.t as number);
      }
    }
    const byWorker = new Set(logs.filter((l) => l.event === 'segment-done').map((l) => l.worker));
    expect([...byWorker].sort()).toEqual(['w1', 'w2']);
    // The same source gives the same bytes, whichever worker ran which segment.
    const [a, b] = await Promise.all([published('a'), published('b')]);
    expect([...a.keys()].sort()).toEqual([
      'index.m3u8',
      'restored/media.m3u8',
      'restored/seg_000000.ts',
      'restored/seg_000001.ts',
      'restored/seg_000002.ts',
      'state/000000.bin',
      'state/000001.bin',
      'state/000002.bin',
    ]);
    for (const [k, v] of a) expect(same(k, b.get(k), v, 'a', 'b'), k).toBe(true);
    // Checkpoints carry the tag the bucket's lifecycle rule expires (cdk/lib/storage.ts); nothing else does.
    for (const k of [...a.keys()].filter((k) => k.startsWith('state/') || k.startsWith('restored/'))) {
      const tags = await store.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: `${outPrefix('a')}${k}` }));
      expect(tags.TagSet, k).toEqual(k.startsWith('state/') ? [{ Key: STATE_TAG.key, Value: STATE_TAG.value }] : []);
    }
    const status = await readJobStatus(store, 'output', 'a/index');
    expect(status).toMatchObject({ segmentsDone: 3, segmentsTotal: 3, published: true, ended: true, errors: [] });
    expect(status.fps).toBeGreaterThan(0);
  });

  it('a worker killed with SIGKILL mid-segment: another finishes the stream, output and checkpoints identical, nothing lost or doubled', async () => {
    // The uninterrupted reference run.
    const ref = await newQueue(5, 3);
    const refLogs: LogLine[] = [];
    const refWorker = makeWorker(store, ref.queue, refLogs, { workerId: 'reference', model: STATEFUL_TOY_MODEL });
    await refWorker.start();
    await submit(ref.queue, 'short-ref');
    await until(async () => (await store.head(`${outPrefix('short-ref')}restored/media.m3u8`)) !== undefined, 90_000, 'reference run');
    await refWorker.stop();

    const { queue, queueUrl } = await newQueue(5, 3);
    let killed!: () => void;
    const killedAt = new Promise<void>((resolve) => (killed = resolve));
    const proc = spawnWorkerProcess(queueUrl, STATEFUL_TOY_MODEL, 'doomed', (l, child) => {
      // Mid-segment: the third segment has started and nothing of it is published yet.
      if (l.event === 'segment-start' && l.sn === 2 && l.job === 'short-kill/index' && !child.killed) {
        child.kill('SIGKILL');
        killed();
      }
    });
    const childLogs = proc.logs;
    const exited = proc.exited.then((e) => e.signal);
    await submit(queue, 'short-kill');
    await Promise.race([killedAt, exited.then(() => Promise.reject(new Error(`worker exited early: ${proc.stderr()}`)))]);
    expect(await exited).toBe('SIGKILL');
    expect(childLogs.filter((l) => l.event === 'segment-done').map((l) => l.sn)).toEqual([0, 1]);

    const rescueLogs: LogLine[] = [];
    const rescuer = makeWorker(store, queue, rescueLogs, { workerId: 'rescuer', model: STATEFUL_TOY_MODEL });
    await rescuer.start();
    await until(
      async () => (await store.head(`${outPrefix('short-kill')}restored/media.m3u8`)) !== undefined,
      90_000,
      'killed stream finished',
    );
    await rescuer.stop();

    // The rescuer resumed from the checkpoint of segment 1 (no warm-up) and redid segment 2.
    expect(rescueLogs.find((l) => l.event === 'state-loaded')).toMatchObject({ job: 'short-kill/index', sn: 2, from: 1 });
    const doneSns = [...childLogs, ...rescueLogs]
      .filter((l) => l.event === 'segment-done' && l.Stream === 'short-kill/index')
      .map((l) => l.sn);
    expect(doneSns).toEqual([0, 1, 2, 3, 4, 5]);
    const [want, got] = await Promise.all([published('short-ref'), published('short-kill')]);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    expect([...got.keys()].filter((k) => k.startsWith('state/'))).toHaveLength(6);
    for (const [k, v] of want)
      expect(same(k, got.get(k), v, 'short-ref', 'short-kill'), `${k} identical to the uninterrupted run`).toBe(true);
    const playlist = bytesToText(got.get('restored/media.m3u8')!);
    expect(playlist.match(/^seg_\d+\.ts$/gm)).toEqual([0, 1, 2, 3, 4, 5].map((sn) => `seg_00000${sn}.ts`));
  });

  it("with the default visibility timeout and heartbeat, a SIGKILLed worker's stream resumes on another worker within about 30 s", async () => {
    const { queue, queueUrl } = await newQueue(5, 30);
    let killedAt = 0;
    let victim = '';
    const workers = ['x', 'y'].map((id) =>
      spawnWorkerProcess(
        queueUrl,
        FIXTURE_MODEL,
        `resume-${id}`,
        (l, child) => {
          if (killedAt === 0 && l.event === 'segment-start' && l.sn === 1 && l.job === 'resume/index') {
            child.kill('SIGKILL');
            killedAt = Date.now();
            victim = id;
          }
        },
        'default',
      ),
    );
    await until(() => workers.every((w) => w.logs.some((l) => l.event === 'worker-started')), 60_000, 'workers started');
    await submit(queue, 'resume');
    const resumed = (): LogLine | undefined =>
      workers
        .flatMap((w) => w.logs)
        .find((l) => l.event === 'segment-start' && l.sn === 1 && l.job === 'resume/index' && l.worker !== `resume-${victim}`);
    await until(() => killedAt > 0 && resumed() !== undefined, 120_000, 'segment 1 resumed');
    const seconds = ((resumed()!.t as number) - killedAt) / 1000;
    await until(async () => (await store.head(`${outPrefix('resume')}restored/media.m3u8`)) !== undefined, 90_000, 'stream finished');
    await Promise.all(workers.map((w) => w.stop()));
    console.log(`resume after SIGKILL: ${seconds.toFixed(1)} s (visibility timeout 30 s, heartbeat 10 s, long poll 20 s)`);
    expect(seconds).toBeLessThan(35);
  });

  it('SIGTERM drains: the segment in flight is finished and published, the worker exits 0, the rest stays queued', async () => {
    const { queue, queueUrl } = await newQueue(5, 3);
    const proc = spawnWorkerProcess(queueUrl, FIXTURE_MODEL, 'draining', (l, child) => {
      if (l.event === 'segment-start' && l.sn === 1 && l.job === 'term/index') child.kill('SIGTERM');
    });
    const childLogs = proc.logs;
    const exited = proc.exited.then((e) => e.code);
    await submit(queue, 'term');
    expect(await exited, proc.stderr()).toBe(0);
    expect(proc.stderr()).toContain('stopping; draining messages in flight');
    const done = childLogs.filter((l) => l.event === 'segment-done').map((l) => l.sn);
    expect(done).toEqual([0, 1]);
    expect(childLogs.at(-1)).toMatchObject({ event: 'worker-stopped' });
    expect(await store.head(`${outPrefix('term')}restored/seg_000001.ts`)).toBeDefined();
    // Segment 2 was never taken; another worker picks it up (and segment 1 is not redone).
    const logs2: LogLine[] = [];
    const w = makeWorker(store, queue, logs2, { workerId: 'after-term' });
    await w.start();
    await until(async () => (await store.head(`${outPrefix('term')}index.m3u8`)) !== undefined, 60_000, 'term finished');
    await w.stop();
    expect(logs2.filter((l) => l.event === 'segment-start').map((l) => l.sn)).toEqual([2]);
    // The CLI worker made the job's estimate when it created the record, and priced its two
    // segments at g5.xlarge; the report sets what the job took beside the estimate.
    const layout = new JobLayout('output', 'term/index');
    const record = parseJobRecord(JSON.parse(bytesToText((await store.get(layout.record))!.body)), 'job.json');
    expect(record.estimate).toMatchObject({ mode: 'vod', frames: 30, segments: 3, output: { width: 192, height: 128 } });
    expect(record.estimate!.instances.find((i) => i.instanceType === 'g5.xlarge')).toMatchObject({ measured: false, pricePerHour: 1.006 });
    const totals = await jobTotals(store, layout, 1);
    expect(totals.costUsd).toBeGreaterThan(0);
    expect(totals.instanceType).toBe('g5.xlarge');
    const report = JSON.parse(bytesToText((await store.get(layout.report))!.body)) as QualityReport;
    expect(report.estimate).toMatchObject({ estimated: { frames: 30 }, actual: { frames: 30 } });
    expect(report.estimate!.actual.computeSeconds).toBeCloseTo(totals.seconds, 2);
  });

  it('a duplicate message does no harm: the worker skips what is published and changes nothing', async () => {
    const { queue, queueUrl } = await newQueue();
    const dupLogs: LogLine[] = [];
    const w = makeWorker(store, queue, dupLogs, { workerId: 'dup' });
    await w.start();
    await submit(queue, 'dup');
    // The job's last write is its COMPLETE event (after the last segment's metrics and progress).
    await until(async () => (await store.head(`${outPrefix('dup')}events/COMPLETE.json`)) !== undefined, 60_000, 'dup complete');
    const before = await Promise.all(
      (await store.list(outPrefix('dup')))
        .filter((o) => !o.key.includes('/segments/'))
        .map(async (o) => [o.key, (await store.head(o.key))!] as const),
    );
    // The same submit again. Inside the 5-minute window SQS drops it; moto only drops a repeat
    // while the first is still queued, so here it may run a second fan-out, whose segment
    // messages must then be skipped like any other duplicate.
    await submitJob(queue, jobMessageOf({ input: `s3://${BUCKET}/input/dup/index.m3u8`, live: false, shards: 1 }, 'input'));
    // Each segment again, as a redelivery after the window would arrive (new deduplication ids).
    const first = events(dupLogs, 'segment-start', 'dup/index').length;
    for (const sn of [0, 1, 2]) {
      const seg = await readSegmentMessage('dup', sn, sn === 2);
      await queue.send(seg, { group: 'dup/index', dedupId: `${dedupOf(seg)}:again` });
    }
    const skipped = (): number => dupLogs.filter((l) => l.event === 'segment-skipped').length;
    const fanOuts = (): number => dupLogs.filter((l) => l.event === 'vod-fanned-out').length;
    await until(() => skipped() >= 3 && skipped() === 3 + 3 * (fanOuts() - 1), 60_000, 'duplicates skipped');
    // Nothing left to run: every message handled and deleted.
    await until(async () => (await queueBacklog(sqs, queueUrl)) === 0, 30_000, 'queue drained');
    await w.stop();
    expect(skipped()).toBe(3 + 3 * (fanOuts() - 1));
    expect(events(dupLogs, 'segment-start', 'dup/index').length).toBe(first + skipped());
    expect(events(dupLogs, 'segment-done', 'dup/index').map((l) => l.sn)).toEqual([0, 1, 2]);
    for (const [key, head] of before) {
      const now = await store.head(key);
      expect(now?.etag, key).toBe(head.etag);
      expect(now?.lastModified.getTime(), `${key} not rewritten`).toBe(head.lastModified.getTime());
    }
  });

  it('a poison segment (bad input) goes to the DLQ on its first failure with an error record naming it; other streams carry on', async () => {
    const { queue, dlqUrl } = await newQueue(2, 3);
    const plogs: LogLine[] = [];
    const workers = [makeWorker(store, queue, plogs, { workerId: 'p1' }), makeWorker(store, queue, plogs, { workerId: 'p2' })];
    await Promise.all(workers.map((w) => w.start()));
    await submit(queue, 'poison');
    await submit(queue, 'good');
    const dead: unknown[] = [];
    await until(
      async () => {
        dead.push(...(await readDlq(sqs, dlqUrl)));
        return (
          dead.length > 0 &&
          events(plogs, 'segment-done', 'poison/index').length === 2 &&
          (await store.head(`${outPrefix('good')}index.m3u8`)) !== undefined
        );
      },
      90_000,
      'poison dead-lettered, the rest done',
    );
    await Promise.all(workers.map((w) => w.stop()));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      type: 'segment',
      stream: { job: 'poison/index' },
      segment: { sn: 1, key: 'input/poison/96x64/seg_001.ts' },
    });
    const status = await readJobStatus(store, 'output', 'poison/index');
    expect(status.deadLettered).toEqual([1]);
    // One attempt, not the queue's 3: bad input fails the same way every time.
    expect(status.errors.map((e) => [e.sn, e.attempt, e.final])).toEqual([[1, 1, true]]);
    expect(status.errors[0]!.message).toMatch(/seg_001\.ts/);
    expect(status.errors[0]).toMatchObject({ kind: 'bad-input', segment: 'input/poison/96x64/seg_001.ts' });
    expect(plogs.find((l) => l.event === 'dead-lettered')).toMatchObject({ job: 'poison/index', sn: 1 });
    // Segment 2 still ran (its warm-up on the broken segment 1 failed and it started fresh);
    // a VOD rendition with a hole is never published.
    expect(events(plogs, 'segment-done', 'poison/index').map((l) => l.sn)).toEqual([0, 2]);
    expect(plogs.find((l) => l.event === 'state-warm-failed')).toMatchObject({ job: 'poison/index', sn: 2, on: 1 });
    expect(status.published).toBe(false);
    expect((await readJobStatus(store, 'output', 'good/index')).segmentsDone).toBe(3);
  });

  it('refuses a playlist whose segment URIs leave its bucket, host or prefix, with an error record naming the URI', async () => {
    const { queue } = await newQueue(1, 3);
    const cases: Record<string, [string, RegExp]> = {
      bucket: ['s3://other-bucket/input/evil-bucket/seg_000.ts', /names bucket other-bucket, but the input's bucket is media/],
      host: ['https://evil.example.com/seg_000.ts', /names host evil\.example\.com/],
      escape: ['../../secret/seg_000.ts', /outside the input prefix input\/evil-escape\//],
    };
    for (const [name, [uri]] of Object.entries(cases)) {
      await store.put(
        `input/evil-${name}/index.m3u8`,
        `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:1.0,\n${uri}\n#EXT-X-ENDLIST\n`,
      );
    }
    await store.put('secret/seg_000.ts', new Uint8Array(188).fill(0x47));
    const elogs: LogLine[] = [];
    const w = makeWorker(store, queue, elogs, { workerId: 'evil' });
    await w.start();
    for (const name of Object.keys(cases)) await submit(queue, `evil-${name}`);
    await until(() => elogs.filter((l) => l.event === 'error').length >= 3, 30_000, 'three refusals');
    await w.stop();
    for (const [name, [, rule]] of Object.entries(cases)) {
      const rec = await store.get(`output/evil-${name}/index/errors/job-1.json`);
      expect(rec, name).toBeDefined();
      const r = JSON.parse(bytesToText(rec!.body)) as { message: string; kind: string; final: boolean };
      expect(r.message).toMatch(rule);
      expect(r).toMatchObject({ kind: 'bad-input', final: true });
      // Nothing was fanned out or restored.
      expect((await store.list(`output/evil-${name}/index/restored/`)).length).toBe(0);
    }
    expect(elogs.filter((l) => l.event === 'segment-start')).toEqual([]);
  });
});

/** The segment message the fan-out sent for `name` sn, rebuilt from the job record. */
async function readSegmentMessage(name: string, sn: number, last: boolean): Promise<SegmentMessage> {
  const rec = JSON.parse(bytesToText((await store.get(new JobLayout('output', `${name}/index`).record))!.body)) as {
    segments: SegmentMessage['segment'][];
    mediaKey: string;
    container: 'ts';
    targetDuration: number;
  };
  const segment = rec.segments.find((s) => s.sn === sn)!;
  const prev = rec.segments.find((s) => s.sn === sn - 1);
  return {
    type: 'segment',
    stream: { job: `${name}/index`, mediaKey: rec.mediaKey, container: rec.container, targetDuration: rec.targetDuration, mode: 'vod' },
    segment,
    ...(prev === undefined ? {} : { prev }),
    last,
  };
}
