// Host overhead per frame (`npm run bench:host [-- --baseline REF --seconds N]`): how long the
// main thread, which feeds ffmpeg's decoder and encoder pipes, is busy per frame at 1920x1080 ->
// 3840x2160 with a fixture model (the weightless stateful toy of each version: nearest x2), for
// the baseline revision and for this checkout, each running `swiftvr restore` end to end, the two
// in turns (`--runs N` of each).
// Measured as the CPU time of the main thread (Linux per-thread counters, read by
// main-thread-cpu-probe.mjs, preloaded) divided by the frame count; the model runs on another thread
// in both versions, ffmpeg in other processes. What the main thread does is everything else:
// reading decoded frames, any pixel conversion, moving frames and state to and from the inference
// thread, writing to the encoder, starting tools, playlists, start-up. For this checkout the
// inference thread's own host work is added: its CPU time outside the model's runs (taking frames
// in, laying out the model input, frame statistics, sending frames out), which each segment reports
// as `threadHostMs` in `swiftvr restore --json`. The CPU of V8's background threads (concurrent
// marking and sweeping, freeing the frame buffers a collection found dead) and of libuv's pool is
// printed beside it, and added in the last line: host work on no thread of the product's own.
// The per-frame figures include the restore's start-up (loading the command, opening the model and
// the inference thread, the first probes) spread over the stream's frames; each run also restores
// the stream's first segment alone, and the "after start-up" line is the main thread's CPU per frame
// of the other segments: (all segments - first alone) / (their frames), with the inference thread's.
// Goal: at most 5 ms per frame, so a GPU worker is never held back at 4K.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildVersions, median, removeWorktree, RGB_BASELINE, ROOT } from './baseline-build.js';
import { writeHdTestStream } from './bench-help.js';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string', default: RGB_BASELINE },
    seconds: { type: 'string', default: '8' },
    runs: { type: 'string', default: '1' },
  },
});
const work = mkdtempSync(join(tmpdir(), 'swiftvr-host-'));
const PROBE = join(ROOT, 'test/bench/main-thread-cpu-probe.mjs');

try {
  const input = join(work, 'in');
  execFileSync('mkdir', ['-p', input]);
  writeHdTestStream(input, values.seconds!);
  const frames = Math.round(Number(values.seconds) * 25);
  // The first segment alone (2 s, 50 frames), for the start-up's share.
  const firstFrames = 50;
  const playlist = readFileSync(join(input, 'index.m3u8'), 'utf8').split('\n');
  const firstUri = playlist.findIndex((l) => l.endsWith('.ts'));
  writeFileSync(join(input, 'first.m3u8'), [...playlist.slice(0, firstUri + 1), '#EXT-X-ENDLIST', ''].join('\n'));
  const versions = buildVersions(values.baseline!, join(work, 'baseline'));
  const rows: string[] = [];
  const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} ms (${xs.map((x) => x.toFixed(2)).join(', ')})`;
  /** One restore of `playlist` under the CPU probe: its stdout, and the probe's figures. */
  const restore = (
    v: (typeof versions)[number],
    playlist: string,
    r: number,
  ): { stdout: string; mainThreadCpuMs: number; backgroundCpuMs: number } => {
    const cpu = join(work, `cpu-${r}.json`);
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        PROBE,
        v.cli,
        'restore',
        join(input, playlist),
        '--out',
        join(work, `out-${r}`),
        '--model',
        join(v.root, 'test/inference/toy-model/stateful-toy.onnx'),
        '--ep',
        'cpu',
        '--encoder',
        'libx264',
        v.root === ROOT ? '--json' : '--quiet',
      ],
      { env: { ...process.env, SWIFTVR_CPU_OUT: cpu }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
    );
    if (res.status !== 0) throw new Error(`${v.name}: swiftvr restore exited with ${res.status}`);
    rmSync(join(work, `out-${r}`), { recursive: true, force: true });
    const probe = JSON.parse(readFileSync(cpu, 'utf8')) as { mainThreadCpuMs: number; backgroundCpuMs: number };
    return { stdout: res.stdout, ...probe };
  };
  // The versions in turns, run after run, so a slower stretch of the machine weighs on both alike.
  const figures = versions.map((v) => ({
    v,
    current: v.root === ROOT,
    main: [] as number[],
    background: [] as number[],
    thread: [] as number[],
    model: [] as number[],
    steady: [] as number[],
  }));
  for (let r = 0; r < Number(values.runs); r++) {
    for (const { v, current, main, background, thread, model, steady } of figures) {
      const probe = restore(v, 'index.m3u8', r);
      if (frames > firstFrames) steady.push((probe.mainThreadCpuMs - restore(v, 'first.m3u8', r).mainThreadCpuMs) / (frames - firstFrames));
      main.push(probe.mainThreadCpuMs / frames);
      background.push(probe.backgroundCpuMs / frames);
      if (current) {
        // --json prints the job's events; each segment's figures ride on its PROGRESSING event.
        const segs = probe.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { segment?: { threadHostMs?: number; modelSeconds?: number } })
          .flatMap((e) => (e.segment === undefined ? [] : [e.segment]));
        if (segs.some((s) => s.threadHostMs === undefined))
          throw new Error("this Node cannot tell a thread's CPU time (process.threadCpuUsage): run under Node 24");
        thread.push(segs.reduce((a, s) => a + s.threadHostMs!, 0) / frames);
        model.push((segs.reduce((a, s) => a + s.modelSeconds!, 0) * 1000) / frames);
      }
    }
  }
  for (const { v, current, main, background, thread, model, steady } of figures) {
    rows.push(`${v.name.padEnd(24)} main thread ${fmt(main)} CPU per frame`);
    rows.push(`${''.padEnd(24)} V8 background and libuv pool threads ${fmt(background)} CPU per frame`);
    if (current) {
      const total = main.map((m, i) => m + thread[i]!);
      rows.push(`${''.padEnd(24)} inference thread outside the model ${fmt(thread)} CPU per frame`);
      rows.push(
        `${''.padEnd(24)} host overhead (main + inference thread) ${fmt(total)} per frame; the toy model's runs took ${fmt(model)} per frame`,
      );
      const all = total.map((t, i) => t + background[i]!);
      rows.push(`${''.padEnd(24)} with the background threads ${fmt(all)} per frame`);
    }
    if (steady.length > 0) {
      rows.push(`${''.padEnd(24)} after start-up: main thread ${fmt(steady)} CPU per frame`);
      if (current) rows.push(`${''.padEnd(24)} after start-up: host overhead ${fmt(steady.map((m, i) => m + thread[i]!))} per frame`);
    }
  }
  console.log(
    `input        1920x1080 H.264, ${frames} frames -> 3840x2160 output, stateful toy fixture model, CPU, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})`,
  );
  for (const r of rows) console.log(r);
} finally {
  removeWorktree(join(work, 'baseline'));
  rmSync(work, { recursive: true, force: true });
}
