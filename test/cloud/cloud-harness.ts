// Shared set-up for the worker tests: fixture streams uploaded to a store, workers on the
// fixture model, and a log collector.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/cli.js';
import type { JobMessage } from '../../src/cloud/jobs.js';
import type { ObjectStore } from '../../src/cloud/object-store/object-store.js';
import type { ConsumeOptions, JobQueue } from '../../src/cloud/queue/job-queue.js';
import { Worker } from '../../src/cloud/worker/worker.js';
import { openRestorer } from '../../src/inference/restorer.js';
import type { Clock } from '../../src/util/clock.js';
import type { EventSink } from '../../src/events/job-events.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const FIXTURE_MODEL = path.join(REPO, 'test/fixtures/model/swiftvr-fixture.onnx');
export const FIXTURE_TS = path.join(REPO, 'test/fixtures/hls/ts');
/** Weightless model whose output depends on the carried state (mean of the previous chunk). */
export const STATEFUL_TOY_MODEL = path.join(REPO, 'test/inference/toy-model/stateful-toy.onnx');

/** Uploads a fixture folder (recursively) under `prefix`. */
export async function uploadDir(store: ObjectStore, dir: string, prefix: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await uploadDir(store, p, `${prefix}/${e.name}`);
    else if (e.name.endsWith('.m3u8') || e.name.endsWith('.ts') || e.name.endsWith('.m4s') || e.name.endsWith('.mp4')) {
      await store.put(`${prefix}/${e.name}`, new Uint8Array(await readFile(p)));
    }
  }
}

export const fastConsume = (o: Partial<ConsumeOptions> = {}): ConsumeOptions => ({
  concurrency: 1,
  visibilityTimeoutSeconds: 30,
  heartbeatSeconds: 5,
  handlerTimeoutMs: 120_000,
  waitTimeSeconds: 1,
  ...o,
});

export type LogLine = Record<string, unknown>;

export function makeWorker(
  store: ObjectStore,
  queue: JobQueue<JobMessage>,
  logs: LogLine[],
  o: {
    workerId: string;
    consume?: Partial<ConsumeOptions>;
    liveWindow?: number;
    livePollMs?: number;
    ecsAgentUri?: string;
    model?: string;
    /** How restorers are opened (tests inject faults). */
    open?: typeof openRestorer;
    liveLatencyBudgetSeconds?: number;
    liveIdleTimeoutMs?: number;
    /** Where job events go besides the store. */
    events?: EventSink;
    /** The time live deadlines are reckoned in (tests freeze it). */
    clock?: Clock;
  },
): Worker {
  return new Worker({
    store,
    queue,
    openRestorer: () => (o.open ?? openRestorer)(o.model ?? FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 }),
    // Generous unless a test sets it: on a busy test machine the fixture's 1 s segments would
    // otherwise miss the default budget (one target duration) and fall back.
    liveLatencyBudgetSeconds: o.liveLatencyBudgetSeconds ?? 30,
    sourcePrefix: 'input',
    outputPrefix: 'output',
    consume: fastConsume(o.consume),
    liveWindow: o.liveWindow ?? 6,
    livePollMs: o.livePollMs ?? 100,
    liveIdleTimeoutMs: o.liveIdleTimeoutMs ?? 20_000,
    encoder: 'libx264',
    workerId: o.workerId,
    ...(o.ecsAgentUri === undefined ? {} : { ecsAgentUri: o.ecsAgentUri }),
    ...(o.events === undefined ? {} : { events: o.events }),
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    log: (line) => logs.push({ ...line, worker: o.workerId, t: Date.now() }),
  });
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 60_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every object under `prefix`, key (relative to prefix) -> bytes as hex digest-ready Buffer. */
export async function snapshot(store: ObjectStore, prefix: string, filter: (key: string) => boolean): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const o of await store.list(prefix)) {
    const rel = o.key.slice(prefix.length);
    if (!filter(rel)) continue;
    const got = await store.get(o.key);
    out.set(rel, Buffer.from(got!.body));
  }
  return out;
}

/** Runs the CLI in-process with captured output. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runCli(argv, { stdout, stderr, signal: new AbortController().signal });
  return { code, out, err };
}
