// segmentStep(): the one segment step of the local loop and the cloud job, by its policy: restored;
// skipped (live: would miss its deadline); failed and published as the plain upscale (or failing the
// segment when the policy does not allow it); stopped at its time limit. After a plain segment the
// state restarts, and the step is done only once it has.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Restorer } from '../../src/inference/restorer.js';
import type { SegmentInput } from '../../src/pipeline/segment-input.js';
import { segmentStep, type StepPolicy } from '../../src/pipeline/segment-step.js';
import { faultyRestorer, type Faults } from '../inference/faulty-restorer.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from './temp-dirs.js';

const DIR = fileURLToPath(new URL('../fixtures/hls/ts/96x64/', import.meta.url));
const temp = tempDirs('swiftvr-step-');

describe('segmentStep()', () => {
  const opened: Restorer[] = [];
  let input: SegmentInput;
  beforeAll(async () => {
    input = { sn: 1, uri: 'seg_001.ts', container: 'ts', bytes: await readFile(join(DIR, 'seg_001.ts')), duration: 1 };
  });
  afterAll(async () => {
    await Promise.all(opened.map((r) => r.close()));
  });

  const run = async (faults: Faults, policy: StepPolicy) => {
    const restorer = await faultyRestorer(faults)(FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 });
    opened.push(restorer);
    const dir = await temp();
    const restarts: number[] = [];
    const step = segmentStep(
      input,
      restorer,
      { outPath: join(dir, 'out.ts'), encoder: 'libx264' },
      {
        workDir: dir,
        signal: new AbortController().signal,
        policy,
        state: {
          restart: async (i) => {
            await new Promise((r) => setTimeout(r, 200)); // a slow restart: done must wait for it
            restarts.push(i.sn);
          },
        },
      },
    );
    const done = await step.done.then(
      (r) => ({ r, restartsAtDone: [...restarts] }),
      (e: unknown) => ({ e }),
    );
    await step.restored.catch(() => {});
    return { done, restarts };
  };

  it('restores: no fallback, no restart, the restore timed', async () => {
    const { done, restarts } = await run({}, { plainOnFailure: true });
    if (!('r' in done)) throw done.e;
    expect(done.r.fallback).toBeUndefined();
    expect(done.r.result.frames).toBe(10);
    expect(done.r.restoreSeconds).toBeGreaterThan(0);
    expect(restarts).toEqual([]);
  });

  it('skips to the plain upscale when the policy says so, restarting the state before it is done', async () => {
    const { done } = await run({}, { plainOnFailure: true, skip: 'restoring would miss the deadline by 0.50 s' });
    if (!('r' in done)) throw done.e;
    expect(done.r).toMatchObject({ fallback: 'restoring would miss the deadline by 0.50 s', result: { frames: 10 } });
    expect(done.r.result.fallback).toBe('restoring would miss the deadline by 0.50 s');
    expect(done.restartsAtDone).toEqual([1]);
  });

  it('a failed restore is published as the plain upscale when allowed, with the bare reason, after the restart', async () => {
    const { done } = await run({ failPushes: [3] }, { plainOnFailure: true });
    if (!('r' in done)) throw done.e;
    expect(done.r.fallback).toBe('restore failed: inference failed: out of memory (injected)');
    expect(done.r.plainSeconds).toBeGreaterThan(0);
    expect(done.restartsAtDone).toEqual([1]);
  });

  it('a failed restore fails the segment when the policy does not allow the plain upscale', async () => {
    const { done, restarts } = await run({ failPushes: [3] }, { plainOnFailure: false });
    expect('e' in done && (done.e as Error).message).toMatch(
      /^segment sn=1 \(seg_001\.ts\): inference failed: out of memory \(injected\)$/,
    );
    expect(restarts).toEqual([]);
  });

  it('a restore past its time limit is stopped and published as the plain upscale, saying when it stopped', async () => {
    const { done } = await run({ pushDelayMs: 100 }, { plainOnFailure: true, timeoutMs: 300 });
    if (!('r' in done)) throw done.e;
    expect(done.r.fallback).toMatch(/^restoring did not finish by the deadline \(\d+\.\d\d s spent\)$/);
    expect(done.r.stopped?.inRestore).toBe(true);
    expect(done.r.stopped!.seconds).toBeGreaterThanOrEqual(0.25);
    expect(done.restartsAtDone).toEqual([1]);
  });
});
