// A segment's input side: its bytes (from wherever its source is read) as a local file, probed,
// checked and decoding into a bounded queue; the segment before it joined in when it starts with
// an open GOP. Every failure names the segment and the stage it broke in.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerKind, SegmentMediaInfo, YuvFrame } from '../types.js';
import { badInput, isSwiftvrError, SwiftvrError, withContext, type Stage } from '../errors.js';
import { probeSegment } from '../media/probe.js';
import { decodeFrames } from '../media/decoder.js';
import { checkFrameSize, type FrameLimit } from '../media/frame-limit.js';
import { countDecodedFrames, needsPreviousSegment } from '../media/open-gop.js';
import { linkedAbort } from '../util/abort.js';
import { BoundedQueue, pump } from './bounded-queue.js';

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

/** A segment's place in its stream, as much as reading it needs. */
export interface SegmentPlace {
  readonly sn: number;
  readonly discontinuity: boolean;
}

/**
 * Where a stream's segment bytes come from: local files and http(s) through the plan's source
 * access, or the object store in the cloud. `R` is how the caller names a segment.
 */
export interface SegmentSource<R extends SegmentPlace> {
  /** The segment's bytes, with its init section (fMP4). */
  read(ref: R, signal: AbortSignal): Promise<SegmentInput>;
  /** Which init section the segment needs ('' for none). */
  initOf(ref: R): string;
}

/**
 * The input of segment `ref`, with the segment before it offered for an open GOP when the two are
 * one stretch of the stream (no discontinuity between, the same init section); read only if needed.
 */
export async function readSegment<R extends SegmentPlace>(
  source: SegmentSource<R>,
  ref: R,
  prev: R | undefined,
  signal: AbortSignal,
): Promise<SegmentInput> {
  const input = await source.read(ref, signal);
  if (prev === undefined || ref.discontinuity || source.initOf(prev) !== source.initOf(ref)) return input;
  return { ...input, previous: async () => ({ bytes: (await source.read(prev, signal)).bytes }) };
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

export const segmentName = (input: SegmentId): string => `segment sn=${input.sn} (${input.uri})`;

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
  /**
   * Largest input frame accepted (checked on the probe, before decoding). May be a promise (the
   * restorer still opening): the segment is written and probed meanwhile.
   */
  readonly limit: FrameLimit | PromiseLike<FrameLimit>;
  /** Decoded frames per buffer: the restorer's chunk, so a chunk crosses to the model whole. @default 1 */
  readonly framesPerBuffer?: number | PromiseLike<number>;
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
    checkFrameSize(info.video.width, info.video.height, await options.limit, name, context);
    const open = await openGopSource(input, sourcePath, info.video.frameCount, dir, {
      name,
      context,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const framesPerBuffer = await options.framesPerBuffer;
    const frames = new BoundedQueue<YuvFrame>(options.queueFrames ?? 8);
    const decoder = linkedAbort(options.signal);
    const decoded = pump(
      decodeFrames(open.path, info, {
        signal: decoder.signal,
        name,
        context,
        ...(open.skipFrames > 0 ? { skipFrames: open.skipFrames } : {}),
        ...(options.scale === undefined ? {} : { scale: options.scale }),
        ...(framesPerBuffer === undefined ? {} : { framesPerBuffer }),
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
