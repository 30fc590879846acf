// The per-segment loop of a local restore: segment i+1 is fetched, probed and decoding while
// segment i is restored and encoded; the restorer (one carried state) takes segments in order.
import { linkedAbort } from '../util/abort.js';
import { join } from 'node:path';
import type { ByteRange, ResourceLocation, SegmentMediaInfo, SegmentRef, SegmentResult, SourcePlan } from '../types.js';
import type { Restorer } from '../inference/restorer.js';
import type { EncodedSegment } from '../media/encoder.js';
import { videoCodecFromAnnexB, videoCodecFromInit, videoCodecFromTs } from '../media/codecs.js';
import type { ProgressReporter } from '../report/progress.js';
import { isSwiftvrError, reasonOf } from '../errors.js';
import {
  plainUpscaleSegment,
  prepareSegment,
  runSegment,
  segmentError,
  warmOn,
  type EncoderChoice,
  type PreparedSegment,
  type SegmentInput,
} from './segment.js';
import { frameLimitFor } from '../media/frame-limit.js';
import { droppedColourWarning } from '../media/colour.js';

export interface StagedSegment {
  readonly ref: SegmentRef;
  /** File name of the encoded segment in the staging folder. */
  readonly file: string;
  /** fMP4: file name of its init section in the staging folder. */
  readonly initFile?: string;
  readonly encoded: EncodedSegment;
  readonly result: SegmentResult;
  /** Size of the source segment in bytes (for the source variant's BANDWIDTH). */
  readonly sourceBytes: number;
  /** Source video facts. */
  readonly source: SegmentMediaInfo;
  /** RFC 6381 codec of the source video (from its SPS), when found. */
  readonly sourceVideoCodec?: string;
}

export interface SegmentsOptions {
  readonly restorer: Restorer;
  readonly stageDir: string;
  readonly workDir: string;
  readonly encoder: EncoderChoice;
  readonly quality?: number;
  readonly signal: AbortSignal;
  readonly progress: ProgressReporter;
  /**
   * A segment whose restore fails for a reason other than bad input is published as a marked plain
   * upscale instead of failing the job; the carried state then restarts on that segment. @default false
   */
  readonly fallbackPlain?: boolean;
  /** Clockwise turn of the video file the stream was cut from (see PreparedInput). */
  readonly fileRotation?: number;
}

/** Output names: `seg_<sn>.ts|m4s`; one init section per discontinuity sequence (its size may change there). */
export const segmentFileName = (ref: SegmentRef, container: 'ts' | 'fmp4'): string =>
  `seg_${ref.sn}.${container === 'ts' ? 'ts' : 'm4s'}`;
export const initFileName = (ref: SegmentRef): string =>
  ref.discontinuitySequence === 0 ? 'init.mp4' : `init_${ref.discontinuitySequence}.mp4`;

const rangeKey = (loc: ResourceLocation, r?: ByteRange): string =>
  `${JSON.stringify(loc)}@${r === undefined ? '' : `${r.offset}+${r.length}`}`;

export async function restoreSegments(plan: SourcePlan, o: SegmentsOptions): Promise<StagedSegment[]> {
  const { media } = plan;
  const refs = media.segments;
  const inits = new Map<string, Promise<Uint8Array>>();
  o.progress.start({ segments: refs.length, durationSeconds: refs.reduce((s, r) => s + r.duration, 0) });

  const load = async (ref: SegmentRef, signal: AbortSignal): Promise<SegmentInput> => {
    try {
      const bytes = await plan.source.load(ref.location, { signal, ...(ref.byteRange ? { byteRange: ref.byteRange } : {}) });
      let initBytes: Uint8Array | undefined;
      if (ref.map !== undefined) {
        const key = rangeKey(ref.map.location, ref.map.byteRange);
        let init = inits.get(key);
        if (init === undefined) {
          const map = ref.map;
          init = plan.source.load(map.location, { signal, ...(map.byteRange ? { byteRange: map.byteRange } : {}) });
          inits.set(key, init);
        }
        initBytes = await init;
      }
      return {
        sn: ref.sn, uri: ref.uri, container: media.container, bytes, duration: ref.duration,
        ...(initBytes ? { initBytes } : {}),
        ...(o.fileRotation ? { fileRotation: o.fileRotation } : {}),
      };
    } catch (e) {
      throw segmentError(ref, e, 'load');
    }
  };
  const prepare = async (i: number, signal: AbortSignal): Promise<PreparedSegment> => {
    const ref = refs[i]!;
    const prev = refs[i - 1];
    // An open-GOP segment decodes after the one before it (same stream: no discontinuity, same init).
    const initOf = (r: SegmentRef): string => (r.map === undefined ? '' : rangeKey(r.map.location, r.map.byteRange));
    const contiguous = prev !== undefined && !ref.discontinuity && initOf(prev) === initOf(ref);
    const input = await load(ref, signal);
    return prepareSegment(contiguous ? { ...input, previous: async () => ({ bytes: (await load(prev, signal)).bytes }) } : input, {
      workDir: o.workDir,
      signal,
      limit: frameLimitFor(o.restorer.provider),
    });
  };

  // Our own controller: one failing segment stops the decoders and encoders of the others.
  const { controller, signal } = linkedAbort(o.signal);

  const staged: StagedSegment[] = [];
  // Each different picture note (tags dropped, picture turned or deinterlaced) is said once per job.
  const said = new Set<string>();
  const note = (line: string | undefined): void => {
    if (line === undefined || said.has(line)) return;
    said.add(line);
    o.progress.info(line);
  };
  // Reported in sequence order (encodes of neighbouring segments may finish out of order).
  const accept = (s: StagedSegment): void => {
    staged.push(s);
    const warning = droppedColourWarning(s.source.video.colour);
    note(warning === undefined ? undefined : `warning: ${warning}`);
    for (const applied of s.result.picture?.applied ?? []) note(`picture: ${applied}`);
    o.progress.segment(s.result);
  };
  let next: Promise<PreparedSegment> | undefined;
  let pending: Promise<StagedSegment> | undefined;
  let current: Promise<StagedSegment> | undefined;
  // Prepared but not yet handed to a running segment (that one disposes it when done).
  let unowned: PreparedSegment | undefined;
  try {
    next = refs.length > 0 ? prepare(0, signal) : undefined;
    next?.catch(() => {});
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const prepared = await next!;
      unowned = prepared;
      next = i + 1 < refs.length ? prepare(i + 1, signal) : undefined;
      next?.catch(() => {});
      if (i === 0) o.progress.frameRate(prepared.info.video.frameRate.num / prepared.info.video.frameRate.den);
      const { bytes, initBytes } = prepared.input;
      const sourceCodec = initBytes !== undefined ? videoCodecFromInit(initBytes) : (videoCodecFromTs(bytes) ?? videoCodecFromAnnexB(bytes));
      const file = segmentFileName(ref, media.container);
      const initFile = media.container === 'fmp4' ? initFileName(ref) : undefined;
      const output = {
        outPath: join(o.stageDir, file),
        ...(initFile !== undefined ? { initOutPath: join(o.stageDir, initFile) } : {}),
        encoder: o.encoder,
        ...(o.quality !== undefined ? { quality: o.quality } : {}),
      };
      const stage = ({ encoded, result }: { encoded: EncodedSegment; result: SegmentResult }): StagedSegment => ({
        ref,
        file,
        ...(initFile !== undefined ? { initFile } : {}),
        encoded,
        result,
        sourceBytes: prepared.input.bytes.length,
        source: prepared.info,
        ...(sourceCodec !== undefined ? { sourceVideoCodec: sourceCodec } : {}),
      });
      const running = runSegment(prepared, o.restorer, output, { signal, prefetched: true, onFrames: (n) => o.progress.frames(n) });
      current = running.done.then(stage).finally(() => prepared.dispose());
      unowned = undefined;
      current.catch(() => {});
      // The restorer is free once this segment's frames are all restored; the previous
      // segment's encode must be done before a third one starts (at most two encoders).
      try {
        await running.restored;
      } catch (e) {
        if (o.fallbackPlain !== true || signal.aborted || (isSwiftvrError(e) && e.kind === 'bad-input')) throw e;
        await current.catch(() => {}); // its encoder stopped with the restore
        const reason = `restore failed: ${reasonOf(e)}`;
        o.progress.info(`segment sn=${ref.sn}: ${reason}; publishing the plain upscale instead`);
        current = plainUpscaleSegment(prepared.input, o.restorer.scale, reason, output, { workDir: o.workDir, signal, limit: frameLimitFor(o.restorer.provider) }).then(stage);
        current.catch(() => {});
        // The next segment starts from a state warmed on this one's frames (from zeros if that fails too).
        await o.restorer.reset();
        await warmOn(prepared.input, o.restorer, { workDir: o.workDir, signal }).catch(() => o.restorer.reset());
      }
      if (pending !== undefined) accept(await pending);
      pending = current;
      current = undefined;
    }
    if (pending !== undefined) accept(await pending);
    return staged;
  } catch (e) {
    // Stop everything still running (decoders, encoders) and wait for it to clean up.
    controller.abort(e);
    await Promise.allSettled([pending, current].filter((p) => p !== undefined));
    if (next !== undefined) await next.then((p) => p.dispose(), () => {});
    await unowned?.dispose();
    throw e;
  }
}
