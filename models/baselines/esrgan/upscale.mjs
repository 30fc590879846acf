// Runs the x2 model of @upscalerjs/esrgan-medium offline over a folder of PNG frames.
//
//   node upscale.mjs --in DIR --out DIR [--scale 2] [--input-range 255|1]
//
// Weights come from the package in node_modules through a custom IO handler and the wasm
// binaries from @tensorflow/tfjs-backend-wasm in node_modules; global fetch is replaced by
// one that throws, so a run that tried the network fails instead of silently downloading.
// Every <name>.png in --in gives <name>.png in --out (RGB, 8 bit). The last stdout line is a
// JSON summary (frames, backend, seconds).
import { readFileSync, readdirSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

globalThis.fetch = async (url) => {
  throw new Error(`network fetch refused: ${String(url)} (the baseline must run offline)`);
};

const require = createRequire(import.meta.url);
const tf = await import('@tensorflow/tfjs');
const wasm = await import('@tensorflow/tfjs-backend-wasm');
const { PNG } = require('pngjs');

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      in: { type: 'string' },
      out: { type: 'string' },
      scale: { type: 'string', default: '2' },
      'input-range': { type: 'string', default: '255' },
      backend: { type: 'string', default: 'wasm' },
    },
    strict: true,
  });
  if (!values.in || !existsSync(values.in)) throw new Error(`--in must be an existing folder of PNG files, got ${values.in}`);
  if (!values.out) throw new Error('--out must name an output folder');
  const scale = Number(values.scale);
  if (![2, 3, 4, 8].includes(scale)) throw new Error(`--scale must be one of 2, 3, 4, 8 (the package's models), got ${values.scale}`);
  const inputRange = Number(values['input-range']);
  if (inputRange !== 255 && inputRange !== 1) throw new Error(`--input-range must be 255 or 1, got ${values['input-range']}`);
  // cpu (plain JS kernels) is only a cross-check of the wasm kernels: same weights, same graph.
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new Error(`--backend must be wasm or cpu, got ${values.backend}`);
  return Object.freeze({ inDir: values.in, outDir: values.out, scale, inputRange, backend: values.backend });
}

// The package's model definition declares inputRange/outputRange [0, 255] for its RDN models.
// The package's "exports" hide package.json, so walk up from its CommonJS entry.
function packageDir(name) {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package ${name} must be installed in node_modules (npm install in models/baselines/esrgan)`);
    dir = up;
  }
  return dir;
}

const ESRGAN = '@upscalerjs/esrgan-medium';

function modelDir(scale) {
  return path.join(packageDir(ESRGAN), 'models', `x${scale}`);
}

function fileIOHandler(dir) {
  return {
    async load() {
      const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
      const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p))));
      const all = Buffer.concat(shards);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return { modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format,
        generatedBy: json.generatedBy, convertedBy: json.convertedBy };
    },
  };
}

async function initBackend(name) {
  if (name === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs backend "cpu" failed to initialise');
    return { backend: tf.getBackend() };
  }
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  // The threaded build needs a Web Worker from a Blob URL, which Node lacks.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setWasmPaths(wasmDir + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs backend "wasm" failed to initialise');
  await tf.ready();
  return { backend: tf.getBackend(), simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') };
}

function readPng(file) {
  const png = PNG.sync.read(readFileSync(file));
  const { width, height, data } = png;
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    rgb[i * 3] = data[j];
    rgb[i * 3 + 1] = data[j + 1];
    rgb[i * 3 + 2] = data[j + 2];
  }
  return { width, height, rgb };
}

function writePng(file, width, height, rgb255) {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb255);
  writeFileSync(file, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

async function upscaleFrame(model, frame, opts) {
  const { width, height, rgb } = frame;
  const out = tf.tidy(() => {
    const x = tf.tensor4d(rgb, [1, height, width, 3]);  // (1, h, w, 3) in [0, 255]
    const y = model.predict(opts.inputRange === 1 ? x.div(255) : x);
    const y255 = opts.inputRange === 1 ? y.mul(255) : y;
    return y255.clipByValue(0, 255).round().cast('int32');  // (1, h*s, w*s, 3)
  });
  const [, oh, ow] = out.shape;
  if (oh !== height * opts.scale || ow !== width * opts.scale) {
    throw new Error(`model output ${ow}x${oh} must be ${opts.scale}x the input ${width}x${height}`);
  }
  const data = Uint8Array.from(await out.data());
  out.dispose();
  return { width: ow, height: oh, data };
}

async function main(argv) {
  const opts = parseOptions(argv);
  const files = readdirSync(opts.inDir).filter((f) => f.endsWith('.png')).sort();
  if (files.length === 0) throw new Error(`--in ${opts.inDir} must contain at least one .png file`);
  mkdirSync(opts.outDir, { recursive: true });
  const env = await initBackend(opts.backend);
  const dir = modelDir(opts.scale);
  const model = await tf.loadLayersModel(fileIOHandler(dir));
  const t0 = performance.now();
  for (const f of files) {
    const frame = readPng(path.join(opts.inDir, f));
    const up = await upscaleFrame(model, frame, opts);
    writePng(path.join(opts.outDir, f), up.width, up.height, up.data);
  }
  const seconds = (performance.now() - t0) / 1000;
  const pkg = JSON.parse(readFileSync(path.join(packageDir(ESRGAN), 'package.json'), 'utf8'));
  console.log(JSON.stringify({
    frames: files.length, seconds: Number(seconds.toFixed(2)),
    ms_per_frame: Number((1000 * seconds / files.length).toFixed(1)),
    model: `${pkg.name}@${pkg.version} x${opts.scale}`, weights: path.relative(process.cwd(), dir),
    tfjs: tf.version.tfjs, ...env, input_range: opts.inputRange,
  }));
}

await main(process.argv.slice(2));
