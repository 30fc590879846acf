// Encoding 4K frames through a pipe against encoding them in process (`npm run bench:in-process
// [-- --runs N]`): the main thread's CPU per 3840x2160 frame when the restore's encoder writes the
// raw frame into ffmpeg's stdin (libx264, veryfast, CRF 20, as the product does), against the same
// frames handed to libx264 inside this process through FFmpeg's libraries (node-av: the frame's
// bytes copied into an AVFrame, the packets taken back and counted). The frames are the 1080p test
// stream's, upscaled by ffmpeg and held in memory, so neither side decodes while it is measured.
// node-av is not a dependency of the product (its prebuilt FFmpeg is a 175 MB native module): install
// it beside the checkout first, `npm install --no-save node-av@6.1.1`. The figure tells what raw
// frames crossing a pipe cost against the in-process route, the only one that takes the copy into the
// kernel off the main thread's path.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeFrames } from '../../src/media/decoder.js';
import { createSegmentEncoder } from '../../src/media/encoder.js';
import { probeSegment } from '../../src/media/probe.js';
import type { YuvFrame } from '../../src/types.js';
import { median } from './baseline-build.js';
import { benchFailer, exitWithHelpIf, writeHdTestStream } from './bench-help.js';
import { threadCpuMs, threadsCpuMs } from './main-thread-cpu-probe.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, help: { type: 'boolean' } } });
await exitWithHelpIf(values.help === true, import.meta.url);
const fail = benchFailer('bench:in-process');

// Loaded by name at run time: not a dependency of the product.
const NODE_AV = 'node-av/lib';
const NODE_AV_CONSTANTS = 'node-av/constants';
let av: any;
let avc: any;
try {
  av = await import(NODE_AV);
  avc = await import(NODE_AV_CONSTANTS);
} catch (e) {
  fail(`node-av could not be loaded (${(e as Error).message.split('\n')[0]}); install it first: npm install --no-save node-av@6.1.1`);
}

/** CPU ms of this process: the main thread, and all its other threads together. */
function cpu(): { main: number; others: number } {
  return { main: threadCpuMs(process.pid), others: threadsCpuMs((_, tid) => tid !== String(process.pid)) };
}

const W = 3840;
const H = 2160;
const work = mkdtempSync(join(tmpdir(), 'swiftvr-in-process-'));
try {
  const input = join(work, 'in');
  mkdirSync(input);
  writeHdTestStream(input, '2');
  const segment = join(input, 's0.ts');
  const info = await probeSegment(segment, 'ts');
  const frames: YuvFrame[] = [];
  for await (const f of decodeFrames(segment, info, { scale: 2 })) frames.push({ ...f, data: f.data.slice() });
  const n = frames.length;
  if (n === 0 || frames[0]!.width !== W) fail(`the test stream decoded to ${n} frames of ${frames[0]?.width ?? 0} pixels wide`);

  const pipe = { main: [] as number[], others: [] as number[] };
  const inProcess = { main: [] as number[], others: [] as number[] };
  for (let r = 0; r < Number(values.runs); r++) {
    // Through the pipe: the product's segment encoder (its ffmpeg runs in another process).
    let c0 = cpu();
    const enc = createSegmentEncoder({
      sourcePath: segment,
      info,
      width: W,
      height: H,
      container: 'ts',
      outPath: join(work, `o${r}.ts`),
      encoder: 'libx264',
    });
    for (const f of frames) await enc.write(f);
    await enc.finish();
    let c1 = cpu();
    pipe.main.push((c1.main - c0.main) / n);
    pipe.others.push((c1.others - c0.others) / n);

    // In process: libx264 through FFmpeg's libraries, the same preset and CRF.
    c0 = cpu();
    const codec = av.Codec.findEncoderByName('libx264');
    const ctx = new av.CodecContext();
    ctx.allocContext3(codec);
    ctx.width = W;
    ctx.height = H;
    ctx.pixelFormat = avc.AV_PIX_FMT_YUV420P;
    ctx.timeBase = { num: 1, den: 25 };
    ctx.framerate = { num: 25, den: 1 };
    const opts = new av.Dictionary();
    opts.set('preset', 'veryfast');
    opts.set('crf', '20');
    opts.set('profile', 'high');
    if ((await ctx.open2(codec, opts)) < 0) fail('libx264 did not open in process');
    const frame = new av.Frame();
    frame.alloc();
    frame.width = W;
    frame.height = H;
    frame.format = avc.AV_PIX_FMT_YUV420P;
    if (frame.allocBuffer() < 0) fail('no AVFrame buffer');
    const pkt = new av.Packet();
    pkt.alloc();
    let packets = 0;
    const drain = async (): Promise<void> => {
      while ((await ctx.receivePacket(pkt)) >= 0) {
        packets++;
        pkt.unref();
      }
    };
    for (const [i, f] of frames.entries()) {
      // The encoder may still hold the previous picture: a fresh buffer when it is shared.
      if (frame.makeWritable() < 0) fail('AVFrame not writable');
      frame.fromBuffer(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength));
      frame.pts = BigInt(i);
      if ((await ctx.sendFrame(frame)) < 0) fail(`libx264 refused frame ${i}`);
      await drain();
    }
    await ctx.sendFrame(null);
    await drain();
    frame.free();
    pkt.free();
    ctx.freeContext();
    c1 = cpu();
    if (packets !== n) fail(`in-process libx264 gave ${packets} packets for ${n} frames`);
    inProcess.main.push((c1.main - c0.main) / n);
    inProcess.others.push((c1.others - c0.others) / n);
  }
  const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} ms (${xs.map((x) => x.toFixed(2)).join(', ')})`;
  console.log(`${n} frames of ${W}x${H}, libx264 veryfast CRF 20, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})`);
  console.log(`pipe        main thread ${fmt(pipe.main)} CPU per frame; this process's other threads ${fmt(pipe.others)}`);
  console.log(`in process  main thread ${fmt(inProcess.main)} CPU per frame; this process's other threads ${fmt(inProcess.others)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
