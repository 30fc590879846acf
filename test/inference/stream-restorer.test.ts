import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelSession, offeredProviders } from '../../src/inference/session.js';
import { StreamRestorer } from '../../src/inference/stream-restorer.js';
import { ort } from '../../src/inference/session.js';
import { yuvFrameBytes } from '../../src/types.js';
import type { YuvFrame } from '../../src/types.js';
import { FIXTURE_MODEL, STATEFUL_TOY_MODEL } from './fixture-model.js';

/** A deterministic, textured yuv420p frame; `i` shifts the pattern so frames differ. */
function frame(i: number, width: number, height: number): YuvFrame {
  const data = new Uint8Array(yuvFrameBytes(width, height));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = (x * 16 + y * 7 + i * 9) & 255;
  }
  const c = (width * height) / 4;
  for (let k = 0; k < c; k++) {
    data[width * height + k] = (k * 24 + i * 5) & 255;
    data[width * height + c + k] = (k * 11 + i * 31) & 255;
  }
  return { width, height, data };
}

const frames = (from: number, n: number, w = 24, h = 16): YuvFrame[] => Array.from({ length: n }, (_, k) => frame(from + k, w, h));

/** Feeds a segment through push/flush, as the pipeline does. */
async function restoreSegment(r: StreamRestorer, seg: readonly YuvFrame[]): Promise<YuvFrame[]> {
  const out: YuvFrame[] = [];
  for (const f of seg) out.push(...(await r.push(f)));
  out.push(...(await r.flush()));
  return out;
}

const sameFrames = (a: readonly YuvFrame[], b: readonly YuvFrame[]): boolean =>
  a.length === b.length && a.every((f, i) => Buffer.compare(Buffer.from(f.data), Buffer.from(b[i]!.data)) === 0);

describe('StreamRestorer with the fixture model', () => {
  let session: ModelSession;
  beforeAll(async () => {
    session = await ModelSession.open(FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 }, () => {});
  });
  afterAll(async () => {
    await session.release();
  });

  it('upscales by the contract scale, also sizes that are not a multiple of the alignment', async () => {
    const { scale, alignment } = session.contract;
    const w = alignment * 2 + 2;
    const h = alignment + 6;
    const r = new StreamRestorer(session, { chunkFrames: 2 });
    const out = await r.restore(frames(0, 2, w, h));
    expect(out).toHaveLength(2);
    for (const f of out) {
      expect([f.width, f.height, f.data.length]).toEqual([w * scale, h * scale, yuvFrameBytes(w * scale, h * scale)]);
    }
  });

  it('carries state across segments: equals one continuous stream with the same chunk boundaries', async () => {
    const n = 2;
    const seg1 = frames(0, 2 * n + 1); // chunks n, n, 1
    const seg2 = frames(2 * n + 1, 2 * n + 1); // chunks n, n, 1
    const bySegment = new StreamRestorer(session, { chunkFrames: n });
    const out1 = await restoreSegment(bySegment, seg1);
    const out2 = await restoreSegment(bySegment, seg2);

    const continuous = new StreamRestorer(session, { chunkFrames: n });
    const chunks = [seg1.slice(0, n), seg1.slice(n, 2 * n), seg1.slice(2 * n), seg2.slice(0, n), seg2.slice(n, 2 * n), seg2.slice(2 * n)];
    const ref: YuvFrame[] = [];
    for (const c of chunks) ref.push(...(await continuous.restore(c)));
    expect(sameFrames([...out1, ...out2], ref)).toBe(true);
    expect(Buffer.from(continuous.snapshot()).equals(Buffer.from(bySegment.snapshot()))).toBe(true);
  });

  it('hands the state of one segment to the next (not zeros)', async () => {
    // The fixture's zero-initialised output layers make its frames state-independent and its
    // memory spans two frames, so this compares the carried tensors right after a one-frame
    // next segment: they still depend on the previous segment's last frame.
    const carried = new StreamRestorer(session, { chunkFrames: 2 });
    await restoreSegment(carried, frames(0, 3));
    await restoreSegment(carried, frames(3, 1));
    const restarted = new StreamRestorer(session, { chunkFrames: 2 });
    await restoreSegment(restarted, frames(3, 1));
    expect(Buffer.from(carried.snapshot()).equals(Buffer.from(restarted.snapshot()))).toBe(false);
    carried.reset();
    expect(carried.hasState).toBe(false);
  });

  it('snapshot() and load() resume on another session with byte-identical output', async () => {
    const seg1 = frames(0, 5);
    const seg2 = frames(5, 5);
    const a = new StreamRestorer(session, { chunkFrames: 2 });
    await restoreSegment(a, seg1);
    const snap = a.snapshot();
    const expected = await restoreSegment(a, seg2);

    const other = await ModelSession.open(FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 }, () => {});
    try {
      const b = new StreamRestorer(other, { chunkFrames: 2 });
      b.load(snap);
      expect(b.hasState).toBe(true);
      expect(sameFrames(await restoreSegment(b, seg2), expected)).toBe(true);
      expect(Buffer.from(b.snapshot()).equals(Buffer.from(a.snapshot()))).toBe(true);
    } finally {
      await other.release();
    }
    // A checkpoint of a fresh stream loads as "no state".
    const empty = new StreamRestorer(session).snapshot();
    const c = new StreamRestorer(session);
    c.load(empty);
    expect(c.hasState).toBe(false);
    expect(() => c.load(snap.subarray(0, snap.length - 4))).toThrow(/state checkpoint .*truncated/);
    expect(() => c.load(new TextEncoder().encode('not a checkpoint'))).toThrow(/does not start with/);
  });

  it('rejects a chunk size above the model t_max, naming the flag and the limit', () => {
    const t = session.contract.tMax;
    expect(() => new StreamRestorer(session, { chunkFrames: t + 1 })).toThrow(
      new RegExp(`--chunk-frames is ${t + 1}; it must be an integer from 1 to the model's t_max \\(${t}\\)`),
    );
  });

  it('validates feeds against the model inputs and logs names, types and dims on failure', async () => {
    const lines: string[] = [];
    const s = await ModelSession.open(FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 }, (l) => lines.push(l));
    try {
      const lq = new ort.Tensor('uint8', new Uint8Array(12 * 8), [12, 8]);
      await expect(s.run({ [s.contract.input]: lq })).rejects.toThrow(/rank 2 \[12,8\]; the model wants rank 4/);
      expect(lines.join('\n')).toMatch(new RegExp(`${s.contract.input}: uint8\\[12,8\\]`));
      await expect(s.run({ bogus: lq })).rejects.toThrow(/feed "bogus" is not an input/);
    } finally {
      await s.release();
    }
    await expect(s.run({})).rejects.toThrow(/used after release/);
  });

  // Which of the two runs is named by whether this onnxruntime-node offers CUDA (its library installed).
  const cudaOffered = offeredProviders().includes('cuda');

  it.skipIf(!cudaOffered)('opens on CUDA where onnxruntime offers it', async () => {
    const s = await ModelSession.open(FIXTURE_MODEL, { ep: 'cuda' }, () => {});
    try {
      expect(s.provider).toBe('cuda');
    } finally {
      await s.release();
    }
  });

  it.skipIf(cudaOffered)('fails clearly when CUDA is requested but not offered', async () => {
    await expect(ModelSession.open(FIXTURE_MODEL, { ep: 'cuda' }, () => {})).rejects.toThrow(
      /--ep cuda was requested but the CUDA execution provider cannot start/,
    );
  });
});

describe('StreamRestorer with a model whose output depends on the state', () => {
  let session: ModelSession;
  beforeAll(async () => {
    session = await ModelSession.open(STATEFUL_TOY_MODEL, { ep: 'cpu', intraOpThreads: 1 }, () => {});
  });
  afterAll(async () => {
    await session.release();
  });

  /**
   * The toy's reference: luma = round(0.75 Y + 0.25 m), m = per-pixel mean luma of the previous chunk,
   * nearest x2; chroma nearest x2.
   */
  function reference(chunks: readonly (readonly YuvFrame[])[]): YuvFrame[] {
    let state: Float32Array | undefined;
    const out: YuvFrame[] = [];
    for (const chunk of chunks) {
      const { width: w, height: h } = chunk[0]!;
      for (const f of chunk) {
        const data = new Uint8Array(yuvFrameBytes(2 * w, 2 * h));
        for (let y = 0; y < 2 * h; y++) {
          for (let x = 0; x < 2 * w; x++) {
            const si = (y >> 1) * w + (x >> 1);
            data[y * 2 * w + x] = Math.min(255, Math.max(0, Math.round(0.75 * f.data[si]! + 0.25 * (state?.[si] ?? 0))));
          }
        }
        for (const [src, dst] of [
          [w * h, 4 * w * h],
          [(w * h * 5) / 4, 5 * w * h],
        ] as const) {
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) data[dst + y * w + x] = f.data[src + (y >> 1) * (w / 2) + (x >> 1)]!;
          }
        }
        out.push({ width: 2 * w, height: 2 * h, data });
      }
      state = new Float32Array(w * h).map((_, i) => chunk.reduce((a, f) => a + f.data[i]!, 0) / chunk.length);
    }
    return out;
  }

  const close = (a: readonly YuvFrame[], b: readonly YuvFrame[]): boolean =>
    a.length === b.length && a.every((f, i) => f.data.every((v, j) => Math.abs(v - b[i]!.data[j]!) <= 1));

  it('restores a single frame as the reference says (10x6 -> 20x12)', async () => {
    const r = new StreamRestorer(session, { chunkFrames: 1 });
    const f = frame(1, 10, 6);
    const [out] = await r.restore([f]);
    expect([out!.width, out!.height]).toEqual([20, 12]);
    expect(close([out!], reference([[f]]))).toBe(true);
  });

  it('carries state across segments: equal to the reference stream with the same chunk boundaries', async () => {
    const seg1 = frames(0, 5, 10, 6); // chunks 2, 2, 1
    const seg2 = frames(5, 3, 10, 6); // chunks 2, 1
    const r = new StreamRestorer(session, { chunkFrames: 2 });
    const out = [...(await restoreSegment(r, seg1)), ...(await restoreSegment(r, seg2))];
    const chunks = [seg1.slice(0, 2), seg1.slice(2, 4), seg1.slice(4), seg2.slice(0, 2), seg2.slice(2)];
    expect(close(out, reference(chunks))).toBe(true);
    // Restarting from zeros at segment 2 gives visibly different frames.
    const restarted = await restoreSegment(new StreamRestorer(session, { chunkFrames: 2 }), seg2);
    expect(sameFrames(restarted, out.slice(5))).toBe(false);
    expect(close(restarted, reference([seg2.slice(0, 2), seg2.slice(2)]))).toBe(true);
  });

  it('resumes from a snapshot with identical frames', async () => {
    const seg1 = frames(0, 3, 10, 6);
    const seg2 = frames(3, 4, 10, 6);
    const a = new StreamRestorer(session, { chunkFrames: 3 });
    await restoreSegment(a, seg1);
    const snap = a.snapshot();
    const expected = await restoreSegment(a, seg2);
    const b = new StreamRestorer(session, { chunkFrames: 3 });
    b.load(snap);
    expect(sameFrames(await restoreSegment(b, seg2), expected)).toBe(true);
    const fresh = new StreamRestorer(session, { chunkFrames: 3 });
    expect(sameFrames(await restoreSegment(fresh, seg2), expected)).toBe(false);
  });
});

describe('StreamRestorer on 10-bit frames (the HDR path)', () => {
  /** The 8-bit frame's samples x 4, as yuv420p10le bytes: the same picture at 10 bits. */
  const to10 = (f: YuvFrame): YuvFrame => {
    const samples = new Uint16Array(f.data.length);
    for (let i = 0; i < f.data.length; i++) samples[i] = f.data[i]! * 4;
    return { width: f.width, height: f.height, data: new Uint8Array(samples.buffer), bits: 10 };
  };
  const samples10 = (f: YuvFrame): Uint16Array => new Uint16Array(f.data.buffer, f.data.byteOffset, f.data.length / 2);

  it("runs 10-bit frames through the model's 10-bit graph, with the state the 8-bit graph carries", async () => {
    const session = await ModelSession.open(FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 }, () => {});
    const opened: string[] = [];
    const openP10 = (name: string): Promise<ModelSession> => {
      opened.push(name);
      return ModelSession.open(join(dirname(FIXTURE_MODEL), name), { ep: 'cpu', intraOpThreads: 1 }, () => {});
    };
    try {
      const seg1 = frames(0, 3, 10, 6);
      const seg2 = frames(3, 3, 10, 6);
      const eight = new StreamRestorer(session, { chunkFrames: 3 });
      const ref = [...(await restoreSegment(eight, seg1)), ...(await restoreSegment(eight, seg2))];
      const ten = new StreamRestorer(session, { chunkFrames: 3, openP10 });
      // 8-bit first, then 10-bit frames of the same pictures: the state goes across graphs.
      const out = [...(await restoreSegment(ten, seg1)), ...(await restoreSegment(ten, seg2.map(to10)))];
      expect(opened).toEqual(['swiftvr-fixture-p10.onnx']);
      for (const [i, f] of out.slice(3).entries()) {
        expect([f.bits, f.width, f.height, f.data.length]).toEqual([10, 20, 12, yuvFrameBytes(20, 12, 10)]);
        const s = samples10(f);
        const r = ref[3 + i]!.data;
        // 1023/255 is 4.01, not 4: the same picture within a level or two of the 8-bit scale.
        let worst = 0;
        for (let k = 0; k < s.length; k++) worst = Math.max(worst, Math.abs(s[k]! / 4 - r[k]!));
        expect(worst).toBeLessThan(2.5);
        expect(Math.max(...s)).toBeLessThanOrEqual(1023);
      }
      await ten.close();
    } finally {
      await session.release();
    }
  });

  it('refuses 10-bit frames with one clear line when the model names no 10-bit graph', async () => {
    const session = await ModelSession.open(FIXTURE_MODEL, { ep: 'cpu', intraOpThreads: 1 }, () => {});
    try {
      const r = new StreamRestorer(session, { chunkFrames: 2 });
      await expect(r.restore([to10(frame(0, 10, 6))])).rejects.toMatchObject({
        kind: 'bad-input',
        message: expect.stringMatching(
          /^the frames are 10-bit, but model swiftvr-tiny-fixture reads 8-bit planes and names no 10-bit graph/,
        ),
      });
      // a chunk may not mix depths
      await expect(r.restore([frame(0, 10, 6), to10(frame(1, 10, 6))])).rejects.toThrow(
        /10x6 10-bit differs from 10x6 8-bit within one chunk/,
      );
    } finally {
      await session.release();
    }
  });
});
