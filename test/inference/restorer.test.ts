// The restorer as the pipeline sees it: an inference thread that owns the session and the carried
// state, behind a proxy with the same interface as the inline restorer.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestorer, type Restorer } from '../../src/inference/restorer.js';
import { offeredProviders } from '../../src/inference/session.js';
import { framePool } from '../../src/util/frame-pool.js';
import { yuvFrameBytes } from '../../src/types.js';
import type { YuvFrame } from '../../src/types.js';
import { STATEFUL_TOY_MODEL } from './fixture-model.js';

// The shipped model at the sample's size: one chunk takes hundreds of milliseconds on the CPU,
// long enough to see whether the event loop turns while it runs.
const SHIPPED = fileURLToPath(new URL('../../models/swiftvr-x2.onnx', import.meta.url));
const W = 384;
const H = 288;

function frame(i: number, w = W, h = H): YuvFrame {
  const data = new Uint8Array(yuvFrameBytes(w, h));
  for (let k = 0; k < data.length; k++) data[k] = (k * 2654435761 + i * 97) % 251;
  return { width: w, height: h, data };
}

async function restoreAll(r: Restorer, frames: readonly YuvFrame[]): Promise<YuvFrame[]> {
  const out: YuvFrame[] = [];
  for (const f of frames) out.push(...(await r.push(f)));
  out.push(...(await r.flush()));
  return out;
}

const bytesOf = (frames: readonly YuvFrame[]): Buffer => Buffer.concat(frames.map((f) => Buffer.from(f.data)));

describe('the inference thread', () => {
  let threaded: Restorer;
  let inline: Restorer;
  beforeAll(async () => {
    threaded = await openRestorer(SHIPPED, { ep: 'cpu' });
    inline = await openRestorer(SHIPPED, { ep: 'cpu', inline: true });
  });
  afterAll(async () => {
    await threaded.close();
    await inline.close();
  });

  it('keeps the event loop turning while the model runs (frames keep flowing to ffmpeg)', async () => {
    const ticksDuring = async (r: Restorer): Promise<number> => {
      for (let i = 0; i < r.chunkFrames - 1; i++) await r.push(frame(i));
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      try {
        await r.push(frame(r.chunkFrames)); // completes the chunk: the model runs
      } finally {
        clearInterval(timer);
      }
      await r.reset();
      return ticks;
    };
    // onnxruntime-node's run holds the calling thread: inline, no tick fires while it runs (one
    // may fire before it starts: the run is scheduled with setImmediate).
    expect(await ticksDuring(inline)).toBeLessThanOrEqual(1);
    expect(await ticksDuring(threaded)).toBeGreaterThanOrEqual(5);
  });

  it('gives the same frames and state as the inline restorer', async () => {
    const input = Array.from({ length: 6 }, (_, i) => frame(i));
    const a = await restoreAll(
      threaded,
      input.map((f) => ({ ...f, data: f.data.slice() })),
    );
    const b = await restoreAll(inline, input);
    expect(a.map((f) => [f.width, f.height])).toEqual(b.map((f) => [f.width, f.height]));
    expect(bytesOf(a).equals(bytesOf(b))).toBe(true);
    expect(Buffer.from(await threaded.snapshot()).equals(Buffer.from(await inline.snapshot()))).toBe(true);
    await threaded.reset();
    await inline.reset();
  });

  it("takes frames as transferred buffers, a chunk at a time: once its chunk went, a pushed frame is no longer the caller's", async () => {
    const frames = Array.from({ length: threaded.chunkFrames }, (_, i) => frame(i));
    for (const f of frames) await threaded.push(f);
    expect(frames.map((f) => f.data.byteLength)).toEqual(frames.map(() => 0));
    await threaded.reset();
  });

  it("sends a decoder's block of a chunk's frames whole, and copies a frame whose buffer it shares with frames not in the chunk", async () => {
    await threaded.reset();
    const n = threaded.chunkFrames;
    const bytes = yuvFrameBytes(W, H);
    const block = new Uint8Array(n * bytes);
    const views = Array.from({ length: n }, (_, i) => ({ width: W, height: H, data: block.subarray(i * bytes, (i + 1) * bytes) }));
    views.forEach((v, i) => v.data.set(frame(i).data));
    const out = await restoreAll(threaded, views);
    expect(out).toHaveLength(n);
    expect(block.byteLength).toBe(0);
    // Two frames of a three-frame block in one chunk: the third stays readable.
    const shared = new Uint8Array(3 * bytes).fill(7);
    const [a, b, c] = [0, 1, 2].map((i) => ({ width: W, height: H, data: shared.subarray(i * bytes, (i + 1) * bytes) }));
    await restoreAll(threaded, [a!, b!]);
    expect(c!.data.byteLength).toBe(bytes);
    expect(c!.data[0]).toBe(7);
  });

  it("hands the buffers of a chunk's input frames back to the frame pool once the chunk has run", async () => {
    await threaded.reset();
    const before = framePool.size;
    const frames = Array.from({ length: threaded.chunkFrames }, (_, i) => frame(i));
    for (const f of frames.slice(0, -1)) expect(await threaded.push(f)).toEqual([]);
    expect(framePool.size).toBe(before);
    const out = await threaded.push(frames.at(-1)!);
    expect(out).toHaveLength(threaded.chunkFrames);
    expect(framePool.size).toBe(before + threaded.chunkFrames);
    const reused = Array.from({ length: threaded.chunkFrames }, () => framePool.take(yuvFrameBytes(W, H)));
    expect(reused.every((b) => b.byteLength === yuvFrameBytes(W, H))).toBe(true);
    await threaded.flush();
  });

  it('tells how long a segment spent in the model and how much thread CPU went to the rest', async () => {
    await threaded.reset();
    await restoreAll(threaded, [frame(0), frame(1), frame(2), frame(3), frame(4)]);
    const stats = threaded.lastSegmentStats!;
    expect(stats.modelSeconds).toBeGreaterThan(0);
    // Node 24 (the pinned runtime) tells a thread's CPU time.
    expect(stats.threadHostMs).toBeGreaterThanOrEqual(0);
    expect(stats.threadHostMs).toBeLessThan(stats.modelSeconds! * 1000);
  });

  it('reports a failure inside the thread with its kind, and goes on working', async () => {
    await threaded.push(frame(0));
    await expect(threaded.push(frame(1, 64, 48))).rejects.toMatchObject({
      kind: 'bad-input',
      message: expect.stringMatching(/differs from 384x288/),
    });
    await threaded.reset();
    const out = await restoreAll(threaded, [frame(2)]);
    expect([out[0]!.width, out[0]!.height]).toEqual([2 * W, 2 * H]);
    await expect(threaded.load(new TextEncoder().encode('not a checkpoint'))).rejects.toMatchObject({ kind: 'bad-input' });
  });
});

describe('restorer lifecycle on a model whose output depends on the state', () => {
  it('resumes on another thread from snapshot() bytes with identical frames', async () => {
    const a = await openRestorer(STATEFUL_TOY_MODEL, { ep: 'cpu', chunkFrames: 2 });
    const b = await openRestorer(STATEFUL_TOY_MODEL, { ep: 'cpu', chunkFrames: 2 });
    try {
      await restoreAll(a, [frame(0, 16, 8), frame(1, 16, 8), frame(2, 16, 8)]);
      expect(await a.hasState()).toBe(true);
      await b.load(await a.snapshot());
      const next = [frame(3, 16, 8), frame(4, 16, 8)];
      const fromB = await restoreAll(
        b,
        next.map((f) => ({ ...f, data: f.data.slice() })),
      );
      const fromA = await restoreAll(a, next);
      expect(bytesOf(fromA).equals(bytesOf(fromB))).toBe(true);
      await a.reset();
      expect(await a.hasState()).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses a chunk size above t_max when it opens, naming the flag and the limit', async () => {
    await expect(openRestorer(STATEFUL_TOY_MODEL, { ep: 'cpu', chunkFrames: 9 })).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/--chunk-frames is 9; it must be an integer from 1 to the model's t_max \(4\)/),
    });
  });

  it("chooses providers from onnxruntime-node's own backend list", () => {
    expect(offeredProviders()).toContain('cpu');
  });
});
