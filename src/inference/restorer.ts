// The restorer the pipeline talks to: one model session and its carried state, owned by one
// inference thread (or, inline, by the caller's thread). The main thread holds a proxy with the
// same interface; frames go to the thread and come back as transferred buffers, and the state
// never crosses the boundary (only snapshot()/load() bytes do, when asked for).
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import type { ExecutionProvider, ModelContract, YuvFrame } from '../types.js';
import { SwiftvrError } from '../errors.js';
import type { SegmentStats } from './frame-stats.js';
import { framePool } from '../util/frame-pool.js';
import { ModelSession, type SessionOptions } from './session.js';
import { checkChunkSize, StreamRestorer } from './stream-restorer.js';

export interface RestorerOptions extends SessionOptions {
  /** Frames per model call, 1..t_max; default t_max. */
  readonly chunkFrames?: number;
  /** Run on the caller's thread instead of an inference thread (tests, tools). @default false */
  readonly inline?: boolean;
  /** Where the session logs (a failed run's feeds, a provider fallback). @default stderr */
  readonly log?: (line: string) => void;
}

export type { RestorerInfo } from './thread-protocol.js';

/**
 * Streaming restoration with carried state (lifecycle as taehv's StreamingTAEHV):
 *   push(frame)  buffer a frame; returns restored frames whenever a full chunk ran
 *   flush()      run what is buffered (the end of a segment); the state stays carried;
 *                `lastSegmentStats` then tells what the segment's restore changed
 *   reset()      forget the state; the next chunk starts from zeros
 *   snapshot()   the carried state as bytes; load(bytes) resumes from them with identical output
 * push() takes ownership of the frame's buffer (it is transferred to the inference thread with
 * the rest of its chunk, and handed to the process's frame pool once the chunk has run).
 */
export interface Restorer extends RestorerInfo {
  readonly scale: number;
  push(frame: YuvFrame): Promise<YuvFrame[]>;
  flush(): Promise<YuvFrame[]>;
  /** What the last flushed segment's restore changed (no-reference telemetry). */
  readonly lastSegmentStats: SegmentStats | undefined;
  reset(): Promise<void>;
  snapshot(): Promise<Uint8Array>;
  load(bytes: Uint8Array): Promise<void>;
  /** Whether state is carried (false after reset and before the first chunk). */
  hasState(): Promise<boolean>;
  /** Releases the session (and ends the thread). */
  close(): Promise<void>;
}

import {
  framesForTransfer,
  fromWire,
  threadError,
  type RestorerInfo,
  type ThreadOk,
  type ThreadReply,
  type ThreadRequest,
} from './thread-protocol.js';

/** Opens a model's companion graph (its 10-bit one) beside it, with the model's own options. */
export function companionOpener(
  modelPath: string,
  options: SessionOptions,
  log: (line: string) => void,
): (fileName: string) => Promise<ModelSession> {
  return (fileName) => ModelSession.open(join(dirname(modelPath), fileName), options, log);
}

// ---- inline: the same core on the caller's thread -------------------------------------------

class InlineRestorer implements Restorer {
  private constructor(
    private readonly core: StreamRestorer,
    private readonly session: ModelSession,
  ) {}

  static async open(modelPath: string, o: RestorerOptions): Promise<InlineRestorer> {
    const session = await ModelSession.open(modelPath, o, o.log ?? defaultLog);
    try {
      return new InlineRestorer(
        new StreamRestorer(session, {
          openP10: companionOpener(modelPath, o, o.log ?? defaultLog),
          ...(o.chunkFrames === undefined ? {} : { chunkFrames: o.chunkFrames }),
        }),
        session,
      );
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  get contract(): ModelContract {
    return this.session.contract;
  }
  get provider(): ExecutionProvider {
    return this.session.provider;
  }
  get chunkFrames(): number {
    return this.core.chunkFrames;
  }
  get scale(): number {
    return this.session.contract.scale;
  }
  push(frame: YuvFrame): Promise<YuvFrame[]> {
    return this.core.push(frame);
  }
  flush(): Promise<YuvFrame[]> {
    return this.core.flush();
  }
  get lastSegmentStats(): SegmentStats | undefined {
    return this.core.lastSegmentStats;
  }
  async reset(): Promise<void> {
    this.core.reset();
  }
  async snapshot(): Promise<Uint8Array> {
    return this.core.snapshot();
  }
  async load(bytes: Uint8Array): Promise<void> {
    this.core.load(bytes);
  }
  async hasState(): Promise<boolean> {
    return this.core.hasState;
  }
  async close(): Promise<void> {
    await this.core.close();
    await this.session.release();
  }
}

// ---- threaded: a proxy posting to the inference thread ---------------------------------------

/**
 * The thread's entry module. From dist/ it is plain JavaScript; from the sources (tsx, vitest) it
 * is TypeScript, loaded through tsx's loader registered inside the thread (a worker does not
 * inherit the main thread's loader hooks).
 */
function threadEntry(): URL {
  const entry = new URL('./inference-thread.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return entry;
  const source = new URL('./inference-thread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(source)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

class ThreadRestorer implements Restorer {
  private readonly pending = new Map<number, { resolve: (r: ThreadOk) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | undefined;
  private info!: RestorerInfo;
  private stats: SegmentStats | undefined;
  /** Frames pushed since the last chunk went: they cross to the thread a chunk at a time. */
  private waiting: YuvFrame[] = [];

  private constructor(
    private readonly worker: Worker,
    log: (line: string) => void,
  ) {
    worker.on('message', (r: ThreadReply) => {
      if ('log' in r) {
        log(r.log);
        return;
      }
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (p === undefined) return;
      if (r.ok) {
        for (const b of r.consumed ?? []) framePool.give(b);
        p.resolve(r);
      } else p.reject(threadError(r));
    });
    worker.on('error', (e) => this.fail(new SwiftvrError('internal', `inference thread failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.fail(new SwiftvrError('internal', `inference thread exited with code ${code}`)));
  }

  static async open(modelPath: string, o: RestorerOptions): Promise<ThreadRestorer> {
    const proxy = new ThreadRestorer(new Worker(threadEntry()), o.log ?? defaultLog);
    try {
      const { ep, intraOpThreads, spinWait, chunkFrames } = o;
      const options = {
        ...(ep === undefined ? {} : { ep }),
        ...(intraOpThreads === undefined ? {} : { intraOpThreads }),
        ...(spinWait === undefined ? {} : { spinWait }),
        ...(chunkFrames === undefined ? {} : { chunkFrames }),
      };
      proxy.info = (await proxy.call({ op: 'open', modelPath, options })).info!;
    } catch (e) {
      await proxy.terminate();
      throw e;
    }
    return proxy;
  }

  get contract(): ModelContract {
    return this.info.contract;
  }
  get provider(): ExecutionProvider {
    return this.info.provider;
  }
  get chunkFrames(): number {
    return this.info.chunkFrames;
  }
  get scale(): number {
    return this.info.contract.scale;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call(request: ThreadRequest, transfer: ArrayBuffer[] = []): Promise<ThreadOk> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  async push(frame: YuvFrame): Promise<YuvFrame[]> {
    checkChunkSize(this.waiting, frame);
    this.waiting.push(frame);
    if (this.waiting.length < this.info.chunkFrames) return [];
    return fromWire((await this.send('chunk')).frames);
  }
  async flush(): Promise<YuvFrame[]> {
    const reply = await this.send('flush');
    this.stats = reply.stats;
    return fromWire(reply.frames);
  }
  /** Sends the waiting frames, one message and their buffers transferred (a decoder's block whole). */
  private send(op: 'chunk' | 'flush'): Promise<ThreadOk> {
    const { frames, transfer } = framesForTransfer(this.waiting, (bytes) => framePool.take(bytes));
    this.waiting = [];
    return this.call({ op, frames }, transfer);
  }
  get lastSegmentStats(): SegmentStats | undefined {
    return this.stats;
  }
  async reset(): Promise<void> {
    this.waiting = [];
    await this.call({ op: 'reset' });
  }
  async snapshot(): Promise<Uint8Array> {
    if (this.waiting.length > 0) {
      throw new SwiftvrError('internal', `snapshot() with ${this.waiting.length} buffered frames; call flush() first`);
    }
    return (await this.call({ op: 'snapshot' })).bytes!;
  }
  async load(bytes: Uint8Array): Promise<void> {
    this.waiting = [];
    await this.call({ op: 'load', bytes });
  }
  async hasState(): Promise<boolean> {
    return (await this.call({ op: 'hasState' })).flag === true;
  }
  async close(): Promise<void> {
    try {
      if (this.failed === undefined) await this.call({ op: 'close' });
    } finally {
      await this.terminate();
    }
  }

  private async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

const defaultLog = (line: string): void => {
  process.stderr.write(line + '\n');
};

/** Opens the model and a restorer for one stream: on an inference thread unless `inline`. */
export function openRestorer(modelPath: string, options: RestorerOptions = {}): Promise<Restorer> {
  return options.inline === true ? InlineRestorer.open(modelPath, options) : ThreadRestorer.open(modelPath, options);
}
