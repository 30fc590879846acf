// The one module that owns onnxruntime-node sessions: execution provider choice, thread settings,
// the sidecar checked against the session, input validation, logging on failure, release.
// Sessions live on the inference thread (src/inference/inference-thread.ts) or, inline, on the
// caller's thread (tests); nothing else opens a model.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider, ModelContract } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { checkContractAgainstSession, readModelContract } from './model-contract.js';

export type Feeds = Record<string, ort.Tensor>;

export interface SessionOptions {
  /** `cpu`, `cuda` (fail if unavailable) or `auto` (cuda when onnxruntime-node offers it and it starts, else cpu). */
  readonly ep?: ExecutionProvider | 'auto';
  /** Threads inside one operator; 0 lets onnxruntime choose (all cores). */
  readonly intraOpThreads?: number;
  /** Let idle onnxruntime threads spin-wait (lower latency on an otherwise idle machine). @default false */
  readonly spinWait?: boolean;
}

/**
 * Whether onnxruntime-node's CUDA provider library was installed beside its binding. The linux x64
 * build lists `cuda` among its backends even when the provider was not downloaded
 * (ONNXRUNTIME_NODE_INSTALL=skip); trying it then makes onnxruntime print a load error of its own.
 */
function cudaLibraryInstalled(): boolean {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(root, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** The execution providers this onnxruntime-node build offers: its own backend list, CUDA only when installed. */
export function offeredProviders(): ExecutionProvider[] {
  const names = new Set(ort.listSupportedBackends().map((b) => b.name));
  return (['cuda', 'cpu'] as const).filter((p) => names.has(p) && (p !== 'cuda' || cudaLibraryInstalled()));
}

const describeFeeds = (feeds: Feeds): string =>
  Object.entries(feeds)
    .map(([name, t]) => `${name}: ${t.type}[${t.dims.join(',')}]`)
    .join('; ');

export class ModelSession {
  private session: ort.InferenceSession | undefined;

  private constructor(
    session: ort.InferenceSession,
    readonly contract: ModelContract,
    readonly provider: ExecutionProvider,
    readonly modelPath: string,
    private readonly log: (line: string) => void,
  ) {
    this.session = session;
  }

  /** Reads the sidecar, opens the model on the chosen provider and checks the two agree. */
  static async open(modelPath: string, options: SessionOptions = {}, log: (line: string) => void = () => {}): Promise<ModelSession> {
    if (!existsSync(modelPath)) {
      throw new SwiftvrError('missing-dependency', `model ${modelPath} does not exist`);
    }
    const contract = await readModelContract(modelPath);
    const ep = options.ep ?? 'auto';
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.intraOpThreads ?? 0,
      // No memory-pattern planning: with it, onnxruntime pre-allocates for the whole planned graph.
      // Measured on 2 cores (x2 model, 4-frame chunks, the arena kept): peak RSS 6996 -> 3981 MiB at
      // 1920x1080 input, 3077 -> 1717 MiB at 1280x720, and faster (320x180 input 24.6-25.1 -> 27.1-28.9
      // frames/s; 1280x720 1.2 -> 1.5).
      enableMemPattern: false,
      // ffmpeg decodes and encodes on the same cores while the model runs: idle onnxruntime
      // threads that spin-wait would take CPU time from it.
      // Measured on 2 cores (sample clip, npm run bench:pipeline): inference 13.9 s spinning, 9.9 s not.
      ...(options.spinWait === true ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    };
    const offered = offeredProviders();
    let session: ort.InferenceSession | undefined;
    let provider: ExecutionProvider = 'cpu';
    if (ep === 'cuda' || (ep === 'auto' && offered.includes('cuda'))) {
      try {
        if (!offered.includes('cuda')) throw new Error(`this onnxruntime-node offers ${offered.join(', ')}`);
        session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cuda'], logSeverityLevel: 4 });
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
        log(`swiftvr: CUDA provider unavailable (${(e as Error).message.split('\n')[0]}); using cpu`);
      }
    }
    if (session === undefined) {
      try {
        session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
      } catch (e) {
        throw new SwiftvrError('model', `model ${modelPath} cannot be loaded by onnxruntime: ${(e as Error).message}`, { cause: e });
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
    if (this.session === undefined) throw new SwiftvrError('internal', `session for ${this.modelPath} was used after release()`);
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
      if (t === undefined) throw new SwiftvrError('model', `input "${meta.name}" of ${this.modelPath} is missing from the feeds`);
      if (!meta.isTensor) continue;
      if (t.type !== meta.type) throw new SwiftvrError('model', `input "${meta.name}" has dtype ${t.type}; the model wants ${meta.type}`);
      if (meta.shape.length === 0) continue;
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

  /** Runs the model; on failure logs the feeds' names, types and dims, then rethrows. */
  async run(feeds: Feeds): Promise<Record<string, ort.Tensor>> {
    const session = this.live();
    try {
      this.validate(feeds);
      return await session.run(feeds);
    } catch (e) {
      this.log(`swiftvr: inference failed on ${this.modelPath} (${this.provider}); feeds: ${describeFeeds(feeds)}`);
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
