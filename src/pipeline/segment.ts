// One segment through the stages: bytes -> local file -> probe -> decode -> restore -> encode.
// Decode, restore and encode run concurrently, joined by bounded queues. The local pipeline
// prepares (fetch + probe + decode) the next segment while the current one is restored and
// encoded; the cloud worker calls restoreSegment() for one segment at a time.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerKind, YuvFrame, SegmentMediaInfo, SegmentResult } from '../types.js';
import { badInput, isSwiftvrError, SwiftvrError, withContext, type Stage } from '../errors.js';
import type { SegmentStats } from '../inference/frame-stats.js';
import type { Restorer } from '../inference/restorer.js';
import { probeSegment } from '../media/probe.js';
import { pictureReport } from '../media/picture.js';
import { decodeFrames } from '../media/decoder.js';
import { createSegmentEncoder, type EncodedSegment, type SegmentEncoder } from '../media/encoder.js';
import { checkFrameSize, frameLimitFor, type FrameLimit } from '../media/frame-limit.js';
import { countDecodedFrames, needsPreviousSegment } from '../media/open-gop.js';
import { linkedAbort } from '../util/abort.js';
import { BoundedQueue, pump } from './bounded-queue.js';

export type EncoderChoice = 'libx264' | 'h264_nvenc' | 'auto';

/** What names a segment in errors. */
export interface SegmentId {
  readonly sn: number;
  readonly uri: string;
}

/** A source segment as bytes, with what names it in errors. */
export interface SegmentInput {
  readonly sn: number;
  readonly uri: string;
  readonly container: ContainerKind;
  readonly bytes: Uint8Array;
  /** fMP4: the initialisation section (EXT-X-MAP) the segment needs to decode. */
  readonly initBytes?: Uint8Array;
  /** EXTINF duration in seconds: a segment that falls well short of it is refused as truncated. */
  readonly duration?: number;
  /**
   * The segment before it in the same stream (no discontinuity between, same init section),
   * fetched only when this one starts with an open GOP and needs it to decode its first pictures.
   */
  readonly previous?: () => Promise<{ readonly bytes: Uint8Array } | undefined>;
  /** Clockwise turn of the video file the stream was cut from (its segments cannot carry it). */
  readonly fileRotation?: number;
}

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

/** A segment whose frames are being decoded into a bounded queue. */
export interface PreparedSegment {
  readonly input: SegmentInput;
  readonly sourcePath: string;
  readonly info: SegmentMediaInfo;
  readonly frames: BoundedQueue<YuvFrame>;
  /** Settles when decoding ends; rejects with the decode error (also delivered through `frames`). */
  readonly decoded: Promise<void>;
  readonly startedAt: number;
  /** Stops decoding (if still running) and removes the local copy. */
  dispose(): Promise<void>;
}

/** A segment in flight: restored frames are done once `restored` settles, the file once `done` does. */
export interface RunningSegment {
  readonly restored: Promise<void>;
  readonly done: Promise<{ encoded: EncodedSegment; result: SegmentResult }>;
}

const segmentName = (input: SegmentId): string => `segment sn=${input.sn} (${input.uri})`;

/**
 * The error with the segment in its context, and its name in front of the message so every
 * failure says which segment broke (once: an error that already names it is returned as it is).
 */
export function segmentError(input: SegmentId, e: unknown, stage?: Stage): SwiftvrError {
  // The stage where it was first known stays (a restore failure seen again at the encode is a restore failure).
  const known = isSwiftvrError(e) ? e.context.stage : undefined;
  const err = withContext(e, { sn: input.sn, uri: input.uri, ...((known ?? stage) === undefined ? {} : { stage: known ?? stage }) });
  if (isSwiftvrError(e) && e.context.sn === input.sn && e.context.uri === input.uri && e.message !== e.reason) return err;
  return new SwiftvrError(err.kind, `${segmentName(input)}: ${err.message}`, {
    cause: err.cause ?? e,
    retryable: err.retryable,
    context: err.context,
    code: err.code,
    reason: err.reason,
  });
}

export interface PrepareOptions {
  /** Folder for the local copy of the segment (removed by dispose()). */
  readonly workDir: string;
  readonly signal?: AbortSignal;
  /** Decoded frames buffered ahead of the restorer. */
  readonly queueFrames?: number;
  /** Decode to frames scaled by this factor with ffmpeg's bicubic (the plain upscale). @default 1 */
  readonly scale?: number;
  /** Largest input frame accepted (checked on the probe, before decoding). */
  readonly limit: FrameLimit;
}

/**
 * Writes the segment to a local file, probes it and starts decoding into a bounded queue. Each
 * preparation has a folder of its own in `workDir` (removed by dispose), so two preparations of one
 * segment, such as its plain upscale and a warm-up on it, never share or remove each other's files.
 */
export async function prepareSegment(input: SegmentInput, options: PrepareOptions): Promise<PreparedSegment> {
  const startedAt = performance.now();
  const ext = input.container === 'ts' ? 'ts' : 'mp4';
  const dir = await mkdtemp(join(options.workDir, `sn${input.sn}-`));
  const sourcePath = join(dir, `src.${ext}`);
  const removeFiles = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    // fMP4: init section followed by the segment makes one decodable file.
    const parts = input.initBytes !== undefined ? [input.initBytes, input.bytes] : [input.bytes];
    await writeFile(sourcePath, Buffer.concat(parts));
    const name = segmentName(input);
    const context = { sn: input.sn, uri: input.uri };
    const info = await probeSegment(sourcePath, input.container, {
      name,
      context,
      ...(input.duration !== undefined ? { expectedDuration: input.duration } : {}),
      ...(input.fileRotation !== undefined ? { fileRotation: input.fileRotation } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    checkFrameSize(info.video.width, info.video.height, options.limit, name, context);
    const open = await openGopSource(input, sourcePath, info.video.frameCount, dir, { name, context, ...(options.signal ? { signal: options.signal } : {}) });
    const frames = new BoundedQueue<YuvFrame>(options.queueFrames ?? 8);
    const decoder = linkedAbort(options.signal);
    const decoded = pump(
      decodeFrames(open.path, info, {
        signal: decoder.signal,
        name,
        context,
        ...(open.skipFrames > 0 ? { skipFrames: open.skipFrames } : {}),
        ...(options.scale === undefined ? {} : { scale: options.scale }),
      }),
      frames,
    );
    // The error also reaches the consumer through the queue; avoid an unhandled rejection here.
    decoded.catch(() => {});
    return {
      input,
      sourcePath,
      info,
      frames,
      decoded,
      startedAt,
      dispose: async () => {
        decoder.controller.abort();
        frames.fail(new SwiftvrError('aborted', `${segmentName(input)}: decoding stopped`));
        await decoded.catch(() => {});
        await removeFiles();
      },
    };
  } catch (e) {
    await removeFiles();
    throw segmentError(input, e, 'probe');
  }
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

/**
 * What to decode for a segment: itself, or, when it starts with an open GOP whose leading
 * pictures reference the previous segment, the previous segment followed by it, with the previous
 * segment's frames skipped. Without a previous segment (the stream's first, or after a
 * discontinuity) such pictures cannot be decoded by anyone: a bad-input error says so.
 */
async function openGopSource(
  input: SegmentInput,
  sourcePath: string,
  packets: number,
  dir: string,
  o: { readonly name: string; readonly context: { sn: number; uri: string }; readonly signal?: AbortSignal },
): Promise<{ path: string; skipFrames: number }> {
  if (!(await needsPreviousSegment(sourcePath, input.container, packets, o))) return { path: sourcePath, skipFrames: 0 };
  const previous = await input.previous?.();
  if (previous === undefined) {
    throw badInput(
      `${o.name} starts with an open GOP: its first pictures reference the segment before it, and there is none in this stream (its first segment, or one after a discontinuity)`,
      o.context,
    );
  }
  const ext = input.container === 'ts' ? 'ts' : 'mp4';
  const init = input.initBytes === undefined ? [] : [input.initBytes];
  // In the preparation's own folder: removed with it.
  const prevPath = join(dir, `prev.${ext}`);
  const joinedPath = join(dir, `joined.${ext}`);
  await writeFile(prevPath, Buffer.concat([...init, previous.bytes]));
  await writeFile(joinedPath, Buffer.concat([...init, previous.bytes, input.bytes]));
  const skipFrames = await countDecodedFrames(prevPath, input.container, { ...o, name: `the segment before ${o.name}` });
  return { path: joinedPath, skipFrames };
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
export function runSegment(
  prepared: PreparedSegment,
  restorer: Restorer,
  output: SegmentOutput,
  options: RunOptions = {},
): RunningSegment {
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

/** What one published segment took: frames, time since its preparation began, bytes. */
function segmentResult(
  input: SegmentId,
  frames: number,
  startedAt: number,
  encoded: EncodedSegment,
  info: SegmentMediaInfo,
  extra: Pick<SegmentResult, 'changed' | 'boundaryFlicker' | 'fidelityPsnrY' | 'fidelitySsimY' | 'modelSeconds' | 'threadHostMs' | 'fallback'>,
): SegmentResult {
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    sn: input.sn, frames, seconds, fps: seconds > 0 ? frames / seconds : 0, bytes: encoded.bytes, duration: info.durationSeconds,
    picture: pictureReport(info.video.picture, info.video.colour), ...extra,
  };
}

/**
 * Restores one segment given its bytes: the unit of work of the cloud worker. The restorer
 * carries state in from the previous segment and on to the next (snapshot() it to checkpoint).
 */
export async function restoreSegment(
  input: SegmentInput,
  restorer: Restorer,
  output: SegmentOutput,
  options: RunOptions & { readonly workDir: string },
): Promise<{ encoded: EncodedSegment; result: SegmentResult; info: SegmentMediaInfo }> {
  const prepared = await prepareSegment(input, { workDir: options.workDir, limit: frameLimitFor(restorer.provider), ...(options.signal ? { signal: options.signal } : {}) });
  try {
    return { ...(await runSegment(prepared, restorer, output, options).done), info: prepared.info };
  } finally {
    await prepared.dispose();
  }
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
  const prepared = await prepareSegment(input, { workDir: options.workDir, scale, limit: options.limit, ...(options.signal ? { signal: options.signal } : {}) });
  const { info } = prepared;
  const encoder = encoderFor(prepared, scale, output, options.signal);
  try {
    let frames = 0;
    for await (const frame of prepared.frames) {
      await encoder.write(frame);
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
  const prepared = await prepareSegment(input, { workDir: options.workDir, limit: frameLimitFor(restorer.provider), ...(options.signal ? { signal: options.signal } : {}) });
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
