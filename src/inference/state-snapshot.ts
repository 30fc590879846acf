// The carried state as bytes, for checkpoints: magic, u32 LE header length, JSON header (model,
// LQ size, each state's name, type, dims and byte length), then the raw tensor bytes. Decoding
// checks that the bytes fit the model that loads them.
import { SwiftvrError } from '../errors.js';
import type { ModelContract } from '../types.js';
import { resolveStateShape } from './model-contract.js';
import { ort } from './session.js';

const SNAPSHOT_MAGIC = 'SWIFTVR-STATE/1\n';

export interface CarriedState {
  /** LQ size, rounded up to the model's alignment, the state belongs to. */
  readonly height: number;
  readonly width: number;
  /** By state input name. */
  readonly tensors: Map<string, ort.Tensor>;
}

/** The state (none: an empty header) of `c` as bytes. */
export function encodeState(c: ModelContract, s: CarriedState | undefined): Uint8Array {
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

/** The state in `bytes`, checked against `c`; undefined when the bytes hold none (a fresh stream). */
export function decodeState(c: ModelContract, bytes: Uint8Array): CarriedState | undefined {
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
  if (header.states.length === 0) return undefined;
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
  return { height: header.height, width: header.width, tensors };
}
