// Encoding restored 4:2:0 frames into one HLS segment that lines up with its source segment:
// same container, same start PTS, IDR first, same frame count and duration, audio copied, and the
// source's colour tags (the planes pass through untouched, so the colours are the source's).
// 8-bit frames become H.264 (libx264, or h264_nvenc on a GPU); 10-bit frames (HDR sources) HEVC
// Main 10 with libx265, which writes the source's mastering display and content light level as
// SEI (this ffmpeg's NVENC wrappers cannot take them).
import { rm } from 'node:fs/promises';
import { SwiftvrError, badInput } from '../errors.js';
import { yuvFrameBytes } from '../types.js';
import type { YuvFrame } from '../types.js';
import { tempPathFor } from '../util/atomic-write.js';
import { chooseEncoder, encoderArgs, type SegmentEncoderOptions, type VideoEncoderName } from './encoder-args.js';
import { abortedError, spawnTool, stderrSummary } from './ffmpeg.js';
import { planeBits } from './picture.js';
import type { ToolExit, ToolProcess } from './ffmpeg.js';
import { checkAndPlace, type EncodedSegment } from './output-check.js';

export { DEFAULT_CRF, nvencAvailable, ptsExpression, type SegmentEncoderOptions, type VideoEncoderName } from './encoder-args.js';
export type { EncodedSegment } from './output-check.js';

export interface SegmentEncoder {
  /**
   * Queues one frame; resolves when ffmpeg can take more (stdin backpressure). The frame's
   * bytes belong to the encoder from this call on: do not modify them. `written` is called once
   * they are all in the pipe (so their buffer may be reused or freed), unless the write fails.
   */
  write(frame: YuvFrame, written?: () => void): Promise<void>;
  /** Ends the input, waits for ffmpeg, checks the output and moves it into place. */
  finish(): Promise<EncodedSegment>;
  /** Stops ffmpeg and removes temporary files; nothing appears at the output paths. */
  abort(): Promise<void>;
}

interface Running {
  proc: ToolProcess;
  encoder: VideoEncoderName;
  tmpPath: string;
}

class FfmpegSegmentEncoder implements SegmentEncoder {
  private readonly running: Promise<Running>;
  private readonly frameBytes: number;
  /** Bits per sample of the frames this encoder takes (10 for an HDR source). */
  private readonly bits: 8 | 10;
  private readonly name: string;
  private readonly temps: string[] = [];
  private frames = 0;
  private state: 'open' | 'finishing' | 'done' | 'aborted' = 'open';

  constructor(private readonly o: SegmentEncoderOptions) {
    this.name = o.name ?? o.outPath;
    this.bits = planeBits(o.info.video.picture);
    this.frameBytes = yuvFrameBytes(o.width, o.height, this.bits);
    this.running = this.start();
    // Failures surface from write/finish; this only keeps an unawaited rejection from crashing.
    this.running.catch(() => undefined);
  }

  private async start(): Promise<Running> {
    const encoder = await chooseEncoder(this.o.encoder ?? 'auto', this.bits);
    const tmpPath = tempPathFor(this.o.outPath);
    this.temps.push(tmpPath);
    const withAudio = this.o.audio !== false && this.o.info.audio !== undefined;
    const proc = await spawnTool('ffmpeg', encoderArgs(this.o, encoder, withAudio, tmpPath), {
      signal: this.o.signal,
      stdin: true,
    });
    // An abort through the signal leaves nothing behind even if the caller never calls abort().
    void proc.exit.then(async (exit) => {
      if (exit.aborted) await this.cleanup();
    });
    return { proc, encoder, tmpPath };
  }

  private failure(exit: ToolExit): SwiftvrError {
    if (exit.aborted) return abortedError(`encoding ${this.name}`, this.o.context);
    return new SwiftvrError('internal', `encoding ${this.name} failed: ffmpeg ${stderrSummary(exit)}`, {
      context: this.o.context,
    });
  }

  async write(frame: YuvFrame, written?: () => void): Promise<void> {
    if (this.state !== 'open') throw new SwiftvrError('internal', `write() on the ${this.state} encoder of ${this.name}`);
    if (
      frame.width !== this.o.width ||
      frame.height !== this.o.height ||
      frame.data.length !== this.frameBytes ||
      (frame.bits ?? 8) !== this.bits
    ) {
      throw new SwiftvrError(
        'internal',
        `frame ${this.frames} for ${this.name} is ${frame.width}x${frame.height} ${frame.bits ?? 8}-bit (${frame.data.length} bytes); ` +
          `the encoder was opened for ${this.o.width}x${this.o.height} ${this.bits}-bit 4:2:0 (${this.frameBytes} bytes)`,
        { context: this.o.context },
      );
    }
    if (this.frames >= this.o.info.video.frameCount) {
      throw new SwiftvrError(
        'internal',
        `frame ${this.frames} for ${this.name} is one too many: the source segment has ${this.o.info.video.frameCount} frames`,
        { context: this.o.context },
      );
    }
    const { proc } = await this.running;
    const stdin = proc.stdin;
    if (stdin === null) throw new SwiftvrError('internal', 'ffmpeg stdin is not a pipe');
    this.frames++;
    const done = written === undefined ? undefined : (e: Error | null | undefined): void => (e ? undefined : written());
    if (stdin.write(frame.data, done)) return;
    // Wait for the pipe to drain, or for ffmpeg to die (then the drain never comes).
    const ended = await Promise.race([
      new Promise<false>((resolve) => stdin.once('drain', () => resolve(false))),
      proc.exit.then(() => true),
    ]);
    if (ended) throw this.failure(await proc.exit);
  }

  async finish(): Promise<EncodedSegment> {
    if (this.state !== 'open') throw new SwiftvrError('internal', `finish() on the ${this.state} encoder of ${this.name}`);
    this.state = 'finishing';
    try {
      const expected = this.o.info.video.frameCount;
      if (this.frames !== expected) {
        throw new SwiftvrError(
          'internal',
          `${this.name} got ${this.frames} frames; the source segment has ${expected} and the output must have as many`,
          { context: this.o.context },
        );
      }
      const { proc, encoder, tmpPath } = await this.running;
      proc.stdin?.end();
      const exit = await proc.exit;
      if (exit.code !== 0 || exit.aborted) throw this.failure(exit);
      const result = await checkAndPlace(tmpPath, encoder, this.o, this.name);
      this.state = 'done';
      return result;
    } catch (e) {
      await this.cleanup();
      this.state = 'aborted';
      throw e;
    }
  }

  private async cleanup(): Promise<void> {
    await Promise.all(this.temps.map((t) => rm(t, { force: true })));
  }

  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    try {
      const { proc } = await this.running;
      proc.kill();
      await proc.exit;
    } catch {
      // ffmpeg never started: nothing to stop.
    }
    await this.cleanup();
  }
}

/**
 * Opens an encoder for one output segment. The frames are timed from the source segment's start
 * PTS at its frame rate, so the output has the source's start PTS, frame count and duration;
 * the first frame is an IDR; the source's audio packets are copied unchanged.
 */
export function createSegmentEncoder(options: SegmentEncoderOptions): SegmentEncoder {
  const { width, height, info, container } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2 || width % 2 !== 0 || height % 2 !== 0) {
    throw badInput(
      `output frame size ${width}x${height} is not allowed: H.264 4:2:0 needs even width and height of at least 2`,
      options.context,
    );
  }
  if (container !== info.container) {
    throw badInput(
      `output container ${container} differs from the source segment's ${info.container}; a rendition keeps its source's container`,
      options.context,
    );
  }
  if (container === 'fmp4' && options.initOutPath === undefined) {
    throw badInput(`initOutPath is required for fMP4 output (segment ${options.outPath})`, options.context);
  }
  return new FfmpegSegmentEncoder(options);
}
