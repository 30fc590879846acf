// A small error set. Messages name the value and the rule it broke; `retryable` tells
// workers whether another attempt can succeed; context names the stream and segment.

export interface ErrorContext {
  readonly stream?: string;
  readonly sn?: number;
  readonly uri?: string;
}

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

export class SwiftvrError extends Error {
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(
    kind: ErrorKind,
    message: string,
    options: { cause?: unknown; retryable?: boolean; context?: ErrorContext } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwiftvrError';
    this.kind = kind;
    this.retryable = options.retryable ?? kind === 'transient';
    this.context = options.context ?? {};
  }

  /** Process exit code for this error: 2 for bad input, usage or configuration, 130 for aborts, else 1. */
  get exitCode(): number {
    if (this.kind === 'bad-input' || this.kind === 'usage' || this.kind === 'config') return 2;
    if (this.kind === 'aborted') return 130;
    return 1;
  }
}

export const badInput = (message: string, context?: ErrorContext, cause?: unknown): SwiftvrError =>
  new SwiftvrError('bad-input', message, { context, cause });

export const usageError = (message: string): SwiftvrError => new SwiftvrError('usage', message);

export const isSwiftvrError = (e: unknown): e is SwiftvrError => e instanceof SwiftvrError;

/** Wraps an unknown thrown value with stream/segment context, keeping SwiftvrErrors' kind. */
export function withContext(e: unknown, context: ErrorContext): SwiftvrError {
  if (e instanceof SwiftvrError) {
    return new SwiftvrError(e.kind, e.message, {
      cause: e.cause,
      retryable: e.retryable,
      context: { ...e.context, ...context },
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SwiftvrError('internal', message, { cause: e, context });
}
