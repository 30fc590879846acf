import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkContractAgainstSession,
  parseModelContract,
  readModelContract,
  resolveStateShape,
  sidecarPath,
} from '../../src/inference/model-contract.js';
import { SwiftvrError } from '../../src/errors.js';
import { tempDirs } from '../pipeline/temp-dirs.js';

const valid = () => ({
  format: 'swiftvr-model/1',
  name: 'unit',
  fixture: true,
  scale: 2,
  alignment: 8,
  t_max: 4,
  input: { name: 'lq', layout: 'NT(I420)', dtype: 'uint8', pix_fmt: 'yuv420p' },
  output: { name: 'hq', layout: 'NT(I420)', dtype: 'uint8', pix_fmt: 'yuv420p' },
  states: [{ name: 'state_ctx', output: 'state_ctx_out', shape: [1, 16, 'H/4', 'W/4'], dtype: 'float32', init: 'zeros' }],
});

const errorOf = (f: () => unknown): SwiftvrError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SwiftvrError);
    return e as SwiftvrError;
  }
  throw new Error('expected an error');
};

const temp = tempDirs('swiftvr-contract-');

describe('model sidecar contract', () => {
  it('reads a valid sidecar into a ModelContract', () => {
    const c = parseModelContract(valid(), 'm.json');
    expect(c).toEqual({
      name: 'unit',
      fixture: true,
      scale: 2,
      alignment: 8,
      tMax: 4,
      input: 'lq',
      output: 'hq',
      bits: 8,
      states: [{ input: 'state_ctx', output: 'state_ctx_out', shape: [1, 16, 'H/4', 'W/4'], dtype: 'float32' }],
    });
  });

  it('reads a 10-bit graph (int16 yuv420p10le planes) and an 8-bit one naming its 10-bit companion', () => {
    const p10 = valid();
    for (const b of [p10.input, p10.output]) Object.assign(b, { dtype: 'int16', pix_fmt: 'yuv420p10le' });
    expect(parseModelContract(p10, 'm-p10.json').bits).toBe(10);
    const main = { ...valid(), p10: 'm-p10.onnx' };
    expect(parseModelContract(main, 'm.json')).toMatchObject({ bits: 8, p10: 'm-p10.onnx' });
    Object.assign(p10, { p10: 'other.onnx' });
    expect(() => parseModelContract(p10, 'm-p10.json')).toThrow(/"p10" names a 10-bit companion, but this model is already 10-bit/);
  });

  it.each([
    ['format', (j: any) => (j.format = 'swiftvr-model/2'), /"format" is "swiftvr-model\/2"; it must be "swiftvr-model\/1"/],
    ['scale', (j: any) => (j.scale = 0), /"scale" is 0; it must be an integer >= 1/],
    ['t_max', (j: any) => delete j.t_max, /"t_max" is undefined; it must be an integer >= 1/],
    ['alignment', (j: any) => (j.alignment = 2.5), /"alignment" is 2.5/],
    ['input.name', (j: any) => (j.input.name = ''), /"input.name" is ""/],
    ['output.layout', (j: any) => (j.output.layout = 'NTCHW'), /"output.layout" is "NTCHW"; it must be "NT\(I420\)"/],
    [
      'input.dtype',
      (j: any) => (j.input.dtype = 'float32'),
      /"input.dtype" "float32" with "input.pix_fmt" "yuv420p" is not a sample format models use; it must be "uint8" with "yuv420p" or "int16" with "yuv420p10le"/,
    ],
    ['input.pix_fmt', (j: any) => delete j.input.pix_fmt, /"input.dtype" "uint8" with "input.pix_fmt" undefined is not a sample format/],
    [
      'planes that differ',
      (j: any) => Object.assign(j.output, { dtype: 'int16', pix_fmt: 'yuv420p10le' }),
      /input planes are 8-bit and output planes 10-bit; they must match/,
    ],
    [
      'p10 path',
      (j: any) => (j.p10 = '../elsewhere/m.onnx'),
      /"p10" is "..\/elsewhere\/m.onnx"; it must be the file name of an .onnx model beside this one/,
    ],
    ['states shape', (j: any) => (j.states[0].shape = [1, 16, 'H/x', 'W/4']), /"states\[0\].shape" entry "H\/x"/],
    ['states init', (j: any) => (j.states[0].init = 'random'), /"states\[0\].init" is "random"; only "zeros"/],
    ['states output', (j: any) => delete j.states[0].output, /"states\[0\].output" is undefined/],
    ['duplicate names', (j: any) => (j.states[0].output = 'hq'), /tensor name "hq" is used twice/],
  ])('rejects a bad %s, naming the field and the rule', (_field, mutate, message) => {
    const j = valid();
    mutate(j);
    const e = errorOf(() => parseModelContract(j, 'models/x.json'));
    expect(e.kind).toBe('model');
    expect(e.message).toMatch(/^model sidecar models\/x\.json: /);
    expect(e.message).toMatch(message);
  });

  it('reads the sidecar next to the model and reports a missing one as a missing dependency', async () => {
    const dir = await temp();
    expect(sidecarPath(join(dir, 'm.onnx'))).toBe(join(dir, 'm.json'));
    await expect(readModelContract(join(dir, 'm.onnx'))).rejects.toMatchObject({ kind: 'missing-dependency' });
    await writeFile(join(dir, 'm.json'), '{"format": ');
    await expect(readModelContract(join(dir, 'm.onnx'))).rejects.toThrow(/m\.json: not valid JSON/);
    await writeFile(join(dir, 'm.json'), JSON.stringify(valid()));
    await expect(readModelContract(join(dir, 'm.onnx'))).resolves.toMatchObject({ name: 'unit', tMax: 4 });
  });

  it('cross-checks the names against the session', () => {
    const c = parseModelContract(valid(), 'm.json');
    expect(() => checkContractAgainstSession(c, ['lq', 'state_ctx'], ['hq', 'state_ctx_out'], 'm.onnx')).not.toThrow();
    const e = errorOf(() => checkContractAgainstSession(c, ['lq', 'state_mem'], ['hq', 'state_ctx_out'], 'm.onnx'));
    expect(e.message).toMatch(/inputs the sidecar names but the model lacks: state_ctx/);
    expect(e.message).toMatch(/model inputs the sidecar does not name: state_mem/);
    const e2 = errorOf(() => checkContractAgainstSession(c, ['lq', 'state_ctx'], ['hq'], 'm.onnx'));
    expect(e2.message).toMatch(/outputs the sidecar names but the model lacks: state_ctx_out/);
  });

  it('resolves symbolic state dims from the padded frame size', () => {
    const spec = { input: 's', output: 's_out', shape: [1, 'H/4', 'W*2', 'H', 3], dtype: 'float32' as const };
    expect(resolveStateShape(spec, 64, 104)).toEqual([1, 16, 208, 64, 3]);
    expect(() => resolveStateShape(spec, 66, 104)).toThrow(/H\/4 needs H=66 divisible by 4/);
  });
});
