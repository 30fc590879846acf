// The pipes alone (`npm run bench:pipes [-- --seconds N --runs N]`): the main thread's CPU per frame
// for the two raw-frame crossings of a 1920x1080 -> 3840x2160 restore, without the model:
//   decode   ffmpeg's 1080p frames read from its stdout into the frame pool (the restore's decoder,
//            frames in blocks of 4)
//   encode   4K frames written into libx264's stdin (the restore's encoder), each block of 4 frames
//            arriving from another thread as one transferred buffer, as the model's chunks do
// and the CPU of V8's background threads beside each. The floor of bench:host's main-thread figure
// while raw frames cross pipes. Also the main thread's CPU per tool started through the tool
// launcher (`ffprobe -version`), what a process per segment costs against one kept per stream.
// And the floor under both: the main thread's CPU to write a frame of each size into a pipe that a
// process reading to /dev/null empties (`cat`; Node gives a child's stdio as a socket pair), against
// copying the same bytes within the process.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { decodeFrames } from '../../src/media/decoder.js';
import { createSegmentEncoder } from '../../src/media/encoder.js';
import { spawnTool } from '../../src/media/ffmpeg.js';
import { probeSegment } from '../../src/media/probe.js';
import { framePool } from '../../src/util/frame-pool.js';
import { median } from './baseline-build.js';
import { writeHdTestStream } from './bench-help.js';
import { threadCpuMs, threadsCpuMs } from './main-thread-cpu-probe.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' } } });

/** CPU ms of this process's threads: the main thread, and those V8 names V8Worker. */
function cpu(): { main: number; background: number } {
  return { main: threadCpuMs(process.pid), background: threadsCpuMs((name) => name === 'V8Worker') };
}

const work = mkdtempSync(join(tmpdir(), 'swiftvr-pipes-'));
try {
  const input = join(work, 'in');
  mkdirSync(input);
  writeHdTestStream(input, values.seconds!);
  const segments = readdirSync(input)
    .filter((f) => f.endsWith('.ts'))
    .sort((a, b) => Number(a.slice(1, -3)) - Number(b.slice(1, -3)))
    .map((f) => join(input, f));
  const infos = await Promise.all(segments.map((s) => probeSegment(s, 'ts')));
  const frames = infos.reduce((n, i) => n + i.video.frameCount, 0);
  const FRAME = (3840 * 2160 * 3) / 2;
  // Blocks of 4 4K frames made on another thread and transferred, as the model's output arrives.
  const maker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', () => { const b = new Uint8Array(${4 * FRAME}); for (let i = 0; i < b.length; i += 4096) b[i] = (i >> 12) & 255; parentPort.postMessage(b, [b.buffer]); });`,
    { eval: true },
  );
  const block = (): Promise<Uint8Array> =>
    new Promise((resolve) => {
      maker.once('message', resolve);
      maker.postMessage(0);
    });

  const decode = { main: [] as number[], background: [] as number[] };
  const encode = { main: [] as number[], background: [] as number[] };
  for (let r = 0; r < Number(values.runs); r++) {
    let c0 = cpu();
    for (let k = 0; k < segments.length; k++) {
      for await (const f of decodeFrames(segments[k]!, infos[k]!, { framesPerBuffer: 4 })) {
        if (f.data.byteOffset + f.data.byteLength === f.data.buffer.byteLength) framePool.give(f.data.buffer as ArrayBuffer);
      }
    }
    let c1 = cpu();
    decode.main.push((c1.main - c0.main) / frames);
    decode.background.push((c1.background - c0.background) / frames);

    const out = join(work, `out-${r}`);
    mkdirSync(out);
    c0 = cpu();
    for (let k = 0; k < segments.length; k++) {
      const info = infos[k]!;
      const enc = createSegmentEncoder({
        sourcePath: segments[k]!,
        info,
        width: 3840,
        height: 2160,
        container: 'ts',
        outPath: join(out, `o${k}.ts`),
        encoder: 'libx264',
      });
      for (let i = 0; i < info.video.frameCount; i += 4) {
        const b = await block();
        for (let j = 0; j < 4 && i + j < info.video.frameCount; j++) {
          await enc.write({ width: 3840, height: 2160, data: b.subarray(j * FRAME, (j + 1) * FRAME) });
        }
      }
      await enc.finish();
    }
    c1 = cpu();
    encode.main.push((c1.main - c0.main) / frames);
    encode.background.push((c1.background - c0.background) / frames);
  }
  await maker.terminate();
  const spawns: number[] = [];
  await (
    await spawnTool('ffprobe', ['-version'])
  ).exit;
  for (let r = 0; r < Number(values.runs); r++) {
    const c0 = cpu();
    for (let i = 0; i < 50; i++) await (await spawnTool('ffprobe', ['-version'])).exit;
    spawns.push((cpu().main - c0.main) / 50);
  }
  // The floor: the kernel's copy into a socket against a copy in memory, per frame of each size.
  const floor = async (bytes: number): Promise<{ pipe: number[]; copy: number[] }> => {
    const src = new Uint8Array(bytes).fill(7);
    const dst = new Uint8Array(bytes);
    const n = Math.max(50, Math.round(2e9 / bytes));
    const pipe: number[] = [];
    const copy: number[] = [];
    for (let r = 0; r < Number(values.runs); r++) {
      const cat = spawn('sh', ['-c', 'exec cat >/dev/null'], { stdio: ['pipe', 'ignore', 'inherit'] });
      const exited = new Promise((resolve) => cat.once('exit', resolve));
      let c0 = cpu();
      for (let i = 0; i < n; i++) if (!cat.stdin.write(src)) await new Promise((resolve) => cat.stdin.once('drain', resolve));
      cat.stdin.end();
      await exited;
      pipe.push((cpu().main - c0.main) / n);
      c0 = cpu();
      for (let i = 0; i < n; i++) dst.set(i % 2 === 0 ? src : src.subarray(0));
      copy.push((cpu().main - c0.main) / n);
    }
    return { pipe, copy };
  };
  const floors = [await floor(FRAME / 4), await floor(FRAME)];
  const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} ms (${xs.map((x) => x.toFixed(2)).join(', ')})`;
  console.log(
    `${frames} frames, 1920x1080 decoded, 3840x2160 encoded (libx264), ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})`,
  );
  console.log(`decode   main thread ${fmt(decode.main)} CPU per frame; V8 background ${fmt(decode.background)}`);
  console.log(`encode   main thread ${fmt(encode.main)} CPU per frame; V8 background ${fmt(encode.background)}`);
  console.log(`spawn    main thread ${fmt(spawns)} CPU per tool started`);
  for (const [i, f] of floors.entries()) {
    const label = i === 0 ? '1080p frame (3.1 MB)' : '4K frame (12.4 MB)';
    console.log(`floor    ${label}: into a pipe read by cat ${fmt(f.pipe)}; copied in memory ${fmt(f.copy)} main-thread CPU`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
