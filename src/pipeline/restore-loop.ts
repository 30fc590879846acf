// The local restore loop: each segment through the segment step (segment-step.ts, the cloud
// worker's too), segment i+1 fetched, probed and decoding while segment i is restored and encoded;
// the restorer (one carried state) takes segments in order.
import { linkedAbort } from '../util/abort.js';
import { join } from 'node:path';
import type { ByteRange, ResourceLocation, SegmentMediaInfo, SegmentRef, SegmentResult, SourcePlan } from '../types.js';
import type { Restorer } from '../inference/restorer.js';
import type { EncodedSegment } from '../media/encoder.js';
import { videoCodecFromAnnexB, videoCodecFromInit, videoCodecFromTs } from '../media/codec-strings.js';
import type { ProgressReporter } from '../report/progress.js';
import { prepareSegment, readSegment, segmentError, type PreparedSegment, type SegmentInput, type SegmentSource } from './segment-input.js';
import { segmentStep, warmOn, type EncoderChoice, type StepResult } from './segment-step.js';
import { outputInitName, outputSegmentName } from '../hls/output-names.js';
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
  /** The restorer, or its opening: the first segment is read, probed and decoding meanwhile. */
  readonly restorer: Restorer | Promise<Restorer>;
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

const rangeKey = (loc: ResourceLocation, r?: ByteRange): string =>
  `${JSON.stringify(loc)}@${r === undefined ? '' : `${r.offset}+${r.length}`}`;

/** The local source of a plan's segments: files and http(s) through its source access, each init section read once. */
export function planSource(plan: SourcePlan, fileRotation?: number): SegmentSource<SegmentRef> {
  const inits = new Map<string, Promise<Uint8Array>>();
  const initOf = (r: SegmentRef): string => (r.map === undefined ? '' : rangeKey(r.map.location, r.map.byteRange));
  return {
    initOf,
    async read(ref, signal): Promise<SegmentInput> {
      try {
        const bytes = await plan.source.load(ref.location, { signal, ...(ref.byteRange ? { byteRange: ref.byteRange } : {}) });
        let initBytes: Uint8Array | undefined;
        const map = ref.map;
        if (map !== undefined) {
          let init = inits.get(initOf(ref));
          if (init === undefined) {
            init = plan.source.load(map.location, { signal, ...(map.byteRange ? { byteRange: map.byteRange } : {}) });
            inits.set(initOf(ref), init);
          }
          initBytes = await init;
        }
        return {
          sn: ref.sn,
          uri: ref.uri,
          container: plan.media.container,
          bytes,
          duration: ref.duration,
          ...(initBytes ? { initBytes } : {}),
          ...(fileRotation ? { fileRotation } : {}),
        };
      } catch (e) {
        throw segmentError(ref, e, 'load');
      }
    },
  };
}

export async function restoreSegments(plan: SourcePlan, o: SegmentsOptions): Promise<StagedSegment[]> {
  const { media } = plan;
  const refs = media.segments;
  const source = planSource(plan, o.fileRotation);
  o.progress.start({ segments: refs.length, durationSeconds: refs.reduce((s, r) => s + r.duration, 0) });
  const opening = Promise.resolve(o.restorer);
  // What decoding needs of the restorer; a failed opening surfaces where the restorer is awaited.
  const limit = opening.then((r) => frameLimitFor(r.provider));
  const framesPerBuffer = opening.then((r) => r.chunkFrames);
  for (const p of [opening, limit, framesPerBuffer]) p.catch(() => {});
  const prepare = async (i: number, signal: AbortSignal): Promise<PreparedSegment> =>
    prepareSegment(await readSegment(source, refs[i]!, refs[i - 1], signal), { workDir: o.workDir, signal, limit, framesPerBuffer });

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
    // A model that fails to open fails the job as itself, not as the first segment's preparation.
    const restorer = await opening;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const prepared = await next!;
      unowned = prepared;
      next = i + 1 < refs.length ? prepare(i + 1, signal) : undefined;
      next?.catch(() => {});
      if (i === 0) o.progress.frameRate(prepared.info.video.frameRate.num / prepared.info.video.frameRate.den);
      const { bytes, initBytes } = prepared.input;
      const sourceCodec =
        initBytes !== undefined ? videoCodecFromInit(initBytes) : (videoCodecFromTs(bytes) ?? videoCodecFromAnnexB(bytes));
      const file = outputSegmentName(ref.sn, media.container);
      const initFile = media.container === 'fmp4' ? outputInitName(ref.discontinuitySequence) : undefined;
      const output = {
        outPath: join(o.stageDir, file),
        ...(initFile !== undefined ? { initOutPath: join(o.stageDir, initFile) } : {}),
        encoder: o.encoder,
        ...(o.quality !== undefined ? { quality: o.quality } : {}),
      };
      const stage = ({ encoded, result }: StepResult): StagedSegment => ({
        ref,
        file,
        ...(initFile !== undefined ? { initFile } : {}),
        encoded,
        result,
        sourceBytes: prepared.input.bytes.length,
        source: prepared.info,
        ...(sourceCodec !== undefined ? { sourceVideoCodec: sourceCodec } : {}),
      });
      const step = segmentStep(prepared.input, restorer, output, {
        workDir: o.workDir,
        signal,
        prepared,
        onFrames: (n) => o.progress.frames(n),
        policy: { plainOnFailure: o.fallbackPlain === true },
        state: {
          // The next segment starts from a state warmed on this one's frames (from zeros if that fails too).
          restart: async (input, s) => {
            await restorer.reset();
            await warmOn(input, restorer, { workDir: o.workDir, signal: s }).catch(() => restorer.reset());
          },
        },
      });
      unowned = undefined;
      current = step.done.then((r) => {
        if (r.fallback !== undefined) o.progress.info(`segment sn=${ref.sn}: ${r.fallback}; publishing the plain upscale instead`);
        return stage(r);
      });
      current.catch(() => {});
      // The restorer is free once this segment's frames are all restored (or its state restarted);
      // the previous segment's encode must be done before a third one starts (at most two encoders).
      await step.restored;
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
    if (next !== undefined)
      await next.then(
        (p) => p.dispose(),
        () => {},
      );
    await unowned?.dispose();
    throw e;
  }
}
