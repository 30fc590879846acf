// The inference thread: owns one model session and the stream's carried state. Requests come
// from the proxy in src/inference/restorer.ts; frames arrive and leave as transferred buffers.
import { parentPort } from 'node:worker_threads';
import { SwiftvrError } from '../errors.js';
import type { ThreadFailure, ThreadLog, ThreadOk, ThreadRequest } from './restorer.js';
import { toWire } from './restorer.js';
import { ModelSession } from './session.js';
import { StreamRestorer } from './stream-restorer.js';

const port = parentPort;
if (port === null) throw new Error('inference-thread.ts runs as a worker thread only');

let session: ModelSession | undefined;
let core: StreamRestorer | undefined;

const open = (): StreamRestorer => {
  if (core === undefined) throw new SwiftvrError('internal', 'the inference thread has no model open');
  return core;
};

async function handle(m: ThreadRequest): Promise<{ reply: Omit<ThreadOk, 'id' | 'ok'>; transfer?: ArrayBuffer[] }> {
  switch (m.op) {
    case 'open': {
      const { chunkFrames, ...options } = m.options;
      session = await ModelSession.open(m.modelPath, options, (line) => port!.postMessage({ log: line } satisfies ThreadLog));
      core = new StreamRestorer(session, chunkFrames === undefined ? {} : { chunkFrames });
      return { reply: { info: { contract: session.contract, provider: session.provider, chunkFrames: core.chunkFrames } } };
    }
    case 'push':
    case 'flush': {
      const restorer = open();
      const frames = m.op === 'push' ? await restorer.push(m.frame) : await restorer.flush();
      const { wire, transfer } = toWire(frames);
      const stats = m.op === 'flush' ? restorer.lastSegmentStats : undefined;
      return { reply: { ...(wire === undefined ? {} : { frames: wire }), ...(stats === undefined ? {} : { stats }) }, transfer };
    }
    case 'reset':
      open().reset();
      return { reply: {} };
    case 'snapshot': {
      const bytes = open().snapshot();
      return { reply: { bytes }, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'load':
      open().load(m.bytes);
      return { reply: {} };
    case 'hasState':
      return { reply: { flag: open().hasState } };
    case 'close':
      core?.reset();
      await session?.release();
      core = undefined;
      session = undefined;
      return { reply: {} };
  }
}

// Requests are handled one at a time, in order: the carried state allows nothing else.
let queue = Promise.resolve();
port.on('message', (m: ThreadRequest & { id: number }) => {
  queue = queue.then(async () => {
    try {
      const { reply, transfer } = await handle(m);
      port.postMessage({ id: m.id, ok: true, ...reply } satisfies ThreadOk, transfer ?? []);
    } catch (e) {
      const err = e instanceof SwiftvrError ? e : new SwiftvrError('internal', e instanceof Error ? e.message : String(e));
      port.postMessage({ id: m.id, ok: false, kind: err.kind, message: err.message, retryable: err.retryable } satisfies ThreadFailure);
    }
  });
});
