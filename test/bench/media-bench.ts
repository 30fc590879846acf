// Media stage throughput at 384x288 -> 768x576 (2x nearest upscale standing in for the model):
// decode alone, encode alone, and decode -> upscale -> encode of whole segments.
// Run: nice npx tsx test/bench/media-bench.ts [--frames 200] [--preset veryfast] [--threads 4]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { decodeFrames } from '../../src/media/decoder.js';
import { createSegmentEncoder } from '../../src/media/encoder.js';
import { probeSegment } from '../../src/media/probe.js';
import type { YuvFrame, SegmentMediaInfo } from '../../src/types.js';
import { upscale2x } from '../media/media-fixtures.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '200' },
    preset: { type: 'string', default: 'veryfast' },
    threads: { type: 'string', default: '4' },
  },
});
const frames = Number(values.frames);
const rate = 25;
// A real clip (opencv-doc's vtest.avi, people walking, 768x576, fetched by
// `.venv/bin/python -m models.swiftvr.benchmark prepare`) scaled down, when present; else lavfi.
const sample = path.join(import.meta.dirname, '../../models/data/raw/x/usr/share/doc/opencv-doc/examples/data/vtest.avi');
const dir = await mkdtemp(path.join(os.tmpdir(), 'swiftvr-media-bench-'));
const playlist = path.join(dir, 'src.m3u8');
const input = existsSync(sample)
  ? ['-stream_loop', '-1', '-i', sample, '-f', 'lavfi', '-i', `sine=f=440:r=44100`]
  : ['-f', 'lavfi', '-i', `testsrc2=s=384x288:r=${rate}`, '-f', 'lavfi', '-i', 'sine=f=440:r=44100'];
execFileSync('ffmpeg', [
  '-nostdin',
  '-v',
  'error',
  '-y',
  ...input,
  '-frames:v',
  String(frames),
  '-t',
  String(frames / rate),
  '-vf',
  `scale=384:288,fps=${rate}`,
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-crf',
  '23',
  '-g',
  String(rate * 4),
  '-c:a',
  'aac',
  '-b:a',
  '64k',
  '-f',
  'hls',
  '-hls_time',
  '4',
  '-hls_playlist_type',
  'vod',
  '-hls_segment_filename',
  path.join(dir, 'src-%d.ts'),
  playlist,
]);
const segments = (await readFile(playlist, 'utf8'))
  .split('\n')
  .filter((l) => l.endsWith('.ts'))
  .map((l) => path.join(dir, l));
const infos: SegmentMediaInfo[] = [];
for (const s of segments) infos.push(await probeSegment(s, 'ts'));
const total = infos.reduce((n, i) => n + i.video.frameCount, 0);

const encOpts = { encoder: 'libx264' as const, preset: values.preset, threads: Number(values.threads) };

/** CPU seconds of this process plus its finished children (Linux /proc), to read through other load. */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 after the command name.
  const ticks = [11, 12, 13, 14].reduce((n, i) => n + Number(fields[i]), 0);
  return ticks / 100;
}

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  console.log(
    `${label.padEnd(40)} ${s.toFixed(2)} s wall ${(total / s).toFixed(1).padStart(6)} frames/s | ` +
      `${cpu.toFixed(2)} CPU-s ${(total / cpu).toFixed(1).padStart(6)} frames/CPU-s`,
  );
  return s;
}

console.log(
  `load average ${os.loadavg()[0]!.toFixed(1)}; source: ${existsSync(sample) ? 'vtest.avi scaled to 384x288' : 'lavfi testsrc2 384x288'}, ` +
    `${segments.length} segments, ${total} frames; encoder libx264 preset ${values.preset} threads ${values.threads}; ${os.cpus().length} CPUs`,
);

const upscaled: YuvFrame[][] = [];
await timed('decode (yuv420p 384x288)', async () => {
  for (const [i, s] of segments.entries()) for await (const f of decodeFrames(s, infos[i]!)) void f;
});
await timed('decode + 2x nearest upscale (JS)', async () => {
  for (const [i, s] of segments.entries()) {
    const list: YuvFrame[] = [];
    for await (const f of decodeFrames(s, infos[i]!)) list.push(upscale2x(f));
    upscaled.push(list);
  }
});
await timed('encode alone (768x576, audio copy)', async () => {
  for (const [i, s] of segments.entries()) {
    const info = infos[i]!;
    const enc = createSegmentEncoder({
      ...encOpts,
      sourcePath: s,
      info,
      width: 768,
      height: 576,
      container: 'ts',
      outPath: path.join(dir, `enc-${i}.ts`),
    });
    for (const f of upscaled[i]!) await enc.write(f);
    await enc.finish();
  }
});
await timed('decode -> upscale -> encode (streamed)', async () => {
  for (const [i, s] of segments.entries()) {
    const info = infos[i]!;
    const enc = createSegmentEncoder({
      ...encOpts,
      sourcePath: s,
      info,
      width: 768,
      height: 576,
      container: 'ts',
      outPath: path.join(dir, `out-${i}.ts`),
    });
    for await (const f of decodeFrames(s, info)) await enc.write(upscale2x(f));
    await enc.finish();
  }
});
await rm(dir, { recursive: true, force: true });
