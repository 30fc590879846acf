// Reads the model's JSON sidecar (`<model>.json`, format swiftvr-model/1) into a ModelContract
// and checks it against the names the ONNX session actually exposes.
import { readFile } from 'node:fs/promises';
import type { ModelContract, SampleBits, StateSpec } from '../types.js';
import { SwiftvrError } from '../errors.js';

export const SIDECAR_FORMAT = 'swiftvr-model/1';

const modelError = (path: string, message: string, cause?: unknown): SwiftvrError =>
  new SwiftvrError('model', `model sidecar ${path}: ${message}`, { cause });

/** The sidecar path for a model file: `x.onnx` -> `x.json`. */
export function sidecarPath(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.json';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveInt(src: string, obj: Json, field: string): number {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw modelError(src, `"${field}" is ${JSON.stringify(v)}; it must be an integer >= 1`);
  }
  return v;
}

function nonEmptyString(src: string, obj: Json, field: string, where = ''): string {
  const v = obj[field];
  if (typeof v !== 'string' || v.length === 0) {
    throw modelError(src, `"${where}${field}" is ${JSON.stringify(v)}; it must be a non-empty string`);
  }
  return v;
}

/** Symbolic state dims: `H/k`, `W/k`, `H*k`, `W*k` (k a positive integer), or `H`, `W`. */
const SYMBOLIC_DIM = /^[HW]([/*][1-9][0-9]*)?$/;

/** The one frame layout models read and write: 4:2:0 planes, frames as [T, 3H/2, W] blocks. */
export const PLANES_LAYOUT = 'NT(I420)';

/** The sample formats a graph may read and write: dtype and pixel format, by bits per sample. */
const SAMPLE_FORMATS: Readonly<Record<SampleBits, { readonly dtype: string; readonly pix_fmt: string }>> = {
  8: { dtype: 'uint8', pix_fmt: 'yuv420p' },
  10: { dtype: 'int16', pix_fmt: 'yuv420p10le' },
};

function tensorBlock(src: string, json: Json, field: 'input' | 'output'): { name: string; bits: SampleBits } {
  const block = json[field];
  if (!isObject(block)) throw modelError(src, `"${field}" must be an object with name, layout, dtype, pix_fmt`);
  const name = nonEmptyString(src, block, 'name', `${field}.`);
  if (block.layout !== PLANES_LAYOUT) {
    throw modelError(src, `"${field}.layout" is ${JSON.stringify(block.layout)}; it must be ${JSON.stringify(PLANES_LAYOUT)}`);
  }
  const entry = (Object.entries(SAMPLE_FORMATS) as [string, { dtype: string; pix_fmt: string }][]).find(
    ([, f]) => f.dtype === block.dtype && f.pix_fmt === block.pix_fmt,
  );
  if (entry === undefined) {
    throw modelError(
      src,
      `"${field}.dtype" ${JSON.stringify(block.dtype)} with "${field}.pix_fmt" ${JSON.stringify(block.pix_fmt)} is not a sample format models use; ` +
        'it must be "uint8" with "yuv420p" or "int16" with "yuv420p10le" (the codec\'s 4:2:0 planes)',
    );
  }
  return { name, bits: Number(entry[0]) as SampleBits };
}

/** A companion model's file name: a plain name beside the model, never a path. */
function companionName(src: string, json: Json, field: string): string | undefined {
  const v = json[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9._-]+\.onnx$/.test(v) || v.startsWith('.')) {
    throw modelError(
      src,
      `"${field}" is ${JSON.stringify(v)}; it must be the file name of an .onnx model beside this one (letters, digits, . _ -)`,
    );
  }
  return v;
}

function stateSpec(src: string, raw: unknown, i: number): StateSpec {
  const where = `states[${i}].`;
  if (!isObject(raw)) throw modelError(src, `"states[${i}]" must be an object`);
  const input = nonEmptyString(src, raw, 'name', where);
  const output = nonEmptyString(src, raw, 'output', where);
  const shape = raw.shape;
  if (!Array.isArray(shape) || shape.length === 0) {
    throw modelError(src, `"${where}shape" is ${JSON.stringify(shape)}; it must be a non-empty array`);
  }
  for (const d of shape) {
    const ok = (typeof d === 'number' && Number.isInteger(d) && d >= 1) || (typeof d === 'string' && SYMBOLIC_DIM.test(d));
    if (!ok) {
      throw modelError(src, `"${where}shape" entry ${JSON.stringify(d)} must be an integer >= 1 or one of H/k, W/k, H*k, W*k`);
    }
  }
  const dtype = raw.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw modelError(src, `"${where}dtype" is ${JSON.stringify(dtype)}; it must be "float32" or "float16"`);
  }
  if (raw.init !== undefined && raw.init !== 'zeros') {
    throw modelError(src, `"${where}init" is ${JSON.stringify(raw.init)}; only "zeros" is supported`);
  }
  return Object.freeze({ input, output, shape: Object.freeze([...(shape as (number | string)[])]), dtype });
}

/** Validates parsed sidecar JSON; `src` names the file in error messages. */
export function parseModelContract(json: unknown, src: string): ModelContract {
  if (!isObject(json)) throw modelError(src, 'the sidecar must be a JSON object');
  if (json.format !== SIDECAR_FORMAT) {
    throw modelError(src, `"format" is ${JSON.stringify(json.format)}; it must be "${SIDECAR_FORMAT}"`);
  }
  const name = nonEmptyString(src, json, 'name');
  if (json.fixture !== undefined && typeof json.fixture !== 'boolean') {
    throw modelError(src, `"fixture" is ${JSON.stringify(json.fixture)}; it must be true or false`);
  }
  const scale = positiveInt(src, json, 'scale');
  const alignment = positiveInt(src, json, 'alignment');
  const tMax = positiveInt(src, json, 't_max');
  const inBlock = tensorBlock(src, json, 'input');
  const outBlock = tensorBlock(src, json, 'output');
  if (inBlock.bits !== outBlock.bits) {
    throw modelError(src, `input planes are ${inBlock.bits}-bit and output planes ${outBlock.bits}-bit; they must match`);
  }
  const input = inBlock.name;
  const output = outBlock.name;
  const p10 = companionName(src, json, 'p10');
  if (p10 !== undefined && inBlock.bits !== 8)
    throw modelError(src, `"p10" names a 10-bit companion, but this model is already ${inBlock.bits}-bit`);
  const rawStates = json.states ?? [];
  if (!Array.isArray(rawStates)) throw modelError(src, `"states" must be an array`);
  const states = rawStates.map((s, i) => stateSpec(src, s, i));
  const names = [input, output, ...states.flatMap((s) => [s.input, s.output])];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw modelError(src, `tensor name "${dup}" is used twice; names must be unique`);
  return Object.freeze({
    name,
    fixture: json.fixture === true,
    scale,
    alignment,
    tMax,
    input,
    output,
    bits: inBlock.bits,
    ...(p10 === undefined ? {} : { p10 }),
    states: Object.freeze(states),
  });
}

/** Reads and validates the sidecar next to `modelPath`. */
export async function readModelContract(modelPath: string): Promise<ModelContract> {
  const path = sidecarPath(modelPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SwiftvrError('missing-dependency', `model sidecar ${path} cannot be read; every model needs its JSON sidecar`, {
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw modelError(path, `not valid JSON (${(e as Error).message})`, e);
  }
  return parseModelContract(json, path);
}

/** The contract's input and output names must be exactly the session's. */
export function checkContractAgainstSession(
  contract: ModelContract,
  inputNames: readonly string[],
  outputNames: readonly string[],
  src: string,
): void {
  const wantIn = [contract.input, ...contract.states.map((s) => s.input)];
  const wantOut = [contract.output, ...contract.states.map((s) => s.output)];
  const missingIn = wantIn.filter((n) => !inputNames.includes(n));
  const extraIn = inputNames.filter((n) => !wantIn.includes(n));
  const missingOut = wantOut.filter((n) => !outputNames.includes(n));
  if (missingIn.length > 0 || extraIn.length > 0 || missingOut.length > 0) {
    const parts = [
      missingIn.length > 0 ? `inputs the sidecar names but the model lacks: ${missingIn.join(', ')}` : '',
      extraIn.length > 0 ? `model inputs the sidecar does not name: ${extraIn.join(', ')}` : '',
      missingOut.length > 0 ? `outputs the sidecar names but the model lacks: ${missingOut.join(', ')}` : '',
    ].filter((p) => p !== '');
    throw modelError(
      src,
      `sidecar and model disagree (model inputs: ${inputNames.join(', ')}; outputs: ${outputNames.join(', ')}); ${parts.join('; ')}`,
    );
  }
}

/** Resolves a state shape for a padded LQ size. */
export function resolveStateShape(spec: StateSpec, height: number, width: number): number[] {
  return spec.shape.map((d) => {
    if (typeof d === 'number') return d;
    const base = d[0] === 'H' ? height : width;
    if (d.length === 1) return base;
    const k = Number(d.slice(2));
    if (d[1] === '*') return base * k;
    if (base % k !== 0) {
      throw new SwiftvrError('model', `state ${spec.input} dim ${d} needs ${d[0]}=${base} divisible by ${k}; raise the alignment`);
    }
    return base / k;
  });
}
