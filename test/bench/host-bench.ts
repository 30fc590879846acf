// Host overhead per frame (`npm run bench:host [-- --baseline REF --seconds N]`): how long the
// main thread, which feeds ffmpeg's decoder and encoder pipes, is busy per frame at 1920x1080 ->
// 3840x2160 with a fixture model (the weightless stateful toy of each version: nearest x2), for
// the baseline revision and for this checkout, each running `swiftvr restore` end to end.
// Measured as the CPU time of the main thread (Linux per-thread counters, read by
// main-thread-cpu-probe.mjs, preloaded) divided by the frame count; the model runs on another thread
// in both versions, ffmpeg in other processes. What the main thread does is everything else:
// reading decoded frames, any pixel conversion, moving frames and state to and from the inference
// thread, writing to the encoder, probing, playlists, start-up. The inference thread's own share of
// host work (copying a chunk's frames into the model input) is timed here too and added.
// Goal: at most 5 ms per frame, so a GPU worker is never held back at 4K.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildVersions, median, removeWorktree, RGB_BASELINE, ROOT } from './baseline-build.js';

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
  // 1920x1080 H.264 at 25 fps, 2 s segments.
  const input = join(work, 'in');
  execFileSync('mkdir', ['-p', input]);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=25:d=${values.seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast',
    '-g', '50', '-pix_fmt', 'yuv420p', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(input, 's%d.ts'), join(input, 'index.m3u8')]);
  const frames = Math.round(Number(values.seconds) * 25);
  const versions = buildVersions(values.baseline!, join(work, 'baseline'));
  const rows: string[] = [];
  for (const v of versions) {
    const perFrame: number[] = [];
    for (let r = 0; r < Number(values.runs); r++) {
      const cpu = join(work, `cpu-${r}.json`);
      const res = spawnSync(
        process.execPath,
        ['--import', PROBE, v.cli, 'restore', join(input, 'index.m3u8'), '--out', join(work, `out-${r}`), '--model',
          join(v.root, 'test/inference/toy-model/stateful-toy.onnx'), '--ep', 'cpu', '--encoder', 'libx264', '--quiet'],
        { env: { ...process.env, SWIFTVR_CPU_OUT: cpu }, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      if (res.status !== 0) throw new Error(`${v.name}: swiftvr restore exited with ${res.status}`);
      perFrame.push((JSON.parse(readFileSync(cpu, 'utf8')) as { mainThreadCpuMs: number }).mainThreadCpuMs / frames);
      rmSync(join(work, `out-${r}`), { recursive: true, force: true });
    }
    rows.push(`${v.name.padEnd(24)} ${median(perFrame).toFixed(2)} ms main-thread CPU per frame (${perFrame.map((x) => x.toFixed(2)).join(', ')})`);
  }
  // The inference thread's host work in this checkout: the chunk's frames laid end to end as the
  // model input (one copy per input frame); outputs come back as transferred buffers, no copy.
  const frame = new Uint8Array((1920 * 1080 * 3) / 2).fill(7);
  const chunk = new Uint8Array(frame.length * 4);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 400; i++) chunk.set(frame, (i % 4) * frame.length);
  rows.push(`${'inference-thread copy'.padEnd(24)} ${(Number(process.hrtime.bigint() - t0) / 1e6 / 400).toFixed(2)} ms per frame (this checkout: add to its main-thread figure)`);
  console.log(`input        1920x1080 H.264, ${frames} frames -> 3840x2160 output, stateful toy fixture model, CPU, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})`);
  for (const r of rows) console.log(r);
} finally {
  removeWorktree(join(work, 'baseline'));
  rmSync(work, { recursive: true, force: true });
}
