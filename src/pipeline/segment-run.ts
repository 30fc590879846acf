// The mechanics of one segment through the model or around it: restored (decoded frames through
// the restorer into the encoder, concurrently, joined by bounded queues), plain-upscaled (ffmpeg's
// bicubic, encoded the same way), or run only to warm the carried state.
import type { YuvFrame, SegmentMediaInfo, SegmentResult } from '../types.js';
import { SwiftvrError } from '../errors.js';
import type { SegmentStats } from '../inference/frame-stats.js';
import type { Restorer } from '../inference/restorer.js';
import { pictureReport } from '../media/picture.js';
import { createSegmentEncoder, type EncodedSegment, type SegmentEncoder } from '../media/encoder.js';
import { frameLimitFor, type FrameLimit } from '../media/frame-limit.js';
import { BoundedQueue } from './bounded-queue.js';
import { framePool } from '../util/frame-pool.js';
import { prepareSegment, segmentError, segmentName, type PreparedSegment, type SegmentId, type SegmentInput } from './segment-input.js';

export type EncoderChoice = 'libx264' | 'h264_nvenc' | 'auto';

export interface SegmentOutput {
  /** Where the encoded segment is written. */
  readonly outPath: string;
  /** fMP4: where the encoder writes the output init section. */
  readonly initOutPath?: string;
  readonly encoder: EncoderChoice;
  /** Encoder quality (libx264 CRF, h264_nvenc CQ). @default the encoder's DEFAULT_CRF */
  readonly quality?: number;
  /** The encoder's fastest preset (live plain upscales, which must keep pace). @default false */
  readonly quick?: boolean;
}

/** A segment in flight: restored frames are done once `restored` settles, the file once `done` does. */
export interface RunningSegment {
  readonly restored: Promise<void>;
  readonly done: Promise<{ encoded: EncodedSegment; result: SegmentResult }>;
}

/**
 * The encoder of a segment's output, restored or plain: `scale` times the source size, same
 * container, timing and audio as the source segment.
 */
function encoderFor(prepared: PreparedSegment, scale: number, output: SegmentOutput, signal: AbortSignal | undefined): SegmentEncoder {
  const { input, info } = prepared;
  return createSegmentEncoder({
    sourcePath: prepared.sourcePath,
    info,
    width: info.video.width * scale,
    height: info.video.height * scale,
    container: input.container,
    outPath: output.outPath,
    ...(output.initOutPath !== undefined ? { initOutPath: output.initOutPath } : {}),
    encoder: output.encoder,
    ...(output.quality !== undefined ? { quality: output.quality } : {}),
    ...(output.quick === true ? { quick: true } : {}),
    // fMP4 fragments count up across the rendition (mfhd), as in the source.
    sequenceNumber: input.sn + 1,
    name: segmentName(input),
    context: { sn: input.sn, uri: input.uri },
    ...(signal !== undefined ? { signal } : {}),
  });
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Restored frames buffered ahead of the encoder. */
  readonly queueFrames?: number;
  /** Called as frames come out of the model (progress). */
  readonly onFrames?: (n: number) => void;
  /** The segment was prepared ahead: time it from the restore start, not from its fetch. */
  readonly prefetched?: boolean;
}

/**
 * Restores a prepared segment: the restorer pulls decoded frames, pushes restored ones to
 * the encoder. `restored` settles when the restorer is free for the next segment.
 */
export function runSegment(prepared: PreparedSegment, restorer: Restorer, output: SegmentOutput, options: RunOptions = {}): RunningSegment {
  const { input, info } = prepared;
  const encoder = encoderFor(prepared, restorer.scale, output, options.signal);
  const toEncode = new BoundedQueue<YuvFrame>(options.queueFrames ?? 8);
  let frames = 0;
  let stats: SegmentStats | undefined;
  // From the restore start: decoding may have run ahead while the previous segment was busy.
  const startedAt = options.prefetched === true ? performance.now() : prepared.startedAt;

  const restored = (async () => {
    try {
      const emit = async (out: YuvFrame[]): Promise<void> => {
        for (const f of out) await toEncode.push(f);
        frames += out.length;
        if (out.length > 0) options.onFrames?.(out.length);
      };
      for await (const frame of prepared.frames) {
        options.signal?.throwIfAborted();
        await emit(await restorer.push(frame));
      }
      await emit(await restorer.flush());
      stats = restorer.lastSegmentStats;
      if (frames !== info.video.frameCount) {
        throw new SwiftvrError(
          'bad-input',
          `decoded ${frames} frames but ffprobe counts ${info.video.frameCount}; the segment is truncated or corrupt`,
        );
      }
      toEncode.close();
    } catch (e) {
      // Drop half-buffered frames so the next segment does not start mid-chunk.
      await restorer.reset().catch(() => {});
      toEncode.fail(e);
      throw segmentError(input, e, 'restore');
    }
  })();

  const done = (async () => {
    try {
      for await (const frame of toEncode) await encoder.write(frame);
      await restored;
      const encoded = await encoder.finish();
      // The segment's statistics are the result's fields of the same names.
      const result = segmentResult(input, frames, startedAt, encoded, info, stats ?? {});
      return { encoded, result };
    } catch (e) {
      toEncode.fail(e);
      await encoder.abort();
      await restored.catch(() => {});
      throw segmentError(input, e, 'encode');
    }
  })();
  // Callers await `done`; `restored` is for sequencing only.
  restored.catch(() => {});
  return { restored, done };
}

/** Whether the frame's bytes are all of its buffer. */
const ownsBuffer = (f: YuvFrame): boolean => f.data.byteOffset === 0 && f.data.byteLength === f.data.buffer.byteLength;

/** What one published segment took: frames, time since its preparation began, bytes. */
function segmentResult(
  input: SegmentId,
  frames: number,
  startedAt: number,
  encoded: EncodedSegment,
  info: SegmentMediaInfo,
  extra: Pick<
    SegmentResult,
    'changed' | 'boundaryFlicker' | 'fidelityPsnrY' | 'fidelitySsimY' | 'modelSeconds' | 'threadHostMs' | 'fallback'
  >,
): SegmentResult {
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    sn: input.sn,
    frames,
    seconds,
    fps: seconds > 0 ? frames / seconds : 0,
    bytes: encoded.bytes,
    duration: info.durationSeconds,
    picture: pictureReport(info.video.picture, info.video.colour),
    ...extra,
  };
}

/**
 * The fallback for a segment that cannot be restored in time, or whose restore failed for a reason
 * other than bad input: ffmpeg's plain bicubic upscale to the same size, encoded exactly as a
 * restored segment is (same container, start PTS, IDR first, audio copied, same sequence number),
 * so the rendition keeps pace with its source. `reason` is recorded in the result.
 */
export async function plainUpscaleSegment(
  input: SegmentInput,
  scale: number,
  reason: string,
  output: SegmentOutput,
  options: { readonly workDir: string; readonly signal?: AbortSignal; readonly limit: FrameLimit },
): Promise<{ encoded: EncodedSegment; result: SegmentResult; info: SegmentMediaInfo }> {
  const prepared = await prepareSegment(input, {
    workDir: options.workDir,
    scale,
    limit: options.limit,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const { info } = prepared;
  const encoder = encoderFor(prepared, scale, output, options.signal);
  try {
    let frames = 0;
    for await (const frame of prepared.frames) {
      // The decoded frame's buffer goes back to the frame pool once it is in the pipe.
      await encoder.write(frame, ownsBuffer(frame) ? () => framePool.give(frame.data.buffer as ArrayBuffer) : undefined);
      frames++;
    }
    const encoded = await encoder.finish();
    return { encoded, result: segmentResult(input, frames, prepared.startedAt, encoded, info, { fallback: reason }), info };
  } catch (e) {
    await encoder.abort();
    throw segmentError(input, e, 'encode');
  } finally {
    await prepared.dispose();
  }
}

/**
 * Runs a segment through the restorer with its output discarded: the carried state catches up.
 * With `tailFrames`, only the segment's last frames run (the rest are decoded and dropped): the
 * state is the last frame's, so one chunk brings it close at a fraction of the cost.
 */
export async function warmOn(
  input: SegmentInput,
  restorer: Restorer,
  options: { readonly workDir: string; readonly signal?: AbortSignal; readonly tailFrames?: number },
): Promise<void> {
  const prepared = await prepareSegment(input, {
    workDir: options.workDir,
    limit: frameLimitFor(restorer.provider),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const tail = options.tailFrames;
    if (tail === undefined) {
      for await (const frame of prepared.frames) {
        options.signal?.throwIfAborted();
        await restorer.push(frame);
      }
    } else {
      const last: YuvFrame[] = [];
      for await (const frame of prepared.frames) {
        last.push(frame);
        if (last.length > tail) last.shift();
      }
      for (const frame of last) {
        options.signal?.throwIfAborted();
        await restorer.push(frame);
      }
    }
    await restorer.flush();
  } finally {
    await prepared.dispose();
  }
}
