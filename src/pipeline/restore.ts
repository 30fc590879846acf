// `restore()`: one HLS stream (or video file) in, an upscaled rendition out. The stages run in
// data-flow order: input -> plan -> per segment (load -> probe -> decode -> restore -> encode,
// concurrently, the next segment prepared while this one is encoded) -> publish segments ->
// playlists -> compare page. Everything is staged first and published only when every segment
// succeeded, so a failure or Ctrl-C never leaves a half-written rendition.
import { linkedAbort } from '../util/abort.js';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExecutionProvider, SegmentResult, SourcePlan } from '../types.js';
import { SwiftvrError } from '../errors.js';
import { openRestorer } from '../inference/restorer.js';
import { readSourcePlan } from '../hls/playlist-reader.js';
import type { ProgressReporter } from '../report/progress.js';
import { prepareInput } from './input.js';
import { restoreSegments, type StagedSegment } from './segments.js';
import { publish } from './publish.js';
import type { EncoderChoice } from './segment.js';

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
}

export interface RestoreSummary {
  readonly outDir: string;
  readonly multivariantPath: string;
  readonly mediaPlaylistPath: string;
  readonly comparePagePath: string;
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

export async function restore(options: RestoreOptions): Promise<RestoreSummary> {
  const started = performance.now();
  const progress = options.progress ?? noProgress;
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
    const restorer = await opening;
    createdOut = !existsSync(outDir);
    await mkdir(stageDir, { recursive: true });
    // Segments: restored and encoded into the staging folder.
    staged = await restoreSegments(plan, {
      restorer,
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
    const published = await publish({ plan, staged, stageDir, outDir, input, scale: restorer.scale, signal });
    const seconds = (performance.now() - started) / 1000;
    return {
      outDir,
      multivariantPath: published.multivariantPath,
      mediaPlaylistPath: published.mediaPlaylistPath,
      comparePagePath: published.comparePagePath,
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
    if (options.signal?.aborted === true) {
      throw new SwiftvrError('aborted', `stopped (${String((options.signal.reason as Error | undefined)?.message ?? options.signal.reason)}); nothing was published`, { cause: e });
    }
    throw e;
  } finally {
    await opening.then((r) => r.close(), () => {});
    await rm(stageDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}
