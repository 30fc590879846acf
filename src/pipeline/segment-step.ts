// A segment's step, the same locally and in the cloud: ready the carried state, restore the segment
// (segment-run.ts) or publish its plain upscale instead when the policy says so (--fallback-plain;
// live: a deadline or a failure), restart the state after a plain one, and hand back the encoded file.
import type { SegmentMediaInfo, SegmentResult } from '../types.js';
import { isSwiftvrError, reasonOf } from '../errors.js';
import type { Restorer } from '../inference/restorer.js';
import type { EncodedSegment } from '../media/encoder.js';
import { frameLimitFor } from '../media/frame-limit.js';
import { prepareSegment, type PreparedSegment, type SegmentInput } from './segment-input.js';
import { plainUpscaleSegment, runSegment, type RunningSegment, type SegmentOutput } from './segment-run.js';

export { warmOn, type EncoderChoice, type SegmentOutput } from './segment-run.js';

/** When a segment is published as a plain upscale instead of restored. */
export interface StepPolicy {
  /** A restore that fails (not for bad input, not stopped by the caller) is published as a plain upscale. */
  readonly plainOnFailure: boolean;
  /** Publish the plain upscale without restoring; the reason (live: the restore would miss its deadline). */
  readonly skip?: string;
  /** Stop the restore, readying of the state included, after this many ms and publish the plain upscale (live deadline). */
  readonly timeoutMs?: number;
  /** Plain upscales use the encoder's fastest preset, to keep pace (live). */
  readonly quickPlain?: boolean;
}

/** The carried state around one segment. */
export interface StepState {
  /** Readies the state before the restore (cloud: loads the previous checkpoint or warms up). */
  readonly prepare?: (signal: AbortSignal) => Promise<void>;
  /**
   * After a plain upscale stood in for the restore, the state restarts on this segment's frames
   * (local: reset and warmed on them now; cloud: forgotten, the next segment warms on them).
   */
  readonly restart: (input: SegmentInput, signal: AbortSignal) => Promise<void>;
}

export interface StepResult {
  readonly encoded: EncodedSegment;
  readonly result: SegmentResult;
  readonly info: SegmentMediaInfo;
  /** Why the plain upscale was published instead of the restore. */
  readonly fallback?: string;
  /** Restored: seconds from the restore's start (the state ready) to the encoded file. */
  readonly restoreSeconds?: number;
  /** Stopped at the policy's time limit: in the restore itself or while the state was readied, after how long. */
  readonly stopped?: { readonly inRestore: boolean; readonly seconds: number };
  /** Plain upscale: its seconds. */
  readonly plainSeconds?: number;
}

export interface StepOptions {
  readonly workDir: string;
  readonly signal: AbortSignal;
  readonly policy: StepPolicy;
  readonly state: StepState;
  /** The segment prepared ahead (decoding already), else prepared here once the state is ready. */
  readonly prepared?: PreparedSegment;
  readonly onFrames?: (n: number) => void;
}

/**
 * One segment's step: readies the carried state, restores and encodes the segment, or publishes
 * its plain upscale when the policy skips the restore, its time runs out or it fails and the policy
 * allows it; then the state restarts on the segment. `restored` settles when the restorer is free
 * for the next segment (the encode may still run); `done` with the encoded segment (after a plain
 * upscale, once the state has restarted too). The step disposes of `prepared`.
 */
export function segmentStep(
  input: SegmentInput,
  restorer: Restorer,
  output: SegmentOutput,
  o: StepOptions,
): { restored: Promise<void>; done: Promise<StepResult> } {
  const limit = frameLimitFor(restorer.provider);
  const plain = async (reason: string): Promise<StepResult> => {
    const t0 = performance.now();
    const r = await plainUpscaleSegment(
      input,
      restorer.scale,
      reason,
      { ...output, ...(o.policy.quickPlain === true ? { quick: true } : {}) },
      {
        workDir: o.workDir,
        signal: o.signal,
        limit,
      },
    );
    return { ...r, fallback: reason, plainSeconds: (performance.now() - t0) / 1000 };
  };
  const skip = o.policy.skip;
  if (skip !== undefined) {
    const restarted = Promise.all([o.prepared?.dispose(), o.state.restart(input, o.signal)]).then(() => undefined);
    restarted.catch(() => {});
    return { restored: restarted, done: restarted.then(() => plain(skip)) };
  }
  const late = o.policy.timeoutMs === undefined ? undefined : AbortSignal.timeout(o.policy.timeoutMs);
  const signal = late === undefined ? o.signal : AbortSignal.any([o.signal, late]);
  const t0 = performance.now();
  let restoreStart: number | undefined;
  let prepared = o.prepared;
  let running: RunningSegment | undefined;
  let stopped: StepResult['stopped'];
  const restoring = (async () => {
    await o.state.prepare?.(signal);
    restoreStart = performance.now();
    prepared ??= await prepareSegment(input, { workDir: o.workDir, signal, limit, framesPerBuffer: restorer.chunkFrames });
    running = runSegment(prepared, restorer, output, {
      signal,
      prefetched: o.prepared !== undefined,
      ...(o.onFrames ? { onFrames: o.onFrames } : {}),
    });
    await running.restored;
  })();
  /** Why the plain upscale stands in for failure `e`: the deadline passed, or a failure the policy allows; else `e` is thrown. */
  const standIn = (e: unknown): string => {
    if (o.signal.aborted) throw e;
    const now = performance.now();
    if (late?.aborted === true) {
      stopped = { inRestore: restoreStart !== undefined, seconds: (now - (restoreStart ?? t0)) / 1000 };
      return `restoring did not finish by the deadline (${((now - t0) / 1000).toFixed(2)} s spent)`;
    }
    if (o.policy.plainOnFailure && !(isSwiftvrError(e) && e.kind === 'bad-input')) return `restore failed: ${reasonOf(e)}`;
    throw e;
  };
  // undefined: restored; else the reason the plain upscale stands in.
  const outcome = restoring.then(
    () => undefined,
    async (e: unknown): Promise<string> => {
      await running?.done.catch(() => {}); // its encoder stopped with the restore
      return standIn(e);
    },
  );
  const restored = outcome.then(async (reason) => {
    if (reason !== undefined) await o.state.restart(input, o.signal);
  });
  restored.catch(() => {});
  const done = (async (): Promise<StepResult> => {
    try {
      const reason = await outcome;
      if (reason !== undefined) {
        // Done only once the state has restarted too: the next segment must not meet a restart still running.
        const [r] = await Promise.all([plain(reason), restored]);
        return { ...r, ...(stopped === undefined ? {} : { stopped }) };
      }
      // Under a time limit (live) the encode is inside it too: stopped there, or failed there, the
      // plain upscale stands in as for the restore (and the state restarts, as after any plain
      // segment). Without one (local) an encode failure fails the segment.
      const encoded = await running!.done.then(
        (r) => ({ r }),
        (e: unknown) => {
          if (late === undefined) throw e;
          return { reason: standIn(e) };
        },
      );
      if ('reason' in encoded) {
        // Only under a time limit (never locally, where the next segment already uses the restorer).
        const [r] = await Promise.all([plain(encoded.reason), o.state.restart(input, o.signal)]);
        return { ...r, ...(stopped === undefined ? {} : { stopped }) };
      }
      return { ...encoded.r, info: prepared!.info, restoreSeconds: (performance.now() - restoreStart!) / 1000 };
    } finally {
      await prepared?.dispose();
    }
  })();
  return { restored, done };
}

/**
 * Restores one segment given its bytes with the restorer's state as it is, no fallback: the step
 * with the plainest policy (tests and tools use it).
 */
export async function restoreSegment(
  input: SegmentInput,
  restorer: Restorer,
  output: SegmentOutput,
  options: { readonly workDir: string; readonly signal?: AbortSignal },
): Promise<StepResult> {
  return segmentStep(input, restorer, output, {
    workDir: options.workDir,
    signal: options.signal ?? new AbortController().signal,
    policy: { plainOnFailure: false },
    state: { restart: async () => undefined },
  }).done;
}
