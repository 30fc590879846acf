import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSession, ort, type Feeds } from '../../src/inference/session.js';
import { resolveStateShape } from '../../src/inference/model-contract.js';

// The shipped model at the sample's size: one chunk takes hundreds of milliseconds on the CPU,
// long enough to see whether the event loop turns while it runs.
const model = fileURLToPath(new URL('../../models/swiftvr-x2.onnx', import.meta.url));
const H = 288;
const W = 384;
const T = 4;

function feedsFor(session: ModelSession): Feeds {
  const lq = new Uint8Array((T * 3 * H * W) / 2);
  for (let i = 0; i < lq.length; i++) lq[i] = (i * 2654435761) % 251; // a fixed texture
  const feeds: Feeds = { [session.contract.input]: new ort.Tensor('uint8', lq, [1, T, (3 * H) / 2, W]) };
  for (const s of session.contract.states) {
    const dims = resolveStateShape(s, H, W);
    feeds[s.input] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  return feeds;
}

/** Runs once and counts 5 ms timer ticks that fired while the run was in flight. */
async function ticksDuring(session: ModelSession, feeds: Feeds): Promise<{ ticks: number; out: Record<string, ort.Tensor> }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const out = await session.run(feeds);
    return { ticks, out };
  } finally {
    clearInterval(timer);
  }
}

describe('ModelSession runs the model off the main thread', () => {
  let threaded: ModelSession;
  let inline: ModelSession;
  beforeAll(async () => {
    threaded = await ModelSession.open(model, { ep: 'cpu' });
    inline = await ModelSession.open(model, { ep: 'cpu', offThread: false });
  });
  afterAll(async () => {
    await threaded.release();
    await inline.release();
  });

  it('keeps the event loop turning while the model runs (frames keep flowing to ffmpeg)', async () => {
    const feeds = feedsFor(threaded);
    const inlineRun = await ticksDuring(inline, feeds);
    // onnxruntime-node's run holds the calling thread: not one tick fires during it.
    expect(inlineRun.ticks).toBe(0);
    const threadedRun = await ticksDuring(threaded, feeds);
    expect(threadedRun.ticks).toBeGreaterThanOrEqual(5);
  });

  it('gives the same outputs on the worker thread as inline, and leaves the feeds usable', async () => {
    const feeds = feedsFor(threaded);
    const a = await threaded.run(feeds);
    const b = await inline.run(feeds);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const name of Object.keys(b)) {
      expect(a[name]!.dims).toEqual(b[name]!.dims);
      const bytes = (t: ort.Tensor): Buffer => {
        const d = t.data as Uint8Array | Float32Array;
        return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      };
      expect(bytes(a[name]!).equals(bytes(b[name]!))).toBe(true);
    }
    // Feeds were copied to the thread, not transferred: still readable here.
    expect((feeds[threaded.contract.input]!.data as Uint8Array).length).toBe((T * 3 * H * W) / 2);
  });

  it('reports a failure inside the thread as a model error naming the cause', async () => {
    const feeds = feedsFor(threaded);
    const bad = { ...feeds, [threaded.contract.input]: new ort.Tensor('uint8', new Uint8Array((3 * 3 * H * W) / 2), [1, 3, (3 * H) / 2, W]) };
    // T=3 with states for T=4 is fine for the model; a wrong spatial size of a state is not.
    const s0 = threaded.contract.states[0]!;
    const dims = resolveStateShape(s0, H, W).map((d, i) => (i === 2 ? d + 1 : d));
    bad[s0.input] = new ort.Tensor('float32', new Float32Array(dims.reduce((x, y) => x * y, 1)), dims);
    await expect(threaded.run(bad)).rejects.toThrow(/inference failed/);
    // The thread survives a failed run.
    const ok = await threaded.run(feeds);
    expect(ok[threaded.contract.output]!.dims).toEqual([1, T, 3 * H, W * 2]);
  });
});
