// The inference thread: owns one model session and the stream's carried state. Requests come
// from the proxy in src/inference/restorer.ts; frames arrive and leave as transferred buffers.
import { parentPort } from 'node:worker_threads';
import { SwiftvrError } from '../errors.js';
import { threadCpuMs, type SegmentStats } from './frame-stats.js';
import type { YuvFrame } from '../types.js';
import type { ThreadFailure, ThreadLog, ThreadOk, ThreadRequest } from './thread-protocol.js';
import { companionOpener } from './restorer.js';
import { threadFailure, toWire } from './thread-protocol.js';
import { ModelSession } from './session.js';
import { StreamRestorer } from './stream-restorer.js';

const port = parentPort;
if (port === null) throw new Error('inference-thread.ts runs as a worker thread only');

let session: ModelSession | undefined;
let core: StreamRestorer | undefined;
/** Thread CPU and model-run CPU at the end of the previous segment (or the model's opening), for SegmentStats.threadHostMs. */
let segmentStart = { cpu: 0, model: 0 };

/** Adds the thread's CPU outside model runs since the previous segment's end. */
function withHostTime(stats: SegmentStats | undefined, restorer: StreamRestorer): SegmentStats | undefined {
  const cpu = threadCpuMs();
  if (stats === undefined || cpu === undefined) return stats;
  const start = segmentStart;
  segmentStart = { cpu, model: restorer.modelThreadCpuMs };
  return { ...stats, threadHostMs: cpu - start.cpu - (restorer.modelThreadCpuMs - start.model) };
}

const open = (): StreamRestorer => {
  if (core === undefined) throw new SwiftvrError('internal', 'the inference thread has no model open');
  return core;
};

async function handle(m: ThreadRequest): Promise<{ reply: Omit<ThreadOk, 'id' | 'ok'>; transfer?: ArrayBuffer[] }> {
  switch (m.op) {
    case 'open': {
      const { chunkFrames, ...options } = m.options;
      const log = (line: string): void => port!.postMessage({ log: line } satisfies ThreadLog);
      session = await ModelSession.open(m.modelPath, options, log);
      core = new StreamRestorer(session, {
        keepConsumed: true,
        openP10: companionOpener(m.modelPath, options, log),
        ...(chunkFrames === undefined ? {} : { chunkFrames }),
      });
      // Opening the model is start-up, not a segment's host work.
      segmentStart = { cpu: threadCpuMs() ?? 0, model: 0 };
      return { reply: { info: { contract: session.contract, provider: session.provider, chunkFrames: core.chunkFrames } } };
    }
    case 'chunk':
    case 'flush': {
      const restorer = open();
      // A chunk's frames run once the last is in (the thread holds none between messages).
      const frames: YuvFrame[] = [];
      for (const f of m.frames) frames.push(...(await restorer.push(f)));
      if (m.op === 'flush') frames.push(...(await restorer.flush()));
      const { wire, transfer } = toWire(frames);
      const stats = m.op === 'flush' ? withHostTime(restorer.lastSegmentStats, restorer) : undefined;
      // The input frames' buffers go back to the main thread's frame pool.
      const consumed = restorer.takeConsumed().filter((b) => !transfer.includes(b));
      return {
        reply: {
          ...(wire === undefined ? {} : { frames: wire }),
          ...(stats === undefined ? {} : { stats }),
          ...(consumed.length === 0 ? {} : { consumed }),
        },
        transfer: [...transfer, ...consumed],
      };
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
      await core?.close();
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
      port.postMessage(threadFailure(m.id, e) satisfies ThreadFailure);
    }
  });
});
