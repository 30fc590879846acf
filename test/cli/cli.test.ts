// The `swiftvr` CLI as a user runs it: exit codes, messages, --json lines, Ctrl-C.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultModelPath, packageRoot } from '../../src/cli/package-root.js';
import { jobEventSchema } from '../../src/events/job-events.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from '../pipeline/temp-dirs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TS_INPUT = join(ROOT, 'test', 'fixtures', 'hls', 'ts', 'index.m3u8');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source (node + tsx); `onStdout` may act on the process as output arrives. */
function cli(args: string[], onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const temp = tempDirs('swiftvr-cli-');
const tmpOut = async (): Promise<string> => join(await temp(), 'out');

describe('swiftvr CLI', () => {
  it('without a command prints the usage and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: swiftvr <command>/);
    expect(r.stderr).toMatch(/restore/);
  });

  it('rejects an unknown command with exit 2, naming it', async () => {
    const r = await cli(['upscale']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "upscale"; it must be one of restore, estimate, worker, submit, status/);
  });

  it.each([
    [['restore', TS_INPUT], /--out <dir> is required/],
    [['restore', '--out', 'x'], /restore takes exactly one <input>; got 0/],
    [['restore', TS_INPUT, '--out', 'x', '--model', FIXTURE_MODEL, '--ep', 'tpu'], /--ep is "tpu"; it must be cpu or cuda/],
    [
      ['restore', TS_INPUT, '--out', 'x', '--model', FIXTURE_MODEL, '--chunk-frames', 'two'],
      /--chunk-frames is "two"; it must be an integer >= 1/,
    ],
    [
      ['restore', TS_INPUT, '--out', 'x', '--model', FIXTURE_MODEL, '--chunk-frames', '9'],
      /--chunk-frames is 9; it must be an integer from 1 to the model's t_max \(4\)/,
    ],
    [['restore', TS_INPUT, '--out', 'x', '--model', FIXTURE_MODEL, '--quiet', '--json'], /--quiet and --json cannot be used together/],
    [['restore', TS_INPUT, '--out', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['restore', TS_INPUT, '--out', 'x', '--model', 'nope.onnx'], /--model nope\.onnx does not exist/],
    [['restore', 'missing.m3u8', '--out', 'x', '--model', FIXTURE_MODEL], /input missing\.m3u8 does not exist/],
  ])('usage and input errors exit 2: %j', async (args, message) => {
    const r = await cli(args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('resolves the default model from the package root, not the working directory', () => {
    expect(packageRoot()).toBe(ROOT.replace(/\/$/, ''));
    expect(defaultModelPath()).toBe(join(ROOT, 'models', 'swiftvr-x2.onnx'));
  });

  it('--json prints the job events: SUBMITTED, PROGRESSING at each segment in order (with the segment), COMPLETE; exits 0', async () => {
    const out = await tmpOut();
    const r = await cli(['restore', TS_INPUT, '--out', out, '--model', FIXTURE_MODEL, '--ep', 'cpu', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => jobEventSchema.parse(JSON.parse(l)));
    const job = events[0]!.job;
    expect(events.every((e) => e.job === job)).toBe(true);
    expect(events[0]).toMatchObject({ type: 'SUBMITTED', id: `${job}:SUBMITTED`, mode: 'vod', segments: 3, input: TS_INPUT });
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ type: 'COMPLETE', id: `${job}:COMPLETE`, segments: 3, frames: 30, figures: { fallbacks: 0 } });
    expect(last.type === 'COMPLETE' && last.outputs.multivariant).toBe(join(out, 'index.m3u8'));
    // ids never repeat within a run
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const atSegments = events.flatMap((e) => (e.type === 'PROGRESSING' && e.segment !== undefined ? [e] : []));
    expect(atSegments.map((e) => [e.segmentsDone, e.segmentsTotal, e.percent])).toEqual([
      [1, 3, 33.3],
      [2, 3, 66.7],
      [3, 3, 100],
    ]);
    const lines = atSegments.map((e) => e.segment!);
    expect(lines.map((l) => l.sn)).toEqual([0, 1, 2]);
    for (const [i, l] of lines.entries()) {
      // the first segment has no boundary to a previous one
      expect(Object.keys(l)).toEqual([
        'sn',
        'frames',
        'seconds',
        'fps',
        'fallback',
        'changed',
        ...(i === 0 ? [] : ['boundaryFlicker']),
        'fidelityPsnrY',
        'fidelitySsimY',
        'modelSeconds',
        'threadHostMs',
        'picture',
      ]);
      // the picture facts the output carries: a plain progressive square-pixel stream has nothing applied
      expect(l.picture).toMatchObject({ carried: { sar: '1:1' }, applied: [], dropped: [] });
      expect(l.frames).toBe(10);
      expect(l.seconds).toBeGreaterThan(0);
      expect(l.modelSeconds).toBeGreaterThan(0);
      expect(l.modelSeconds).toBeLessThan(l.seconds);
      expect(l.threadHostMs).toBeGreaterThanOrEqual(0);
      expect(l.fps).toBeCloseTo(l.frames / l.seconds, 0);
      expect(l.fallback).toBe(false);
      // the fixture model is the plain bicubic upscale: it changes its input by a little only
      expect(l.changed).toBeGreaterThanOrEqual(0);
      expect(l.changed).toBeLessThan(20);
    }
    expect(existsSync(join(out, 'index.m3u8'))).toBe(true);
  });

  it('--quiet prints nothing on success', async () => {
    const out = await tmpOut();
    const r = await cli(['restore', TS_INPUT, '--out', out, '--model', FIXTURE_MODEL, '--ep', 'cpu', '--quiet', '--variant', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    expect(existsSync(join(out, 'x2', 'index.m3u8'))).toBe(true);
  });

  it('SIGINT stops the run cleanly (exit 130) without a half-written playlist', async () => {
    const out = await tmpOut();
    let sent = false;
    const r = await cli(
      ['restore', TS_INPUT, '--out', out, '--model', FIXTURE_MODEL, '--ep', 'cpu', '--json', '--chunk-frames', '1'],
      (text, kill) => {
        // Segment 0 is reported once segment 1 is restored; segment 2 is still to do.
        if (!sent && text.includes('"PROGRESSING"')) {
          sent = true;
          kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopped; nothing was published/);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; by?: string })
        .at(-1),
    ).toMatchObject({ type: 'CANCELED', by: 'signal' });
    // No playlist, no segment, no staging folder: the output folder is gone or empty.
    if (existsSync(out)) expect(await readdir(out, { recursive: true })).toEqual([]);
  });
});
