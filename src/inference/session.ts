// The one module that owns onnxruntime-node sessions: execution provider choice, thread
// settings, input validation against the model's declared inputs, logging on failure, release.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider, ModelContract } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { checkContractAgainstSession, readModelContract } from './model-contract.js';

export type Tensor = ort.Tensor;
export type Feeds = Record<string, ort.Tensor>;

export interface SessionOptions {
  /** `cpu`, `cuda` (fail if unavailable) or `auto` (cuda when its provider is installed, else cpu). */
  readonly ep?: ExecutionProvider | 'auto';
  /** Threads inside one operator; 0 lets onnxruntime choose (all cores). */
  readonly intraOpThreads?: number;
  /** Let idle onnxruntime threads spin-wait (lower latency on an otherwise idle machine). @default false */
  readonly spinWait?: boolean;
  /** Where failures are logged (names, types, dims of the feeds). */
  readonly log?: (line: string) => void;
  /**
   * Run the model on a worker thread. onnxruntime-node's `run` holds the calling thread for the
   * whole call, so on the main thread no frame reaches the encoder or leaves the decoder while
   * the model runs (measured: not one 5 ms timer tick during a 449 ms run). @default true
   */
  readonly offThread?: boolean;
}

/** A tensor as it crosses the thread boundary. */
interface WireTensor {
  readonly type: ort.Tensor.Type;
  readonly data: ort.Tensor.DataType;
  readonly dims: readonly number[];
}

type WireReply = { id: number; ok: true; outputs?: Record<string, WireTensor> } | { id: number; ok: false; message: string };

// Plain JavaScript so it runs the same from dist/ and under tsx or vitest; onnxruntime-node is
// required by the absolute path the main thread resolved.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (m) => {
  try {
    if (m.type === 'open') {
      session = await ort.InferenceSession.create(m.modelPath, m.options);
      parentPort.postMessage({ id: m.id, ok: true });
    } else if (m.type === 'run') {
      const feeds = {};
      for (const [k, t] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds);
      const outputs = {};
      const transfer = [];
      for (const [k, t] of Object.entries(out)) {
        outputs[k] = { type: t.type, data: t.data, dims: t.dims };
        transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ id: m.id, ok: true, outputs }, transfer);
    } else if (m.type === 'release') {
      if (session) await session.release();
      session = undefined;
      parentPort.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, message: e && e.message ? e.message : String(e) });
  }
});
`;

/** The same model opened on a worker thread; `run` posts the feeds there and awaits the outputs. */
class ThreadRunner {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: WireReply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | undefined;

  private constructor() {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    this.worker = new Worker(workerSource, { eval: true, workerData: { ortPath } });
    this.worker.on('message', (r: WireReply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      p?.resolve(r);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`inference thread exited with code ${code}`)));
  }

  static async open(modelPath: string, options: ort.InferenceSession.SessionOptions): Promise<ThreadRunner> {
    const runner = new ThreadRunner();
    try {
      await runner.call({ type: 'open', modelPath, options });
    } catch (e) {
      await runner.worker.terminate();
      throw e;
    }
    return runner;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private async call(message: Record<string, unknown>): Promise<WireReply & { ok: true }> {
    if (this.failed !== undefined) throw this.failed;
    const id = this.nextId++;
    const reply = await new Promise<WireReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
    if (!reply.ok) throw new Error(reply.message);
    return reply;
  }

  async run(feeds: Feeds): Promise<Record<string, ort.Tensor>> {
    const wire: Record<string, WireTensor> = {};
    // Copied, not transferred: the caller may still hold the feeds (carried state, reused buffers).
    for (const [name, t] of Object.entries(feeds)) wire[name] = { type: t.type, data: t.data, dims: t.dims };
    const reply = await this.call({ type: 'run', feeds: wire });
    const out: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(reply.outputs ?? {})) {
      out[name] = new ort.Tensor(t.type, t.data as Float32Array, t.dims);
    }
    return out;
  }

  async release(): Promise<void> {
    try {
      if (this.failed === undefined) await this.call({ type: 'release' });
    } finally {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
  }
}

/** Whether the onnxruntime-node install carries the CUDA provider library. */
export function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(dirname(require.resolve('onnxruntime-node')));
    const binRoot = join(pkgDir, 'bin');
    for (const napi of readdirSync(binRoot)) {
      const dir = join(binRoot, napi, process.platform, process.arch);
      if (existsSync(join(dir, 'libonnxruntime_providers_cuda.so'))) return true;
    }
  } catch {
    return false;
  }
  return false;
}

const describe = (feeds: Feeds): string =>
  Object.entries(feeds)
    .map(([name, t]) => `${name}: ${t.type}[${t.dims.join(',')}]`)
    .join('; ');

export class ModelSession {
  readonly contract: ModelContract;
  readonly provider: ExecutionProvider;
  readonly modelPath: string;
  private session: ort.InferenceSession | undefined;
  private runner: ThreadRunner | undefined;
  private readonly log: (line: string) => void;

  private constructor(
    session: ort.InferenceSession,
    contract: ModelContract,
    provider: ExecutionProvider,
    modelPath: string,
    log: (line: string) => void,
  ) {
    this.session = session;
    this.contract = contract;
    this.provider = provider;
    this.modelPath = modelPath;
    this.log = log;
  }

  /** Reads the sidecar, opens the model on the chosen provider and checks the two agree. */
  static async open(modelPath: string, options: SessionOptions = {}): Promise<ModelSession> {
    if (!existsSync(modelPath)) {
      throw new SwiftvrError('missing-dependency', `model ${modelPath} does not exist`);
    }
    const contract = await readModelContract(modelPath);
    const ep = options.ep ?? 'auto';
    const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.intraOpThreads ?? 0,
      // ffmpeg decodes and encodes on the same cores while the model runs: idle onnxruntime
      // threads that spin-wait would take CPU time from it.
      // Measured on 2 cores (sample clip, npm run bench:pipeline): inference 13.9 s spinning, 9.9 s not.
      ...(options.spinWait === true ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    };
    const wantCuda = ep === 'cuda' || (ep === 'auto' && cudaProviderInstalled());
    let session: ort.InferenceSession | undefined;
    let provider: ExecutionProvider = 'cpu';
    if (wantCuda) {
      try {
        session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cuda'] });
        provider = 'cuda';
      } catch (e) {
        if (ep === 'cuda') {
          throw new SwiftvrError(
            'missing-dependency',
            `--ep cuda was requested but the CUDA execution provider cannot start (${(e as Error).message}); ` +
              'install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with an NVIDIA GPU, or use --ep cpu',
            { cause: e },
          );
        }
        log(`swiftvr: CUDA provider unavailable (${(e as Error).message}); using cpu`);
      }
    }
    if (session === undefined) {
      try {
        session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
      } catch (e) {
        throw new SwiftvrError('model', `model ${modelPath} cannot be loaded by onnxruntime: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    try {
      checkContractAgainstSession(contract, session.inputNames, session.outputNames, modelPath);
    } catch (e) {
      await session.release();
      throw e;
    }
    const model = new ModelSession(session, contract, provider, modelPath, log);
    if (options.offThread !== false) {
      try {
        model.runner = await ThreadRunner.open(modelPath, { ...base, executionProviders: [provider] });
      } catch (e) {
        await session.release();
        throw new SwiftvrError('model', `model ${modelPath} cannot be loaded on the inference thread: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    return model;
  }

  private live(): ort.InferenceSession {
    if (this.session === undefined) {
      throw new SwiftvrError('internal', `session for ${this.modelPath} was used after release()`);
    }
    return this.session;
  }

  /** Checks feed names, dtypes and dims against the model's inputs. */
  validate(feeds: Feeds): void {
    const session = this.live();
    for (const name of Object.keys(feeds)) {
      if (!session.inputNames.includes(name)) {
        throw new SwiftvrError('model', `feed "${name}" is not an input of ${this.modelPath} (inputs: ${session.inputNames.join(', ')})`);
      }
    }
    for (const meta of session.inputMetadata) {
      const t = feeds[meta.name];
      if (t === undefined) {
        throw new SwiftvrError('model', `input "${meta.name}" of ${this.modelPath} is missing from the feeds`);
      }
      if (!meta.isTensor) continue;
      if (t.type !== meta.type) {
        throw new SwiftvrError('model', `input "${meta.name}" has dtype ${t.type}; the model wants ${meta.type}`);
      }
      if (meta.shape.length > 0) {
        if (t.dims.length !== meta.shape.length) {
          throw new SwiftvrError(
            'model',
            `input "${meta.name}" has rank ${t.dims.length} [${t.dims.join(',')}]; the model wants rank ${meta.shape.length} [${meta.shape.join(',')}]`,
          );
        }
        meta.shape.forEach((d, i) => {
          if (typeof d === 'number' && d > 0 && t.dims[i] !== d) {
            throw new SwiftvrError(
              'model',
              `input "${meta.name}" dim ${i} is ${t.dims[i]}; the model wants ${d} (shape [${meta.shape.join(',')}])`,
            );
          }
        });
      }
    }
  }

  /** Runs the model; on failure logs the feeds' names, types and dims, then rethrows. */
  async run(feeds: Feeds): Promise<Record<string, ort.Tensor>> {
    const session = this.live();
    try {
      this.validate(feeds);
      return await (this.runner ?? session).run(feeds);
    } catch (e) {
      this.log(`swiftvr: inference failed on ${this.modelPath} (${this.provider}); feeds: ${describe(feeds)}`);
      if (e instanceof SwiftvrError) throw e;
      throw new SwiftvrError('model', `inference failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async release(): Promise<void> {
    const s = this.session;
    const r = this.runner;
    this.session = undefined;
    this.runner = undefined;
    try {
      if (r !== undefined) await r.release();
    } finally {
      if (s !== undefined) await s.release();
    }
  }
}

export { ort };
