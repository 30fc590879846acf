// Streaming restoration with carried state. Lifecycle (as taehv's StreamingTAEHV):
//   reset()          forget the state; the next chunk starts from zeros
//   restore(chunk)   run one chunk of <= chunkFrames frames, carry the state to the next call
//   push(frame)      buffer frames; returns restored frames whenever a full chunk ran
//   flush()          run what is buffered (the end of a segment)
//   snapshot()/load() serialise the state so another process resumes with identical output
// Frames go in and come out as the codec's 4:2:0 planes: the chunk's frames are laid end to end
// as the model's input (uint8, or int16 for 10-bit planes) and the output frames are views into
// the model's output, so no pixel is touched on the host. 10-bit frames (HDR sources) run through
// the model's 10-bit graph (its sidecar's "p10"), opened at the first such frame; both graphs hold
// the same weights and see samples on the same scale, so the carried state is shared.
import { endToEnd, frameBits, wholeBuffers, yuvFrameBytes } from '../types.js';
import type { SampleBits, YuvFrame } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { StatsTracker, threadCpuMs, type SegmentStats } from './frame-stats.js';
import { resolveStateShape } from './model-contract.js';
import { ort, type ModelSession } from './session.js';
import { decodeState, encodeState, type CarriedState } from './state-snapshot.js';

export const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** A frame joining a chunk must have the size of the chunk's frames so far (`bad-input` otherwise). */
export function checkChunkSize(chunk: readonly YuvFrame[], frame: YuvFrame): void {
  const first = chunk[0];
  if (first !== undefined && (first.width !== frame.width || first.height !== frame.height)) {
    throw new SwiftvrError(
      'bad-input',
      `frame size ${frame.width}x${frame.height} differs from ${first.width}x${first.height} within one chunk; sizes must match`,
    );
  }
}

export type { CarriedState } from './state-snapshot.js';

export interface StreamRestorerOptions {
  /** Frames per model call, 1..t_max; default t_max. */
  readonly chunkFrames?: number;
  /** List the buffers of input frames whose chunk has run, for takeConsumed(). @default false */
  readonly keepConsumed?: boolean;
  /** Opens the model's 10-bit graph (the sidecar's "p10" file), for 10-bit frames. */
  readonly openP10?: (fileName: string) => Promise<ModelSession>;
}

export class StreamRestorer {
  readonly session: ModelSession;
  readonly chunkFrames: number;
  private state: CarriedState | undefined;
  private buffer: YuvFrame[] = [];
  /** Frames run through the model since construction (for reporting). */
  framesRestored = 0;
  /** What the last segment's restore changed (set by flush()). */
  lastSegmentStats: SegmentStats | undefined;
  /** Wall seconds in model runs since the last flush(). */
  private segmentModelSeconds = 0;
  private modelCpuMs = 0;
  private readonly stats = new StatsTracker();
  /** The model input, kept for the next chunk of the same size. */
  private input: Uint8Array | undefined;
  /** Buffers of input frames whose chunk has run (see takeConsumed()). */
  private consumed: ArrayBuffer[] = [];
  private readonly keepConsumed: boolean;
  private readonly openP10: ((fileName: string) => Promise<ModelSession>) | undefined;
  /** The 10-bit graph, once a 10-bit frame asked for it. */
  private p10: Promise<ModelSession> | undefined;

  constructor(session: ModelSession, options: StreamRestorerOptions = {}) {
    const { tMax } = session.contract;
    const n = options.chunkFrames ?? tMax;
    if (!Number.isInteger(n) || n < 1 || n > tMax) {
      throw new SwiftvrError('usage', `--chunk-frames is ${n}; it must be an integer from 1 to the model's t_max (${tMax})`);
    }
    this.session = session;
    this.chunkFrames = n;
    this.keepConsumed = options.keepConsumed === true;
    this.openP10 = options.openP10;
  }

  /** The graph for frames of `bits` per sample: the model itself, or its 10-bit companion. */
  private sessionFor(bits: SampleBits): Promise<ModelSession> {
    const c = this.session.contract;
    if (bits === c.bits) return Promise.resolve(this.session);
    if (bits === 10 && c.p10 !== undefined && this.openP10 !== undefined) {
      if (this.p10 === undefined) {
        const opening = this.openP10(c.p10).then((s) => {
          const p = s.contract;
          if (
            p.bits !== 10 ||
            p.scale !== c.scale ||
            p.alignment !== c.alignment ||
            p.tMax !== c.tMax ||
            p.input !== c.input ||
            p.output !== c.output ||
            JSON.stringify(p.states) !== JSON.stringify(c.states)
          ) {
            void s.release();
            throw new SwiftvrError(
              'model',
              `the 10-bit graph ${c.p10} of model ${c.name} does not match it (10 bits; scale, alignment, t_max, tensor names and states as the model's)`,
            );
          }
          return s;
        });
        // A failed opening is not cached: the next 10-bit chunk tries again.
        opening.catch(() => {
          if (this.p10 === opening) this.p10 = undefined;
        });
        this.p10 = opening;
      }
      return this.p10;
    }
    return Promise.reject(
      new SwiftvrError(
        'bad-input',
        `the frames are ${bits}-bit, but model ${c.name} reads ${c.bits}-bit planes and names no ${bits}-bit graph ("p10" in its sidecar); ` +
          'restore this source with a model that has one',
      ),
    );
  }

  /** Releases the 10-bit graph, if one was opened (the main session is its owner's to release). */
  async close(): Promise<void> {
    const p10 = this.p10;
    this.p10 = undefined;
    this.reset();
    if (p10 !== undefined) await (await p10.catch(() => undefined))?.release();
  }

  /** This thread's CPU ms in model runs since construction (NaN where Node cannot tell a thread's CPU time). */
  get modelThreadCpuMs(): number {
    return this.modelCpuMs;
  }

  get scale(): number {
    return this.session.contract.scale;
  }

  /** Forget the carried state and any buffered frames. */
  reset(): void {
    this.releaseState();
    this.buffer = [];
    this.stats.reset();
  }

  /** Whether state is carried (false after reset and before the first chunk). */
  get hasState(): boolean {
    return this.state !== undefined;
  }

  /** Buffer one frame; when a chunk is full it runs and its restored frames are returned. */
  async push(frame: YuvFrame): Promise<YuvFrame[]> {
    checkChunkSize(this.buffer, frame);
    this.buffer.push(frame);
    if (this.buffer.length < this.chunkFrames) return [];
    const chunk = this.buffer;
    this.buffer = [];
    return this.restore(chunk);
  }

  /** Run the buffered partial chunk (end of a segment). The state stays carried. */
  async flush(): Promise<YuvFrame[]> {
    const chunk = this.buffer;
    this.buffer = [];
    const frames = chunk.length === 0 ? [] : await this.restore(chunk);
    this.lastSegmentStats = { ...this.stats.endSegment(), modelSeconds: this.segmentModelSeconds };
    this.segmentModelSeconds = 0;
    return frames;
  }

  /** Restore one chunk of 1..chunkFrames frames of equal size; carries the state on. */
  async restore(chunk: readonly YuvFrame[]): Promise<YuvFrame[]> {
    const c = this.session.contract;
    if (chunk.length === 0) return [];
    if (chunk.length > this.chunkFrames) {
      throw new SwiftvrError('internal', `chunk of ${chunk.length} frames exceeds chunkFrames ${this.chunkFrames}`);
    }
    const { width: w, height: h } = chunk[0]!;
    const bits = frameBits(chunk[0]!);
    const frameBytes = yuvFrameBytes(w, h, bits);
    for (const f of chunk) {
      if (f.width !== w || f.height !== h || frameBits(f) !== bits) {
        throw new SwiftvrError(
          'bad-input',
          `frame ${f.width}x${f.height} ${frameBits(f)}-bit differs from ${w}x${h} ${bits}-bit within one chunk; size and depth must match`,
        );
      }
      if (f.data.length !== frameBytes) {
        throw new SwiftvrError('internal', `frame buffer has ${f.data.length} bytes; 4:2:0 ${w}x${h} at ${bits} bits needs ${frameBytes}`);
      }
    }
    const session = await this.sessionFor(bits);
    const ph = alignUp(h, c.alignment);
    const pw = alignUp(w, c.alignment);
    // A new frame size (e.g. after a discontinuity) cannot reuse state of another size.
    if (this.state !== undefined && (this.state.height !== ph || this.state.width !== pw)) this.releaseState();
    const state = this.state ?? this.zeroState(ph, pw);
    const t = chunk.length;
    const input = this.modelInput(chunk);
    const dims = [1, t, (h * 3) / 2, w];
    // 10-bit planes are little-endian 16-bit samples: the same bytes viewed as int16 (0..1023).
    const lq =
      bits === 8
        ? new ort.Tensor('uint8', input, dims)
        : new ort.Tensor('int16', new Int16Array(input.buffer, input.byteOffset, input.length / 2), dims);
    const feeds: Record<string, ort.Tensor> = { [c.input]: lq };
    for (const s of c.states) feeds[s.input] = state.tensors.get(s.input)!;
    const wall0 = performance.now();
    const cpu0 = threadCpuMs() ?? Number.NaN;
    const out = await session.run(feeds);
    this.segmentModelSeconds += (performance.now() - wall0) / 1000;
    this.modelCpuMs += (threadCpuMs() ?? Number.NaN) - cpu0;
    lq.dispose();
    const hq = out[c.output];
    const oh = h * c.scale;
    const ow = w * c.scale;
    const want = [1, t, (oh * 3) / 2, ow];
    const wantType = bits === 8 ? 'uint8' : 'int16';
    if (hq === undefined || hq.type !== wantType || hq.dims.join(',') !== want.join(',')) {
      throw new SwiftvrError(
        'model',
        `output "${c.output}" is ${hq?.type ?? 'missing'} [${hq?.dims.join(',') ?? ''}]; the contract wants ${wantType} [${want.join(',')}]`,
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
    const typed = hq.data as Uint8Array | Int16Array;
    const data = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    const outBytes = yuvFrameBytes(ow, oh, bits);
    const frames: YuvFrame[] = [];
    for (let i = 0; i < t; i++) {
      const f = { width: ow, height: oh, data: data.subarray(i * outBytes, (i + 1) * outBytes) };
      frames.push(bits === 8 ? f : { ...f, bits });
    }
    chunk.forEach((f, i) => this.stats.add(f, frames[i]!, c.scale));
    if (this.keepConsumed) {
      for (const b of wholeBuffers(chunk)) if (!this.consumed.includes(b)) this.consumed.push(b);
    }
    this.framesRestored += t;
    return frames;
  }

  /**
   * The chunk's frames laid end to end as the model's input: the frames' own bytes when they already
   * are (a decoder's block), else copied into the input kept for the next chunk of the same size.
   */
  private modelInput(chunk: readonly YuvFrame[]): Uint8Array {
    return endToEnd(chunk, (bytes) => (this.input?.length === bytes ? this.input : (this.input = new Uint8Array(bytes))));
  }

  /**
   * With `keepConsumed`, the buffers of input frames whose chunks have run since the last call: nothing here refers
   * to them any more, so they can be reused (a buffer is listed once the chunks that ran have covered
   * all of it: a frame's own, or a decoder's block of a chunk's frames).
   */
  takeConsumed(): ArrayBuffer[] {
    const list = this.consumed;
    this.consumed = [];
    return list;
  }

  /**
   * Serialises the carried state (state-snapshot.ts). Only between chunks: buffered frames would be lost.
   */
  snapshot(): Uint8Array {
    if (this.buffer.length > 0) {
      throw new SwiftvrError('internal', `snapshot() with ${this.buffer.length} buffered frames; call flush() first`);
    }
    return encodeState(this.session.contract, this.state);
  }

  /** Replaces the carried state with one from snapshot(); checks it fits this model. */
  load(bytes: Uint8Array): void {
    const state = decodeState(this.session.contract, bytes);
    this.reset();
    if (state !== undefined) this.state = state;
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
