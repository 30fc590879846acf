// onnxruntime-node runs the exported models and matches the PyTorch reference outputs saved by
// `python -m models.swiftvr.export --reference ...` (a 3-frame clip streamed as chunks 2 + 1, state carried).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

interface Sidecar {
  readonly format: string;
  readonly fixture: boolean;
  readonly scale: number;
  readonly alignment: number;
  readonly t_max: number;
  readonly input: { readonly name: string };
  readonly output: { readonly name: string };
  readonly states: readonly { readonly name: string; readonly output: string; readonly shape: readonly (number | string)[] }[];
}

interface Reference {
  readonly input: { readonly shape: readonly number[] };
  readonly chunks: readonly { readonly t: number; readonly hq_shape: readonly number[]; readonly offset_bytes: number }[];
  readonly expected: string;
  readonly tolerance: { readonly max_abs: number };
}

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

const CASES = [
  { label: 'tiny fixture', model: here('../fixtures/model/swiftvr-fixture.onnx'), ref: here('../fixtures/model/swiftvr-fixture-ref.json') },
  { label: 'shipped x2', model: here('../../models/swiftvr-x2.onnx'), ref: here('../fixtures/model/swiftvr-x2-ref.json') },
];

/** A symbolic state dim for LQ luma h x w rounded up to the alignment. */
function dim(d: number | string, h: number, w: number): number {
  if (typeof d === 'number') return d;
  const m = /^([HW])(?:([/*])(\d+))?$/.exec(d);
  if (!m) throw new Error(`state dim ${JSON.stringify(d)} must be H, W, H/k, W/k, H*k or W*k`);
  const base = m[1] === 'H' ? h : w;
  if (m[2] === undefined) return base;
  const k = Number(m[3]);
  return m[2] === '/' ? base / k : base * k;
}

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

describe.each(CASES)('$label: onnxruntime-node vs PyTorch reference', ({ model, ref }) => {
  it('model, sidecar and reference exist', () => {
    expect(existsSync(model)).toBe(true);
    expect(existsSync(model.replace(/\.onnx$/, '.json'))).toBe(true);
    expect(existsSync(ref)).toBe(true);
  });

  it('streams the reference clip chunk by chunk within tolerance', async () => {
    const meta = readJson<Sidecar>(model.replace(/\.onnx$/, '.json'));
    const reference = readJson<Reference>(ref);
    expect(meta.format).toBe('swiftvr-model/1');
    const expectedBuf = readFileSync(new URL(reference.expected, `file://${ref}`));
    const expected = new Uint8Array(expectedBuf.buffer, expectedBuf.byteOffset, expectedBuf.byteLength);

    // yuv420p frames as [T, 3H/2, W] blocks, H and W deliberately not multiples of the alignment
    const [, n, rows, w] = reference.input.shape as [number, number, number, number];
    const h = (rows * 2) / 3;
    const frameSize = rows * w;
    const clip = new Uint8Array(n * frameSize);
    for (let i = 0; i < clip.length; i++) clip[i] = (i * 37 + (i >> 7)) % 251;

    const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
    try {
      expect(session.inputNames).toEqual([meta.input.name, ...meta.states.map((s) => s.name)]);
      expect(session.outputNames).toEqual([meta.output.name, ...meta.states.map((s) => s.output)]);
      let state: Record<string, ort.Tensor> = {};
      for (const s of meta.states) {
        const shape = s.shape.map((d) => dim(d, alignUp(h, meta.alignment), alignUp(w, meta.alignment)));
        state[s.name] = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
      }
      let start = 0;
      for (const chunk of reference.chunks) {
        const lq = new ort.Tensor('uint8', clip.slice(start * frameSize, (start + chunk.t) * frameSize), [1, chunk.t, rows, w]);
        const out = await session.run({ [meta.input.name]: lq, ...state });
        const hq = out[meta.output.name]!;
        expect(hq.dims).toEqual(chunk.hq_shape);
        const got = hq.data as Uint8Array;
        let maxAbs = 0;
        for (let i = 0; i < got.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(got[i]! - expected[chunk.offset_bytes + i]!));
        }
        expect(maxAbs).toBeLessThanOrEqual(reference.tolerance.max_abs);
        const next: Record<string, ort.Tensor> = {};
        for (const s of meta.states) next[s.name] = out[s.output]!;
        state = next;
        start += chunk.t;
      }
    } finally {
      await session.release();
    }
  });
});
