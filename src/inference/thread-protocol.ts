// The wire between the restorer's proxy on the main thread and its inference thread: requests,
// replies (frames as transferred buffers), failures with their kind, code, context and cause, and
// the thread's log lines.
import { endToEnd, frameBits, wholeBuffers, yuvFrameBytes } from '../types.js';
import type { ExecutionProvider, ModelContract, SampleBits, YuvFrame } from '../types.js';
import { SwiftvrError, type ErrorCode, type ErrorContext, type ErrorKind } from '../errors.js';
import type { SegmentStats } from './frame-stats.js';
import type { SessionOptions } from './session.js';

/** Restored frames as they cross the boundary: one transferred buffer holding `count` frames. */
export interface WireFrames {
  readonly width: number;
  readonly height: number;
  readonly bits: SampleBits;
  readonly count: number;
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
}

/** What the restorer tells about itself once open. */
export interface RestorerInfo {
  readonly contract: ModelContract;
  readonly provider: ExecutionProvider;
  readonly chunkFrames: number;
}

export type ThreadRequest =
  | { readonly op: 'open'; readonly modelPath: string; readonly options: SessionOptions & { readonly chunkFrames?: number } }
  | { readonly op: 'chunk'; readonly frames: readonly YuvFrame[] }
  | { readonly op: 'flush'; readonly frames: readonly YuvFrame[] }
  | { readonly op: 'reset' }
  | { readonly op: 'snapshot' }
  | { readonly op: 'load'; readonly bytes: Uint8Array }
  | { readonly op: 'hasState' }
  | { readonly op: 'close' };

export interface ThreadOk {
  readonly id: number;
  readonly ok: true;
  readonly info?: RestorerInfo;
  readonly frames?: WireFrames;
  readonly bytes?: Uint8Array;
  readonly flag?: boolean;
  readonly stats?: SegmentStats;
  /** Buffers of input frames the thread has finished with, for the frame pool. */
  readonly consumed?: ArrayBuffer[];
}
export interface ThreadFailure {
  readonly id: number;
  readonly ok: false;
  /** The thread's error as it was: kind, code, context and reason cross whole. */
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly message: string;
  readonly reason: string;
  readonly retryable: boolean;
  readonly context: ErrorContext;
  /** Its cause, as far as a structured clone carries it (name, message, stack). */
  readonly cause?: { readonly name: string; readonly message: string; readonly stack?: string };
}

/** The thread's failure as an error on this side, its cause rebuilt with the thread's stack. */
export function threadError(r: ThreadFailure): SwiftvrError {
  const cause = r.cause === undefined ? undefined : Object.assign(new Error(r.cause.message), { name: r.cause.name, stack: r.cause.stack });
  return new SwiftvrError(r.kind, r.message, {
    code: r.code,
    reason: r.reason,
    retryable: r.retryable,
    context: r.context,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The wire form of an error thrown in the thread. */
export function threadFailure(id: number, e: unknown): ThreadFailure {
  const err =
    e instanceof SwiftvrError
      ? e
      : new SwiftvrError('internal', e instanceof Error ? e.message : String(e), { code: 'thread-failed', cause: e });
  const c = err.cause;
  return {
    id,
    ok: false,
    kind: err.kind,
    code: err.code,
    message: err.message,
    reason: err.reason,
    retryable: err.retryable,
    context: err.context,
    ...(c instanceof Error ? { cause: { name: c.name, message: c.message, ...(c.stack === undefined ? {} : { stack: c.stack }) } } : {}),
  };
}
/** A log line of the session (a failed run's feeds, a provider fallback), forwarded to the main thread. */
export interface ThreadLog {
  readonly log: string;
}
export type ThreadReply = ThreadOk | ThreadFailure | ThreadLog;

/** Frames laid end to end in one buffer -> the wire form (no copy when they already are). */
export function toWire(frames: readonly YuvFrame[]): { wire: WireFrames | undefined; transfer: ArrayBuffer[] } {
  if (frames.length === 0) return { wire: undefined, transfer: [] };
  const first = frames[0]!;
  const data = endToEnd(frames, (bytes) => new Uint8Array(bytes));
  const buffer = data.buffer as ArrayBuffer;
  return {
    wire: { width: first.width, height: first.height, bits: frameBits(first), count: frames.length, buffer, byteOffset: data.byteOffset },
    transfer: [buffer],
  };
}

/**
 * The buffers to transfer with `frames` (input frames on their way to the thread), and the frames
 * themselves: a buffer goes whole when these frames cover all of it (a decoder's block of a chunk's
 * frames, or one frame's own buffer); a frame that shares its buffer with frames not among these is
 * copied into one of its own first, so the transfer detaches nothing its owner still holds.
 */
export function framesForTransfer(
  frames: readonly YuvFrame[],
  take: (bytes: number) => Uint8Array,
): { frames: YuvFrame[]; transfer: ArrayBuffer[] } {
  const whole = wholeBuffers(frames);
  const out = frames.map((f) => {
    if (whole.has(f.data.buffer as ArrayBuffer)) return f;
    const data = take(f.data.byteLength);
    data.set(f.data);
    return { ...f, data };
  });
  return { frames: out, transfer: [...new Set(out.map((f) => f.data.buffer as ArrayBuffer))] };
}

export function fromWire(w: WireFrames | undefined): YuvFrame[] {
  if (w === undefined) return [];
  const bytes = yuvFrameBytes(w.width, w.height, w.bits);
  return Array.from({ length: w.count }, (_, i) => ({
    width: w.width,
    height: w.height,
    data: new Uint8Array(w.buffer, w.byteOffset + i * bytes, bytes),
    ...(w.bits === 8 ? {} : { bits: w.bits }),
  }));
}
