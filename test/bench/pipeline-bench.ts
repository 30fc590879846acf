// Pipeline benchmark (`npm run bench:pipeline [-- --model m.onnx --input playlist --chunk-frames N --threads N --runs N]`).
// For one fixed input (the docs/sample clip by default) it times
//   full      restore() end to end (load, probe, decode, restore, encode, publish)
//   codec     decode + encode alone: the same segments decoded and re-encoded at the output size
//             (nearest-neighbour upscale in place of the model), stages overlapped as in the pipeline
//   model     inference alone: the decoded frames (held in memory) through the StreamRestorer
// and prints ratio = full / max(codec, model); the goal is <= 1.15 (stages overlap, not add up).
// CPU seconds (this process, the tool launcher and the ffmpeg processes it started) are printed too: on a CPU-only machine the model
// and ffmpeg share the cores, so (cpu of both parts) / cores is a floor no overlap can beat.
// The process is set up as the swiftvr bin sets up its own (V8's collection limits).
import '../../src/cli/heap-setup.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { SegmentRef, YuvFrame } from '../../src/types.js';
import { upscale2x } from '../media/media-fixtures.js';
import { readModelContract } from '../../src/inference/model-contract.js';
import { openRestorer } from '../../src/inference/restorer.js';
import { readSourcePlan } from '../../src/hls/playlist-reader.js';
import { createSegmentEncoder } from '../../src/media/encoder.js';
import { BoundedQueue, pump } from '../../src/pipeline/bounded-queue.js';
import { restore } from '../../src/pipeline/restore.js';
import { prepareSegment, type PreparedSegment, type SegmentInput } from '../../src/pipeline/segment-input.js';
import { frameLimitFor } from '../../src/media/frame-limit.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'models', 'swiftvr-x2.onnx') },
    input: { type: 'string', default: join(ROOT, 'docs', 'sample', 'hls', 'index.m3u8') },
    'chunk-frames': { type: 'string' },
    threads: { type: 'string' },
    encoder: { type: 'string', default: 'auto' },
    runs: { type: 'string', default: '1' },
  },
});
const model = values.model!;
if (!existsSync(model)) {
  console.error(`bench: model ${model} does not exist; pass --model <onnx> (e.g. test/fixtures/model/swiftvr-fixture.onnx)`);
  process.exit(2);
}
const chunkFrames = values['chunk-frames'] !== undefined ? Number(values['chunk-frames']) : undefined;
const threads = values.threads !== undefined ? Number(values.threads) : undefined;
const encoder = values.encoder as 'auto' | 'libx264' | 'h264_nvenc';
const input = values.input!;
const runs = Number(values.runs);
/** The bench decodes before it knows the provider: accept up to the GPU ceiling. */
const limit = frameLimitFor('cuda');
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench: --runs is ${values.runs}; it must be an integer >= 1`);
  process.exit(2);
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** utime + stime + cutime + cstime of a process, in seconds (/proc/<pid>/stat, Linux). */
function processCpu(pid: number | 'self'): { ppid: number; seconds: number } {
  // After the ")": state is field 3, so ppid (field 4) sits at index 1 and utime..cstime (fields 14..17) at 11..14.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return { ppid: Number(fields[1]), seconds: fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) / 100 };
}

/**
 * CPU seconds of this process and of its children, living (the tool launcher, which starts ffmpeg
 * and reaps it, so ffmpeg's CPU is the launcher's children's) and reaped, from /proc (Linux).
 */
function cpuSeconds(): number {
  try {
    let total = processCpu('self').seconds;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const p = processCpu(Number(entry));
        if (p.ppid === process.pid) total += p.seconds;
      } catch {
        // The process ended meanwhile.
      }
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

async function segmentInputs(): Promise<{ refs: readonly SegmentRef[]; inputs: SegmentInput[] }> {
  const plan = await readSourcePlan(input);
  const inputs: SegmentInput[] = [];
  for (const ref of plan.media.segments) {
    const bytes = await plan.source.load(ref.location);
    const initBytes = ref.map ? await plan.source.load(ref.map.location) : undefined;
    inputs.push({ sn: ref.sn, uri: ref.uri, container: plan.media.container, bytes, ...(initBytes ? { initBytes } : {}) });
  }
  return { refs: plan.media.segments, inputs };
}

/** Decode + encode at the output size, the next segment decoding while this one encodes. */
async function codecOnly(inputs: readonly SegmentInput[], scale: number, work: string): Promise<number> {
  const t0 = performance.now();
  const prep = (i: number): Promise<PreparedSegment> => prepareSegment(inputs[i]!, { workDir: work, limit });
  let next = prep(0);
  const encodes: Promise<unknown>[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const p = await next;
    if (i + 1 < inputs.length) next = prep(i + 1);
    const enc = createSegmentEncoder({
      sourcePath: p.sourcePath,
      info: p.info,
      width: p.info.video.width * scale,
      height: p.info.video.height * scale,
      container: p.input.container,
      outPath: join(work, `codec-${i}.${p.input.container === 'ts' ? 'ts' : 'm4s'}`),
      ...(p.input.container === 'fmp4' ? { initOutPath: join(work, 'codec-init.mp4') } : {}),
      encoder,
    });
    const q = new BoundedQueue<YuvFrame>(8);
    const up = (async function* () {
      for await (const f of p.frames) yield upscale2x(f);
    })();
    const feeding = pump(up, q);
    const encoding = (async () => {
      for await (const f of q) await enc.write(f);
      await feeding;
      await enc.finish();
      await p.dispose();
    })();
    await feeding;
    if (encodes.length > 0) await encodes.shift();
    encodes.push(encoding);
  }
  await Promise.all(encodes);
  return seconds(t0);
}

/** Inference alone on frames decoded beforehand (decode not timed). */
async function modelOnly(
  inputs: readonly SegmentInput[],
  work: string,
): Promise<{ s: number; cpu: number; frames: number; provider: string }> {
  const segments: YuvFrame[][] = [];
  for (const input of inputs) {
    const p = await prepareSegment(input, { workDir: work, limit });
    const frames: YuvFrame[] = [];
    for await (const f of p.frames) frames.push(f);
    await p.dispose();
    segments.push(frames);
  }
  const restorer = await openRestorer(model, {
    ep: 'auto',
    ...(threads !== undefined ? { intraOpThreads: threads } : {}),
    ...(chunkFrames !== undefined ? { chunkFrames } : {}),
  });
  try {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    let n = 0;
    for (const frames of segments) {
      for (const f of frames) n += (await restorer.push(f)).length;
      n += (await restorer.flush()).length;
    }
    return { s: seconds(t0), cpu: cpuSeconds() - c0, frames: n, provider: restorer.provider };
  } finally {
    await restorer.close();
  }
}

const work = await mkdtemp(join(tmpdir(), 'swiftvr-bench-'));
try {
  const { inputs } = await segmentInputs();
  const scale = (await readModelContract(model)).scale;

  // Each measurement `runs` times, interleaved (so a burst of other load hits all three), median kept.
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const m = {
    full: [] as number[],
    fullCpu: [] as number[],
    codec: [] as number[],
    codecCpu: [] as number[],
    inf: [] as number[],
    infCpu: [] as number[],
  };
  let frames = 0;
  let provider = '';
  for (let run = 0; run < runs; run++) {
    const cFull = cpuSeconds();
    const tFull = performance.now();
    const summary = await restore({
      input,
      outDir: join(work, `out-${run}`),
      modelPath: model,
      encoder,
      ...(chunkFrames !== undefined ? { chunkFrames } : {}),
      ...(threads !== undefined ? { inferenceThreads: threads } : {}),
    });
    m.full.push(seconds(tFull));
    m.fullCpu.push(cpuSeconds() - cFull);
    frames = summary.frames;
    const cCodec = cpuSeconds();
    m.codec.push(await codecOnly(inputs, scale, work));
    m.codecCpu.push(cpuSeconds() - cCodec);
    const r = await modelOnly(inputs, work);
    m.inf.push(r.s);
    m.infCpu.push(r.cpu);
    provider = r.provider;
  }
  const full = median(m.full);
  const fullCpu = median(m.fullCpu);
  const codec = median(m.codec);
  const codecCpu = median(m.codecCpu);
  const inf = { s: median(m.inf), cpu: median(m.infCpu), frames, provider };
  const ratio = full / Math.max(codec, inf.s);
  const cores = cpus().length;
  // When the parts together need more CPU than the cores give, overlap cannot beat this floor.
  const cpuFloor = (codecCpu + inf.cpu) / cores;
  console.log(`input        ${input} (${inputs.length} segments, ${frames} frames); median of ${runs} run(s)`);
  console.log(`model        ${model} (scale ${scale}, ${inf.provider}, chunk ${chunkFrames ?? 't_max'})`);
  console.log(`machine      ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`full         ${full.toFixed(2)} s  (${(frames / full).toFixed(2)} fps)  cpu ${fullCpu.toFixed(2)} s`);
  console.log(`decode+enc   ${codec.toFixed(2)} s  (${(frames / codec).toFixed(2)} fps)  cpu ${codecCpu.toFixed(2)} s`);
  console.log(`inference    ${inf.s.toFixed(2)} s  (${(inf.frames / inf.s).toFixed(2)} fps)  cpu ${inf.cpu.toFixed(2)} s`);
  console.log(`ratio        ${ratio.toFixed(3)}  full / max(decode+enc, inference); goal <= 1.15`);
  console.log(
    `cpu floor    ${cpuFloor.toFixed(2)} s  (cpu of both parts / ${cores} cores); full / max(parts, floor) = ` +
      `${(full / Math.max(codec, inf.s, cpuFloor)).toFixed(3)}`,
  );
  console.log(
    JSON.stringify({
      input,
      model,
      provider: inf.provider,
      segments: inputs.length,
      frames,
      fullSeconds: Number(full.toFixed(3)),
      decodeEncodeSeconds: Number(codec.toFixed(3)),
      inferenceSeconds: Number(inf.s.toFixed(3)),
      ratio: Number(ratio.toFixed(3)),
      cores,
      fullCpuSeconds: Number(fullCpu.toFixed(2)),
      decodeEncodeCpuSeconds: Number(codecCpu.toFixed(2)),
      inferenceCpuSeconds: Number(inf.cpu.toFixed(2)),
      ratioToCpuFloor: Number((full / Math.max(codec, inf.s, cpuFloor)).toFixed(3)),
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
