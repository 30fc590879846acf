// Memory benchmark (`npm run bench:memory -- [options]`): peak resident memory of
// `swiftvr restore` on the CPU at given input sizes. Per size it cuts a 2 s HLS stream from a real
// clip (scaled to the size, 10 fps, one segment), runs the built CLI on it and samples
// /proc every 50 ms: the swiftvr process's own peak (VmHWM: main thread, inference thread,
// onnxruntime) and the peak of the whole process tree at one instant (swiftvr plus its ffmpeg
// decoder and encoder).
//
// Options:
//   --sizes <list>     input sizes, comma-separated (default 1280x720,1920x1080)
//   --video <file>     source clip (default: OpenCV's vtest.avi as fetched by
//                      `.venv/bin/python -m models.swiftvr.benchmark prepare`)
//   --model <onnx>     default models/swiftvr-x2.onnx
//   --threads <n>      onnxruntime intra-op threads (default 2)
//   --help             this text
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../cloud/cloud-harness.js';
import { benchFailer, exitWithHelpIf, requireVideo } from './bench-help.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1280x720,1920x1080' },
    video: { type: 'string', default: path.join(REPO, 'models/data/raw/x/usr/share/doc/opencv-doc/examples/data/vtest.avi') },
    model: { type: 'string', default: path.join(REPO, 'models/swiftvr-x2.onnx') },
    threads: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h' },
  },
});
await exitWithHelpIf(values.help === true, import.meta.url);
const fail = benchFailer('bench:memory');
requireVideo(values.video!, fail);
const CLI = path.join(REPO, 'dist/src/cli/main.js');
if (!existsSync(CLI)) fail(`${CLI} is missing; run \`npm run build\` first (npm run bench:memory does)`);
const sizes = values.sizes!.split(',').map((s) => {
  const m = /^(\d+)x(\d+)$/.exec(s.trim()) ?? fail(`size ${s} is not WxH`);
  return { width: Number(m[1]), height: Number(m[2]) };
});

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`))));
  });
}

/** kB fields of /proc/<pid>/status (0 when the process is gone). */
async function status(pid: number): Promise<{ rss: number; hwm: number }> {
  try {
    const s = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Every descendant of pid (from /proc/<n>/stat parent links). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      parents.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of parents) if (parent === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

async function measure(
  size: { width: number; height: number },
  work: string,
): Promise<{ selfMiB: number; treeMiB: number; seconds: number; frames: number }> {
  const dir = await mkdtemp(path.join(work, `in-${size.width}x${size.height}-`));
  await run('ffmpeg', [
    '-v',
    'error',
    '-ss',
    '5',
    '-t',
    '2',
    '-i',
    values.video!,
    '-vf',
    `scale=${size.width}:${size.height}:flags=bicubic,fps=10`,
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '28',
    '-g',
    '20',
    '-pix_fmt',
    'yuv420p',
    '-f',
    'hls',
    '-hls_time',
    '2',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(dir, 'seg_%03d.ts'),
    path.join(dir, 'index.m3u8'),
  ]);
  const out = path.join(work, `out-${size.width}x${size.height}`);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [CLI, 'restore', path.join(dir, 'index.m3u8'), '--out', out, '--model', values.model!, '--ep', 'cpu', '--json'],
    {
      env: { ...process.env, SWIFTVR_THREADS: values.threads! },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  let self = 0;
  let tree = 0;
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    const own = await status(child.pid!);
    const kids = await Promise.all((await descendants(child.pid!)).map(status));
    self = Math.max(self, own.hwm);
    tree = Math.max(tree, own.rss + kids.reduce((a, k) => a + k.rss, 0));
    await new Promise((r) => setTimeout(r, 50));
  }
  const code = await exited;
  if (code !== 0) throw new Error(`swiftvr restore exited ${code}: ${stderr.slice(-2000)}`);
  // --json prints the job's events; COMPLETE counts the frames.
  const complete = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; frames?: number })
    .find((e) => e.type === 'COMPLETE');
  const frames = complete?.frames ?? 0;
  return { selfMiB: self / 1024, treeMiB: tree / 1024, seconds: (Date.now() - started) / 1000, frames };
}

const work = await mkdtemp(path.join(tmpdir(), 'swiftvr-membench-'));
try {
  console.log(
    `swiftvr restore on the CPU (${values.threads} onnxruntime threads), ${path.relative(REPO, values.model!)}; ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  );
  console.log('input        output       frames  seconds  peak RSS swiftvr  peak RSS with ffmpeg');
  for (const size of sizes) {
    const r = await measure(size, work);
    console.log(
      `${`${size.width}x${size.height}`.padEnd(12)} ${`${size.width * 2}x${size.height * 2}`.padEnd(12)} ${String(r.frames).padStart(6)}  ${r.seconds.toFixed(1).padStart(7)}  ${`${r.selfMiB.toFixed(0)} MiB`.padStart(16)}  ${`${r.treeMiB.toFixed(0)} MiB`.padStart(19)}`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
