// `restore()`: one HLS stream (or video file) in, an upscaled rendition out. The stages run in
// data-flow order: input -> plan -> per segment (load -> probe -> decode -> restore -> encode,
// concurrently, the next segment prepared while this one is encoded) -> publish segments ->
// playlists -> compare page. Everything is staged first and published only when every segment
// succeeded, so a failure or Ctrl-C never leaves a half-written rendition.
import { linkedAbort } from '../util/abort.js';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExecutionProvider, SegmentResult, SourcePlan } from '../types.js';
import { isSwiftvrError, SwiftvrError } from '../errors.js';
import { openRestorer } from '../inference/restorer.js';
import { readSourcePlan } from '../hls/playlist-reader.js';
import type { ProgressReporter } from '../report/progress.js';
import { jobEvent, noEvents, ProgressEvents, segmentSummary, type EventSink } from '../events/job-events.js';
import { prepareInput } from './input.js';
import { restoreSegments, type StagedSegment } from './restore-loop.js';
import { estimateWithModel, type JobEstimate } from '../estimate/estimate.js';
import { factsOfPlan } from '../estimate/input-facts.js';
import { priceTable } from '../estimate/tables.js';
import { DEFAULT_CRF } from '../media/encoder.js';
import { publish } from './publish.js';
import type { EncoderChoice } from './segment-step.js';

export interface RestoreOptions {
  /** HLS playlist path or URL, or a plain video file. */
  readonly input: string;
  readonly outDir: string;
  readonly modelPath: string;
  readonly ep?: ExecutionProvider | 'auto';
  readonly chunkFrames?: number;
  /** Variant of a multivariant input: 0-based index, URI or `WxH`. */
  readonly variant?: number | string;
  readonly allowedHosts?: readonly string[];
  readonly encoder?: EncoderChoice;
  /** Output quality (libx264 CRF, h264_nvenc CQ). */
  readonly quality?: number;
  /** Publish a segment whose restore fails (not for bad input) as a marked plain upscale. @default false */
  readonly fallbackPlain?: boolean;
  /** How the restorer is opened (tests inject one). @default openRestorer */
  readonly openRestorer?: typeof openRestorer;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressReporter;
  /** Threads for onnxruntime (0: all cores). */
  readonly inferenceThreads?: number;
  /** Where the job's events go (SUBMITTED, PROGRESSING, COMPLETE, ERROR, CANCELED). @default none */
  readonly events?: EventSink;
  /** The job's name in its events. @default local-<random> */
  readonly job?: string;
  /** PROGRESSING events between segments at most this often. @default 5000 */
  readonly progressEveryMs?: number;
}

export interface RestoreSummary {
  readonly outDir: string;
  readonly multivariantPath: string;
  readonly mediaPlaylistPath: string;
  readonly comparePagePath: string;
  /** The quality report (report.json; report.csv beside it). */
  readonly reportPath: string;
  readonly segments: readonly SegmentResult[];
  readonly frames: number;
  readonly seconds: number;
  readonly provider: ExecutionProvider;
}

const noProgress: ProgressReporter = {
  start() {},
  frameRate() {},
  frames() {},
  segment() {},
  info() {},
  error() {},
  stop() {},
};

/**
 * The estimate of a local run, made from the plan alone (what restoring does is not known to it); undefined when it
 * cannot be made (a first segment that does not probe fails the run later, with its own message).
 */
async function localEstimate(plan: SourcePlan, options: RestoreOptions, signal: AbortSignal): Promise<JobEstimate | undefined> {
  try {
    const facts = await factsOfPlan(plan, options.input, signal);
    return await estimateWithModel(facts, options.modelPath, { crf: options.quality ?? DEFAULT_CRF, prices: priceTable() });
  } catch (e) {
    if (signal.aborted) throw e;
    return undefined;
  }
}

export async function restore(options: RestoreOptions): Promise<RestoreSummary> {
  const started = performance.now();
  const events = options.events ?? noEvents;
  const job = options.job ?? `local-${randomUUID().slice(0, 8)}`;
  let progressEvents: ProgressEvents | undefined;
  const reporter = options.progress ?? noProgress;
  // The reporter as the user asked for it, and the job's PROGRESSING events from the same calls.
  let durationSeconds = 0;
  const progress: ProgressReporter = {
    ...reporter,
    frameRate: (fps) => {
      reporter.frameRate(fps);
      progressEvents?.setFramesTotal(durationSeconds * fps);
    },
    frames: (n) => {
      reporter.frames(n);
      progressEvents?.frames(n);
    },
    segment: (r) => {
      reporter.segment(r);
      progressEvents?.segment(segmentSummary(r));
    },
  };
  const outDir = resolve(options.outDir);
  // Our own controller: a failing stage stops the others; the caller's signal stops all.
  const { controller, signal } = linkedAbort(options.signal);
  const work = await mkdtemp(join(tmpdir(), 'swiftvr-work-'));
  let staged: readonly StagedSegment[] | undefined;
  let createdOut = false;
  const stageDir = join(outDir, `.swiftvr-staging-${process.pid}-${Date.now().toString(36)}`);
  // The model loads while the input is read and planned.
  const opening = (options.openRestorer ?? openRestorer)(options.modelPath, {
    ep: options.ep ?? 'auto',
    ...(options.inferenceThreads !== undefined ? { intraOpThreads: options.inferenceThreads } : {}),
    ...(options.chunkFrames !== undefined ? { chunkFrames: options.chunkFrames } : {}),
  });
  opening.catch(() => {});
  try {
    options.signal?.throwIfAborted();
    // Input: a plain video file is first cut into HLS.
    const input = await prepareInput(options.input, join(work, 'hls'), signal);
    // Plan: the rendition to restore and what the output playlists keep.
    const plan: SourcePlan = await readSourcePlan(input.playlist, {
      ...(options.variant !== undefined ? { variant: options.variant } : {}),
      allowedHosts: options.allowedHosts ?? [],
      signal,
    });
    durationSeconds = plan.media.segments.reduce((t, s) => t + s.duration, 0);
    // The estimate for this run (the local CPU's row), set beside the actual figures in the report;
    // made beside the work (it probes the first segment once more), not before it.
    const estimating = localEstimate(plan, options, signal);
    estimating.catch(() => {});
    await events.publish(
      jobEvent('SUBMITTED', job, {
        input: options.input,
        mode: 'vod',
        segments: plan.media.segments.length,
        durationSeconds: Math.round(durationSeconds * 1000) / 1000,
      }),
    );
    progressEvents = new ProgressEvents(job, events, {
      segmentsTotal: plan.media.segments.length,
      everyMs: options.progressEveryMs ?? 5000,
    });
    createdOut = !existsSync(outDir);
    await mkdir(stageDir, { recursive: true });
    // Segments: restored and encoded into the staging folder (the first is read, probed and
    // decoding while the model finishes opening).
    staged = await restoreSegments(plan, {
      restorer: opening,
      stageDir,
      workDir: work,
      encoder: options.encoder ?? 'auto',
      ...(options.quality !== undefined ? { quality: options.quality } : {}),
      ...(options.fallbackPlain !== undefined ? { fallbackPlain: options.fallbackPlain } : {}),
      ...(input.rotation ? { fileRotation: input.rotation } : {}),
      signal,
      progress,
    });
    // Publish: segments moved into place, then the playlists, then the compare page.
    const restorer = await opening;
    const estimate = await estimating;
    const published = await publish({
      plan,
      staged,
      stageDir,
      outDir,
      input,
      scale: restorer.scale,
      signal,
      report: {
        job,
        input: options.input,
        model: restorer.contract.name,
        ...(estimate === undefined ? {} : { estimate }),
        startedMs: started,
      },
    });
    const seconds = (performance.now() - started) / 1000;
    await progressEvents.flush();
    // The job's figures are the quality report's summary.
    const { frames, segments, fallbacks, changed, boundaryFlicker } = published.report.summary;
    await events.publish(
      jobEvent('COMPLETE', job, {
        outputs: { multivariant: published.multivariantPath, rendition: published.mediaPlaylistPath, report: published.reportPath },
        segments,
        frames,
        durationSeconds: Math.round(seconds * 1000) / 1000,
        figures: {
          fps: seconds > 0 ? Math.round((frames / seconds) * 100) / 100 : 0,
          fallbacks,
          ...(changed === undefined ? {} : { changed }),
          ...(boundaryFlicker === undefined ? {} : { boundaryFlicker }),
        },
      }),
    );
    return {
      outDir,
      multivariantPath: published.multivariantPath,
      mediaPlaylistPath: published.mediaPlaylistPath,
      comparePagePath: published.comparePagePath,
      reportPath: published.reportPath,
      segments: staged.map((s) => s.result),
      frames: staged.reduce((n, s) => n + s.result.frames, 0),
      seconds,
      provider: restorer.provider,
    };
  } catch (e) {
    controller.abort(e);
    await rm(stageDir, { recursive: true, force: true });
    // Leave no empty output folder behind when this run created it.
    if (createdOut) await rmdir(outDir).catch(() => {});
    await progressEvents?.flush();
    if (options.signal?.aborted === true) {
      const why = String((options.signal.reason as Error | undefined)?.message ?? options.signal.reason);
      await events.publish(
        jobEvent('CANCELED', job, { code: 'canceled', reason: `stopped (${why}); nothing was published`, by: 'signal' }),
      );
      throw new SwiftvrError('aborted', `stopped (${why}); nothing was published`, { cause: e });
    }
    const sn = isSwiftvrError(e) ? e.context?.sn : undefined;
    await events.publish(
      jobEvent('ERROR', job, {
        code: isSwiftvrError(e) ? e.kind : 'internal',
        reason: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 1000) || 'failed',
        ...(typeof sn === 'number' ? { sn } : {}),
      }),
    );
    throw e;
  } finally {
    await opening.then(
      (r) => r.close(),
      () => {},
    );
    await rm(stageDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}
