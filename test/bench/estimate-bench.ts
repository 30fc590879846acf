// Throughput for the estimate table, and the estimate checked against real local runs
// (`npm run bench:estimate [-- --measure [--write]] [--runs N]`).
//
// --measure: restores the sample clip, scaled to three sizes (640x360, 960x540 and 1280x720
//   output) and cut to two lengths (50 and 150 frames at 25 frames/s), with `swiftvr restore` on
//   the CPU; per size, frames/s is the slope of wall seconds over frames and the startup the
//   intercept (medians over --runs). Prints the rows; --write puts them into
//   src/estimate/measured.json as the `local` instance type (replacing its rows for this model).
// Without --measure: runs `swiftvr estimate` and then `swiftvr restore` on inputs the table was not
//   measured on (the demo stream; a 10 s 25 frames/s clip at 400x224), and prints the estimated wall
//   seconds and output bytes beside the actual ones.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, ROOT } from './baseline-build.js';

const { values } = parseArgs({
  options: { measure: { type: 'boolean' }, write: { type: 'boolean' }, runs: { type: 'string', default: '2' } },
});
const runs = Number(values.runs);
const CLI = join(ROOT, 'dist/src/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'swiftvr-estimate-bench-'));
const hardware = `${cpus().length}-core ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (CPU provider, onnxruntime ${cpus().length} threads)`;

/** The sample clip looped to `frames` frames at `fps`, scaled to w x h, as 2 s H.264 TS segments. */
function clip(name: string, w: number, h: number, fps: number, frames: number): string {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-stream_loop',
    '-1',
    '-i',
    join(ROOT, 'docs/sample/hls/index.m3u8'),
    '-frames:v',
    String(frames),
    '-an',
    '-vf',
    `scale=${w}:${h}:flags=bicubic,fps=${fps}`,
    '-c:v',
    'libx264',
    '-preset',
    'medium',
    '-crf',
    '26',
    '-g',
    String(2 * fps),
    '-pix_fmt',
    'yuv420p',
    '-f',
    'hls',
    '-hls_time',
    '2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    join(dir, 's%d.ts'),
    join(dir, 'index.m3u8'),
  ]);
  return join(dir, 'index.m3u8');
}

/** Wall seconds of one `swiftvr restore` on the CPU, and the bytes of the restored segments. */
function restore(input: string): { seconds: number; bytes: number } {
  const out = join(work, `out-${Date.now()}`);
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, [CLI, 'restore', input, '--out', out, '--ep', 'cpu', '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (res.status !== 0) throw new Error(`swiftvr restore ${input} exited with ${res.status}`);
  const dir = readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && /\.(ts|m4s)$/.test(d.name));
  const bytes = dir.reduce((n, d) => n + statSync(join(d.parentPath, d.name)).size, 0);
  rmSync(out, { recursive: true, force: true });
  return { seconds, bytes };
}

const contract = JSON.parse(readFileSync(join(ROOT, 'models/swiftvr-x2.json'), 'utf8')) as { name: string };

try {
  if (values.measure === true) {
    const sizes: [number, number][] = [
      [320, 180],
      [480, 270],
      [640, 360],
    ];
    const lengths = [50, 150];
    const rows = [];
    for (const [w, h] of sizes) {
      const inputs = lengths.map((n) => clip(`m${w}-${n}`, w, h, 25, n));
      const secs = lengths.map(() => [] as number[]);
      for (let r = 0; r < runs; r++) inputs.forEach((input, i) => secs[i]!.push(restore(input).seconds));
      const [t1, t2] = secs.map(median) as [number, number];
      const fps = (lengths[1]! - lengths[0]!) / (t2 - t1);
      const startup = Math.max(0, t1 - lengths[0]! / fps);
      const row = {
        instanceType: 'local',
        hardware,
        provider: 'cpu',
        model: contract.name,
        outputWidth: 2 * w,
        outputHeight: 2 * h,
        fps: Math.round(fps * 100) / 100,
        startupSeconds: Math.round(startup * 100) / 100,
        date: new Date().toISOString().slice(0, 10),
        command: 'npm run bench:estimate -- --measure',
      };
      rows.push(row);
      console.log(
        `${2 * w}x${2 * h} output: ${lengths.map((n, i) => `${n} frames ${secs[i]!.map((s) => s.toFixed(2)).join('/')} s`).join(', ')} -> ${row.fps} frames/s, startup ${row.startupSeconds} s`,
      );
    }
    console.log(`hardware ${hardware}; load average ${loadavg()[0]!.toFixed(2)} at the end`);
    console.log(JSON.stringify(rows, null, 2));
    if (values.write === true) {
      const path = join(ROOT, 'src/estimate/measured.json');
      const table = JSON.parse(readFileSync(path, 'utf8')) as { throughput: { instanceType: string; model: string }[] };
      table.throughput = [...table.throughput.filter((r) => !(r.instanceType === 'local' && r.model === contract.name)), ...rows];
      writeFileSync(path, JSON.stringify(table, null, 2) + '\n');
      console.log(`wrote ${rows.length} rows to ${path}`);
    }
  } else {
    const checks = [
      { name: 'demo stream (384x288, 10 frames/s, 6 s)', input: join(ROOT, 'docs/sample/hls/index.m3u8') },
      { name: 'clip 400x224, 25 frames/s, 10 s', input: clip('check', 400, 224, 25, 250) },
    ];
    console.log(`hardware ${hardware}`);
    for (const c of checks) {
      const est = JSON.parse(execFileSync(process.execPath, [CLI, 'estimate', c.input, '--json']).toString()) as {
        frames: number;
        output: { width: number; height: number };
        outputBytes?: { low: number; median: number; high: number };
        instances: { instanceType: string; measured: boolean; wallSeconds?: number; fps?: number; extrapolated?: boolean }[];
      };
      const local = est.instances.find((i) => i.instanceType === 'local')!;
      const actual = Array.from({ length: runs }, () => restore(c.input));
      const secs = median(actual.map((a) => a.seconds));
      const bytes = actual[0]!.bytes;
      const wall = local.measured
        ? `${local.wallSeconds!.toFixed(2)} s estimated (${local.fps} frames/s${local.extrapolated ? ', extrapolated' : ''}), ` +
          `${secs.toFixed(2)} s actual (median of ${runs}: ${actual.map((a) => a.seconds.toFixed(2)).join(', ')}): ` +
          `${(((local.wallSeconds! - secs) / secs) * 100).toFixed(1)} %`
        : 'local not measured';
      const size =
        est.outputBytes === undefined
          ? 'size not measured'
          : `${(est.outputBytes.median / 1e6).toFixed(2)} MB estimated ` +
            `(${(est.outputBytes.low / 1e6).toFixed(2)} .. ${(est.outputBytes.high / 1e6).toFixed(2)}), ${(bytes / 1e6).toFixed(2)} MB actual`;
      console.log(`${c.name} -> ${est.output.width}x${est.output.height}, ${est.frames} frames\n  wall  ${wall}\n  size  ${size}`);
    }
    console.log(`load average ${loadavg()[0]!.toFixed(2)} at the end`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
