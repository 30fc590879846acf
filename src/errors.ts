// A small error set. Messages name the value and the rule it broke; `kind` says what class of
// fault it is (exit code, retry), `code` which one exactly (callers branch on it, never on the
// text); `retryable` tells workers whether another attempt can succeed; `context` names the
// stream, segment, resource and stage; `reason` is the message before the segment's name was put
// in front of it (what a fallback or a record says).

/** The step of a segment's run (or of a job) a failure happened in. */
export type Stage = 'input' | 'plan' | 'load' | 'probe' | 'decode' | 'restore' | 'encode' | 'publish' | 'queue' | 'store' | 'config';

export interface ErrorContext {
  readonly stream?: string;
  readonly sn?: number;
  readonly uri?: string;
  readonly stage?: Stage;
}

/**
 * Which fault, exactly, where a caller acts on it: the kind itself when nothing finer is needed.
 * - `range-past-end`: a byte range ends past the end of its resource.
 * - `deadline`: a live restore did not finish by its deadline.
 * - `cancelled`: the job was cancelled (`swiftvr cancel`).
 * - `thread-failed`: the inference thread failed a request (its own code kept when it had one).
 */
export type ErrorCode = ErrorKind | 'range-past-end' | 'deadline' | 'cancelled' | 'thread-failed';

export type ErrorKind =
  /** The user's input (file, playlist, segment, flag) breaks a rule; exit code 2. */
  | 'bad-input'
  /** The command line is wrong; exit code 2. */
  | 'usage'
  /** The deployment's configuration is wrong or missing (credentials, queue, bucket, endpoint); exit code 2. */
  | 'config'
  /** A system tool or file the program needs is missing (ffmpeg, the model). */
  | 'missing-dependency'
  /** The model or its sidecar does not meet the contract. */
  | 'model'
  /** A transient I/O failure (network, throttling, a conflicting writer). */
  | 'transient'
  /** Stopped by a signal or an AbortSignal. */
  | 'aborted'
  /** Anything else. */
  | 'internal';

export interface ErrorOptions {
  readonly cause?: unknown;
  readonly retryable?: boolean;
  readonly context?: ErrorContext;
  /** @default the kind */
  readonly code?: ErrorCode;
  /** The message without the segment name in front. @default the message */
  readonly reason?: string;
}

export class SwiftvrError extends Error {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: ErrorContext;
  readonly reason: string;

  constructor(kind: ErrorKind, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwiftvrError';
    this.kind = kind;
    this.code = options.code ?? kind;
    this.retryable = options.retryable ?? kind === 'transient';
    this.context = options.context ?? {};
    this.reason = options.reason ?? message;
  }

  /** Process exit code for this error: 2 for bad input, usage or configuration, 130 for aborts, else 1. */
  get exitCode(): number {
    if (this.kind === 'bad-input' || this.kind === 'usage' || this.kind === 'config') return 2;
    if (this.kind === 'aborted') return 130;
    return 1;
  }
}

export const badInput = (message: string, context?: ErrorContext, cause?: unknown, code?: ErrorCode): SwiftvrError =>
  new SwiftvrError('bad-input', message, { ...(context === undefined ? {} : { context }), cause, ...(code === undefined ? {} : { code }) });

export const usageError = (message: string): SwiftvrError => new SwiftvrError('usage', message);

export const isSwiftvrError = (e: unknown): e is SwiftvrError => e instanceof SwiftvrError;

/** What went wrong, without the segment's name in front (for fallback reasons and records). */
export const reasonOf = (e: unknown): string => (isSwiftvrError(e) ? e.reason : e instanceof Error ? e.message : String(e));

/** Wraps an unknown thrown value with stream/segment context, keeping SwiftvrErrors' kind. */
export function withContext(e: unknown, context: ErrorContext): SwiftvrError {
  if (e instanceof SwiftvrError) {
    return new SwiftvrError(e.kind, e.message, {
      cause: e.cause,
      retryable: e.retryable,
      context: { ...e.context, ...context },
      code: e.code,
      reason: e.reason,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SwiftvrError('internal', message, { cause: e, context });
}
