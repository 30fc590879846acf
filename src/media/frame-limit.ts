// The largest input frame a worker accepts, checked on the probe before anything is decoded: a
// tiny segment can declare huge frames, and decoding, restoring and encoding them at this size
// would exhaust memory (each buffered frame is width x height x 1.5 bytes in, 6 times that out).
// Portrait frames count as their landscape size.
import { badInput, type ErrorContext } from '../errors.js';
import type { ExecutionProvider } from '../types.js';

export interface FrameLimit {
  readonly width: number;
  readonly height: number;
  readonly provider: ExecutionProvider;
}

/** CPU: 1920x1080 input (3840x2160 out); GPU: 3840x2160 input (7680x4320 out). */
export function frameLimitFor(provider: ExecutionProvider): FrameLimit {
  return provider === 'cuda' ? { width: 3840, height: 2160, provider } : { width: 1920, height: 1080, provider };
}

export function checkFrameSize(width: number, height: number, limit: FrameLimit, name: string, context: ErrorContext): void {
  const [long, short] = width >= height ? [width, height] : [height, width];
  if (long > limit.width || short > limit.height) {
    throw badInput(
      `${name} has ${width}x${height} frames; the ${limit.provider} restorer takes input frames up to ${limit.width}x${limit.height} (either orientation)`,
      context,
    );
  }
}
