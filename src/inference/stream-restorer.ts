// Streaming restoration with carried state. Lifecycle (as taehv's StreamingTAEHV):
//   reset()          forget the state; the next chunk starts from zeros
//   restore(chunk)   run one chunk of <= chunkFrames frames, carry the state to the next call
//   push(frame)      buffer frames; returns restored frames whenever a full chunk ran
//   flush()          run what is buffered (the end of a segment)
//   snapshot()/load() serialise the state so another process resumes with identical output
import type { RgbFrame } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { resolveStateShape } from './model-contract.js';
import { ort, type ModelSession } from './session.js';

const SNAPSHOT_MAGIC = 'SWIFTVR-STATE/1\n';

/** u8 -> [0, 1] lookup, cheaper than a divide per sample. */
const U8_TO_FLOAT = new Float32Array(256).map((_, i) => i / 255);

/**
 * RGB u8 interleaved frames -> float32 planar [T, 3, ph, pw], padding right/bottom by edge
 * replication. Writes into `out` at `offset` (in floats).
 */
export function framesToPlanar(frames: readonly RgbFrame[], ph: number, pw: number, out?: Float32Array): Float32Array {
  const plane = ph * pw;
  const dst = out ?? new Float32Array(frames.length * 3 * plane);
  for (let t = 0; t < frames.length; t++) {
    const f = frames[t]!;
    const { width: w, height: h, data } = f;
    const base = t * 3 * plane;
    for (let y = 0; y < ph; y++) {
      const sy = y < h ? y : h - 1;
      let si = sy * w * 3;
      let di = base + y * pw;
      for (let x = 0; x < w; x++, si += 3, di++) {
        dst[di] = U8_TO_FLOAT[data[si]!]!;
        dst[di + plane] = U8_TO_FLOAT[data[si + 1]!]!;
        dst[di + 2 * plane] = U8_TO_FLOAT[data[si + 2]!]!;
      }
      // Edge replication to the right: repeat the last column.
      const r = dst[di - 1]!;
      const g = dst[di - 1 + plane]!;
      const b = dst[di - 1 + 2 * plane]!;
      for (let x = w; x < pw; x++, di++) {
        dst[di] = r;
        dst[di + plane] = g;
        dst[di + 2 * plane] = b;
      }
    }
  }
  return dst;
}

/** float32 planar [T, 3, ph, pw] in [0, 1] -> RGB u8 interleaved frames cropped to h x w. */
export function planarToFrames(src: Float32Array, t: number, ph: number, pw: number, h: number, w: number): RgbFrame[] {
  const plane = ph * pw;
  const frames: RgbFrame[] = [];
  for (let i = 0; i < t; i++) {
    const data = new Uint8Array(h * w * 3);
    const base = i * 3 * plane;
    let di = 0;
    for (let y = 0; y < h; y++) {
      let si = base + y * pw;
      for (let x = 0; x < w; x++, si++, di += 3) {
        // Uint8Array stores clamp-free (mod 256), so clamp before rounding.
        const r = src[si]! * 255 + 0.5;
        const g = src[si + plane]! * 255 + 0.5;
        const b = src[si + 2 * plane]! * 255 + 0.5;
        data[di] = r <= 0 ? 0 : r >= 255 ? 255 : r;
        data[di + 1] = g <= 0 ? 0 : g >= 255 ? 255 : g;
        data[di + 2] = b <= 0 ? 0 : b >= 255 ? 255 : b;
      }
    }
    frames.push({ width: w, height: h, data });
  }
  return frames;
}

export const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

interface CarriedState {
  /** Padded LQ size the state belongs to. */
  readonly height: number;
  readonly width: number;
  /** By state input name. */
  readonly tensors: Map<string, ort.Tensor>;
}

export interface StreamRestorerOptions {
  /** Frames per model call, 1..t_max; default t_max. */
  readonly chunkFrames?: number;
}

export class StreamRestorer {
  readonly session: ModelSession;
  readonly chunkFrames: number;
  private state: CarriedState | undefined;
  private buffer: RgbFrame[] = [];
  /** Frames run through the model since construction (for reporting). */
  framesRestored = 0;

  constructor(session: ModelSession, options: StreamRestorerOptions = {}) {
    const { tMax } = session.contract;
    const n = options.chunkFrames ?? tMax;
    if (!Number.isInteger(n) || n < 1 || n > tMax) {
      throw new SwiftvrError('usage', `--chunk-frames is ${n}; it must be an integer from 1 to the model's t_max (${tMax})`);
    }
    this.session = session;
    this.chunkFrames = n;
  }

  get scale(): number {
    return this.session.contract.scale;
  }

  /** Forget the carried state and any buffered frames. */
  reset(): void {
    this.releaseState();
    this.buffer = [];
  }

  /** Whether state is carried (false after reset and before the first chunk). */
  get hasState(): boolean {
    return this.state !== undefined;
  }

  /** Buffer one frame; when a chunk is full it runs and its restored frames are returned. */
  async push(frame: RgbFrame): Promise<RgbFrame[]> {
    this.buffer.push(frame);
    if (this.buffer.length < this.chunkFrames) return [];
    const chunk = this.buffer;
    this.buffer = [];
    return this.restore(chunk);
  }

  /** Run the buffered partial chunk (end of a segment). The state stays carried. */
  async flush(): Promise<RgbFrame[]> {
    if (this.buffer.length === 0) return [];
    const chunk = this.buffer;
    this.buffer = [];
    return this.restore(chunk);
  }

  /** Restore one chunk of 1..chunkFrames frames of equal size; carries the state on. */
  async restore(chunk: readonly RgbFrame[]): Promise<RgbFrame[]> {
    const c = this.session.contract;
    if (chunk.length === 0) return [];
    if (chunk.length > this.chunkFrames) {
      throw new SwiftvrError('internal', `chunk of ${chunk.length} frames exceeds chunkFrames ${this.chunkFrames}`);
    }
    const { width: w, height: h } = chunk[0]!;
    for (const f of chunk) {
      if (f.width !== w || f.height !== h) {
        throw new SwiftvrError('bad-input', `frame size ${f.width}x${f.height} differs from ${w}x${h} within one chunk; sizes must match`);
      }
      if (f.data.length !== w * h * 3) {
        throw new SwiftvrError('internal', `frame buffer has ${f.data.length} bytes; rgb24 ${w}x${h} needs ${w * h * 3}`);
      }
    }
    const ph = alignUp(h, c.alignment);
    const pw = alignUp(w, c.alignment);
    // A new frame size (e.g. after a discontinuity) cannot reuse state of another size.
    if (this.state !== undefined && (this.state.height !== ph || this.state.width !== pw)) this.releaseState();
    const state = this.state ?? this.zeroState(ph, pw);
    const t = chunk.length;
    const lq = new ort.Tensor('float32', framesToPlanar(chunk, ph, pw), [1, t, 3, ph, pw]);
    const feeds: Record<string, ort.Tensor> = { [c.input]: lq };
    for (const s of c.states) feeds[s.input] = state.tensors.get(s.input)!;
    const out = await this.session.run(feeds);
    lq.dispose();
    const hq = out[c.output];
    const oh = ph * c.scale;
    const ow = pw * c.scale;
    if (hq === undefined || hq.dims.join(',') !== [1, t, 3, oh, ow].join(',')) {
      throw new SwiftvrError(
        'model',
        `output "${c.output}" has dims [${hq?.dims.join(',') ?? ''}]; the contract wants [1,${t},3,${oh},${ow}]`,
      );
    }
    // Map *_out to the next call's inputs; release what they replace.
    const next = new Map<string, ort.Tensor>();
    for (const s of c.states) {
      const o = out[s.output];
      if (o === undefined) throw new SwiftvrError('model', `model did not return state output "${s.output}"`);
      next.set(s.input, o);
    }
    for (const old of state.tensors.values()) old.dispose();
    this.state = { height: ph, width: pw, tensors: next };
    const frames = planarToFrames(hq.data as Float32Array, t, ph * c.scale, pw * c.scale, h * c.scale, w * c.scale);
    hq.dispose();
    this.framesRestored += t;
    return frames;
  }

  /**
   * Serialises the carried state: magic, u32 LE header length, JSON header, raw tensor bytes.
   * Only between chunks: buffered frames would be lost.
   */
  snapshot(): Uint8Array {
    if (this.buffer.length > 0) {
      throw new SwiftvrError('internal', `snapshot() with ${this.buffer.length} buffered frames; call flush() first`);
    }
    const c = this.session.contract;
    const s = this.state;
    const entries = s === undefined ? [] : c.states.map((spec) => ({ spec, t: s.tensors.get(spec.input)! }));
    const header = JSON.stringify({
      model: c.name,
      height: s?.height ?? 0,
      width: s?.width ?? 0,
      states: entries.map(({ spec, t }) => ({ name: spec.input, type: t.type, dims: t.dims, bytes: (t.data as Float32Array).byteLength })),
    });
    const magic = new TextEncoder().encode(SNAPSHOT_MAGIC);
    const head = new TextEncoder().encode(header);
    const total = magic.length + 4 + head.length + entries.reduce((n, e) => n + (e.t.data as Float32Array).byteLength, 0);
    const bytes = new Uint8Array(total);
    bytes.set(magic, 0);
    new DataView(bytes.buffer).setUint32(magic.length, head.length, true);
    bytes.set(head, magic.length + 4);
    let off = magic.length + 4 + head.length;
    for (const { t } of entries) {
      const d = t.data as Float32Array;
      bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), off);
      off += d.byteLength;
    }
    return bytes;
  }

  /** Replaces the carried state with one from snapshot(); checks it fits this model. */
  load(bytes: Uint8Array): void {
    const c = this.session.contract;
    const magic = new TextEncoder().encode(SNAPSHOT_MAGIC);
    const bad = (rule: string): SwiftvrError => new SwiftvrError('bad-input', `state checkpoint (${bytes.length} bytes): ${rule}`);
    if (bytes.length < magic.length + 4 || !magic.every((b, i) => bytes[i] === b)) {
      throw bad(`does not start with ${JSON.stringify(SNAPSHOT_MAGIC.trim())}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headLen = view.getUint32(magic.length, true);
    const headStart = magic.length + 4;
    if (headStart + headLen > bytes.length) throw bad(`header length ${headLen} runs past the end`);
    let header: { model: string; height: number; width: number; states: { name: string; type: string; dims: number[]; bytes: number }[] };
    try {
      header = JSON.parse(new TextDecoder().decode(bytes.subarray(headStart, headStart + headLen)));
    } catch (e) {
      throw bad(`header is not JSON (${(e as Error).message})`);
    }
    if (header.model !== c.name) throw bad(`was written by model "${header.model}"; this model is "${c.name}"`);
    this.reset();
    if (header.states.length === 0) return;
    const names = c.states.map((s) => s.input).join(',');
    if (header.states.map((s) => s.name).join(',') !== names) {
      throw bad(`holds states ${header.states.map((s) => s.name).join(',')}; the model carries ${names}`);
    }
    let off = headStart + headLen;
    const tensors = new Map<string, ort.Tensor>();
    for (const [i, s] of header.states.entries()) {
      const spec = c.states[i]!;
      const want = resolveStateShape(spec, header.height, header.width);
      if (s.dims.join(',') !== want.join(',')) throw bad(`state ${s.name} dims [${s.dims.join(',')}] do not match [${want.join(',')}]`);
      if (s.type !== 'float32') throw bad(`state ${s.name} has type ${s.type}; only float32 is supported`);
      if (off + s.bytes > bytes.length || s.bytes !== want.reduce((a, b) => a * b, 1) * 4) throw bad(`state ${s.name} data is truncated`);
      // Copy so the tensor owns aligned memory independent of the caller's buffer.
      const data = new Float32Array(s.bytes / 4);
      new Uint8Array(data.buffer).set(bytes.subarray(off, off + s.bytes));
      off += s.bytes;
      tensors.set(s.name, new ort.Tensor('float32', data, want));
    }
    this.state = { height: header.height, width: header.width, tensors };
  }

  private zeroState(ph: number, pw: number): CarriedState {
    const tensors = new Map<string, ort.Tensor>();
    for (const spec of this.session.contract.states) {
      if (spec.dtype !== 'float32') {
        throw new SwiftvrError('model', `state ${spec.input} has dtype ${spec.dtype}; only float32 states are supported`);
      }
      const dims = resolveStateShape(spec, ph, pw);
      tensors.set(spec.input, new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims));
    }
    return { height: ph, width: pw, tensors };
  }

  private releaseState(): void {
    if (this.state === undefined) return;
    for (const t of this.state.tensors.values()) t.dispose();
    this.state = undefined;
  }
}
