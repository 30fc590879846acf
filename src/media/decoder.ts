// Decoding a segment to the codec's 4:2:0 planes through ffmpeg's stdout, one frame per iteration:
// 8-bit yuv420p, or 10-bit yuv420p10le for an HDR source.
import { SwiftvrError, badInput } from '../errors.js';
import type { ErrorContext } from '../errors.js';
import { yuvFrameBytes } from '../types.js';
import type { SegmentMediaInfo, YuvFrame } from '../types.js';
import { framePool } from '../util/frame-pool.js';
import { planeFormat } from './colour.js';
import { planeBits, uprightFilters } from './picture.js';
import { abortedError, spawnTool, stderrSummary, type StdoutReader } from './ffmpeg.js';
import { rawTimestamps } from './probe.js';

export interface DecodeOptions {
  readonly signal?: AbortSignal;
  /** How the segment is named in error messages. @default the path */
  readonly name?: string;
  readonly context?: ErrorContext;
  /** Decoder threads; 0 lets ffmpeg choose. @default 0 */
  readonly threads?: number;
  /**
   * Stop at the first decoding error (ffmpeg -xerror), so a truncated or corrupt segment fails
   * instead of yielding concealed garbage frames. @default true
   */
  readonly strict?: boolean;
  /**
   * Scale the frames by this factor with ffmpeg's bicubic (swscale on the yuv420p planes, no colour
   * conversion): the plain upscale a player would make. @default 1
   */
  readonly scale?: number;
  /** Drop this many frames (in output order) first: the previous segment's, decoded as reference context. */
  readonly skipFrames?: number;
  /**
   * Frames laid end to end per buffer (the restorer's chunk): each buffer holds this many
   * consecutive frames (the segment's last ones, as many as are left), so a chunk reaches the model
   * as one buffer without a copy. @default 1
   */
  readonly framesPerBuffer?: number;
}

/**
 * Decodes the first video stream of `file` into yuv420p frames of `info.video` size, exactly
 * `info.video.frameCount` of them (no frame-rate conversion), progressive and upright
 * (src/media/picture.ts: interlaced sources are deinterlaced at the frame rate, a display rotation
 * is applied, so frames are `info.video` size: the coded size turned). No colour conversion: 4:2:0
 * 8-bit sources come out as coded, HDR sources as 10-bit planes; others are reduced once (chroma
 * subsampled to 4:2:0, samples to 8 bits, or 10 for HDR), keeping their matrix and range. The
 * iterator applies backpressure: with a few frames waiting for the consumer, ffmpeg's pipe is no
 * longer read, so ffmpeg waits. Stopping early (break) kills ffmpeg.
 * A decoding failure or a frame count other than the probed one is a `bad-input` error.
 * Frame buffers come from the process's frame pool, and ffmpeg's output is read straight into them
 * (no chunk allocated or copied on the way); each yielded frame's buffer is the consumer's
 * (with `framesPerBuffer`, the buffer of a block of consecutive frames, each frame a view of it).
 */
export async function* decodeFrames(
  file: string,
  info: SegmentMediaInfo,
  options: DecodeOptions = {},
): AsyncGenerator<YuvFrame, void, undefined> {
  const name = options.name ?? file;
  const scale = options.scale ?? 1;
  const { frameCount } = info.video;
  const width = info.video.width * scale;
  const height = info.video.height * scale;
  const bits = planeBits(info.video.picture);
  const frameBytes = yuvFrameBytes(width, height, bits);
  const args = [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    ...(options.strict === false ? [] : ['-xerror']),
    '-threads',
    String(options.threads ?? 0),
    ...rawTimestamps(info.container),
    // The display matrix is applied by uprightFilters, after deinterlacing (fields are coded rows).
    '-noautorotate',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-fps_mode',
    'passthrough',
    ...videoFilter(
      uprightFilters(info.video.picture),
      options.skipFrames ?? 0,
      scale === 1 ? undefined : `scale=${width}:${height}:flags=bicubic`,
    ),
    '-f',
    'rawvideo',
    '-pix_fmt',
    planeFormat(info.video.pixFmt, bits),
    'pipe:1',
  ];
  const filler = new BlockFiller(frameBytes, frameCount, Math.max(1, options.framesPerBuffer ?? 1));
  const proc = await spawnTool('ffmpeg', args, { signal: options.signal, stdout: filler });
  const stdout = proc.stdout;
  if (stdout === null) throw new SwiftvrError('internal', 'ffmpeg stdout is not a pipe');
  let ended = false;
  let finished = false;
  const end = (): void => {
    ended = true;
    filler.wake();
  };
  stdout.once('end', end);
  stdout.once('close', end);
  // Flowing, so the end of the pipe is seen; the bytes themselves go into the filler's blocks.
  stdout.resume();
  try {
    for (;;) {
      const data = filler.ready.shift();
      if (data !== undefined) {
        if (filler.paused && filler.ready.length < READY_FRAMES) {
          filler.paused = false;
          stdout.resume();
        }
        yield bits === 8 ? { width, height, data } : { width, height, data, bits };
        continue;
      }
      if (ended) break;
      await filler.next();
    }
    filler.release();
    const { frames, filled } = filler;
    const exit = await proc.exit;
    if (exit.aborted) throw abortedError(`decoding ${name}`, options.context);
    if (exit.code !== 0) {
      throw badInput(`${name} could not be decoded (corrupt or truncated): ffmpeg ${stderrSummary(exit)}`, options.context);
    }
    if (frames !== frameCount || filled !== 0) {
      throw badInput(
        `${name} decoded to ${frames} frames of ${width}x${height}${filled === 0 ? '' : ` and ${filled} stray bytes`}, ` +
          `but its packets count ${frameCount}; a segment's decoded frames must match its packets`,
        options.context,
      );
    }
    finished = true;
  } finally {
    // The consumer stopped early or something failed: do not leave ffmpeg running.
    if (!finished) {
      proc.kill();
      await proc.exit;
    }
  }
}

/** Decoded frames waiting for the consumer before ffmpeg's pipe is no longer read (backpressure). */
const READY_FRAMES = 8;

/**
 * Fills blocks of `perBuffer` frames from the frame pool with ffmpeg's output, read straight into
 * them; complete frames wait in `ready`. Bytes past the probed frame count are only counted (into
 * a spare frame), for the decoder's error.
 */
class BlockFiller implements StdoutReader {
  /** Complete frames read, including any past the probed count. */
  frames = 0;
  /** Bytes of the frame being read. */
  filled = 0;
  readonly ready: Uint8Array[] = [];
  /** Whether reading stopped because `ready` is full. */
  paused = false;
  private block: Uint8Array;
  /** Bytes of the block read. */
  private used = 0;
  private spare: Uint8Array | undefined;
  private waiting: (() => void) | undefined;

  constructor(
    private readonly frameBytes: number,
    private readonly frameCount: number,
    private readonly perBuffer: number,
  ) {
    this.block = this.nextBlock();
  }

  private nextBlock(): Uint8Array {
    return framePool.take(Math.max(1, Math.min(this.perBuffer, this.frameCount - this.frames)) * this.frameBytes);
  }

  buffer(): Uint8Array {
    if (this.frames < this.frameCount) return this.block.subarray(this.used);
    this.spare ??= new Uint8Array(this.frameBytes);
    return this.spare.subarray(this.filled);
  }

  got(bytes: number): boolean {
    if (this.frames < this.frameCount) {
      const start = this.used - this.filled;
      this.used += bytes;
      this.filled += bytes;
      // A read may complete more than one frame of the block.
      let at = start;
      while (this.filled >= this.frameBytes) {
        this.ready.push(this.block.subarray(at, at + this.frameBytes));
        at += this.frameBytes;
        this.filled -= this.frameBytes;
        this.frames++;
      }
      if (this.used === this.block.length && this.frames < this.frameCount) {
        this.block = this.nextBlock();
        this.used = 0;
      }
    } else {
      this.filled += bytes;
      this.frames += Math.floor(this.filled / this.frameBytes);
      this.filled %= this.frameBytes;
    }
    this.wake();
    this.paused = this.ready.length >= READY_FRAMES;
    return !this.paused;
  }

  /** Resolves once more has been read or the pipe ended. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /** The block being filled goes back to the pool when none of its frames was handed out. */
  release(): void {
    if (this.used === 0 && this.ready.length === 0) framePool.give(this.block.buffer as ArrayBuffer);
  }
}

/**
 * `-vf`: the picture made progressive and upright, then the first `skip` frames dropped (the select
 * runs after bwdif, which needs their fields as context), then the scale; none when nothing applies.
 */
function videoFilter(upright: readonly string[], skip: number, scale: string | undefined): string[] {
  const filters = [...upright, ...(skip > 0 ? [`select=gte(n\\,${skip})`] : []), ...(scale === undefined ? [] : [scale])];
  return filters.length === 0 ? [] : ['-vf', filters.join(',')];
}
