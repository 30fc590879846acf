// Speed through the CLI, two versions side by side (`npm run bench:speed [-- --baseline REF --runs N]`).
// Builds the baseline version of the product (a git revision, with its own shipped model) in a
// temporary worktree, then restores one 320x180 H.264 HLS stream (640x360 output) with the baseline
// CLI and with this checkout's CLI, alternating, each on its default shipped model and the CPU,
// and prints frames per second (frames / wall seconds of the whole `swiftvr restore` command).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildVersions, median, removeWorktree, RGB_BASELINE, ROOT } from './baseline-build.js';
const { values } = parseArgs({
  options: {
    baseline: { type: 'string', default: RGB_BASELINE },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
  },
});
const runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), 'swiftvr-speed-'));

function sh(cmd: string, args: string[], cwd = ROOT): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

try {
  // Input: the sample clip, scaled to 320x180 and looped to `seconds`, 2 s segments.
  const input = join(work, 'in');
  sh('mkdir', ['-p', input]);
  sh('ffmpeg', [
    '-v',
    'error',
    '-stream_loop',
    '-1',
    '-i',
    join(ROOT, 'docs/sample/hls/index.m3u8'),
    '-t',
    values.seconds!,
    '-an',
    '-vf',
    'scale=320:180:flags=bicubic,fps=25',
    '-c:v',
    'libx264',
    '-preset',
    'medium',
    '-crf',
    '28',
    '-g',
    '50',
    '-pix_fmt',
    'yuv420p',
    '-f',
    'hls',
    '-hls_time',
    '2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    join(input, 's%d.ts'),
    join(input, 'index.m3u8'),
  ]);
  const frames = Number(
    execFileSync('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      join(input, 'index.m3u8'),
    ])
      .toString()
      .trim()
      .split(/\s+/)[0],
  );

  // Baseline: its own sources and shipped model, built against this checkout's node_modules.
  const versions = buildVersions(values.baseline!, join(work, 'baseline'));

  const fps: Record<string, number[]> = {};
  for (let r = 0; r < runs; r++) {
    for (const v of versions) {
      const out = join(work, `out-${r}-${versions.indexOf(v)}`);
      const t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, [v.cli, 'restore', join(input, 'index.m3u8'), '--out', out, '--ep', 'cpu', '--quiet'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (res.status !== 0) throw new Error(`${v.name}: swiftvr restore exited with ${res.status}`);
      (fps[v.name] ??= []).push(frames / seconds);
      rmSync(out, { recursive: true, force: true });
    }
  }
  console.log(
    `input        320x180 H.264, ${frames} frames, 2 s segments -> 640x360 output; CPU provider, ${cpus().length} cores ` +
      `(${cpus()[0]?.model ?? 'unknown CPU'}), load average ${loadavg()[0]!.toFixed(2)} at the end`,
  );
  for (const v of versions) {
    const xs = fps[v.name]!;
    console.log(
      `${v.name.padEnd(24)} ${median(xs).toFixed(2)} frames/s median of ${xs.length} (${xs.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
} finally {
  removeWorktree(join(work, 'baseline'));
  rmSync(work, { recursive: true, force: true });
}
