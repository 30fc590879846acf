// The one module that owns onnxruntime-node sessions: execution provider choice, thread
// settings, input validation against the model's declared inputs, logging on failure, release.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
    return new ModelSession(session, contract, provider, modelPath, log);
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
      return await session.run(feeds);
    } catch (e) {
      this.log(`swiftvr: inference failed on ${this.modelPath} (${this.provider}); feeds: ${describe(feeds)}`);
      if (e instanceof SwiftvrError) throw e;
      throw new SwiftvrError('model', `inference failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s !== undefined) await s.release();
  }
}

export { ort };
