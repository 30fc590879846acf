// `swiftvr status <job>`: what the store says about a job: segments done, fps, lag, errors.

import { readCancel, type CancelRecord } from './cancel.js';
import { SwiftvrError } from '../errors.js';
import { JobLayout, type JobRecord } from './jobs.js';
import { parseRendition, type RenditionPlaylist } from '../hls/rendition-playlist.js';
import type { SegmentMetrics } from './metrics.js';
import { bytesToText, type ObjectStore } from './object-store/object-store.js';

export interface ErrorRecord {
  readonly job?: string;
  readonly sn?: number;
  readonly segment?: string;
  readonly attempt: number;
  readonly final: boolean;
  readonly kind: string;
  readonly message: string;
  readonly at: string;
}

export interface JobStatus {
  readonly job: string;
  readonly mode: 'vod' | 'live';
  readonly source: string;
  /** VOD: source segments; live: unknown until the source ends. */
  readonly segmentsTotal?: number;
  readonly segmentsDone: number;
  readonly framesDone: number;
  /** Mean per-segment fps. */
  readonly fps: number;
  /** Live: lag of the newest published segment. */
  readonly lagSeconds?: number;
  readonly meanQueueWaitSeconds: number;
  /** The upscaled rendition playlist exists (VOD: complete; live: at least one segment). */
  readonly published: boolean;
  readonly ended: boolean;
  /** Key of the rendition playlist and of the multivariant (when written). */
  readonly rendition: string;
  readonly multivariant?: string;
  readonly errors: readonly ErrorRecord[];
  /** Segments whose last failure was final (sent to the dead-letter queue). */
  readonly deadLettered: readonly number[];
  /**
   * Segments published as EXT-X-GAP entries: VOD by `swiftvr redrive --gap`; live when a segment
   * could not be restored or upscaled (corrupt, missing, gone from the source window).
   */
  readonly gaps: readonly number[];
  /** Live: the follow stopped (the source went idle, or the job failed for good): why, and what to do. */
  readonly stopped?: { readonly reason: string; readonly afterSn?: number; readonly at: string; readonly next: string };
  /** The rendition playlist could not be read back (status still reports everything else). */
  readonly renditionProblem?: string;
  /** `swiftvr cancel`: who, when and why. */
  readonly cancelled?: CancelRecord;
  /** Live segments published as plain upscales (late, or their restore failed), with why. */
  readonly plainUpscaled: readonly { readonly sn: number; readonly reason: string }[];
}

export async function readJobStatus(store: ObjectStore, outputPrefix: string, job: string): Promise<JobStatus> {
  const layout = new JobLayout(outputPrefix, job);
  const recordObj = await store.get(layout.record);
  if (recordObj === undefined) {
    throw new SwiftvrError(
      'bad-input',
      `job ${job} does not exist: no ${store.name}/${layout.record} (was it submitted under output prefix ${outputPrefix}?)`,
    );
  }
  const record = JSON.parse(bytesToText(recordObj.body)) as JobRecord;
  const readAll = async <T>(prefix: string): Promise<T[]> => {
    const keys = (await store.list(prefix)).map((o) => o.key);
    const bodies = await Promise.all(keys.map((k) => store.get(k)));
    return bodies.flatMap((b) => (b === undefined ? [] : [JSON.parse(bytesToText(b.body)) as T]));
  };
  const [metrics, errors, rendition, multivariant, gapKeys, cancelled] = await Promise.all([
    readAll<SegmentMetrics>(layout.metricsPrefix),
    readAll<ErrorRecord>(layout.errorsPrefix),
    store.get(layout.rendition),
    store.head(layout.multivariant),
    store.list(layout.gapsPrefix),
    readCancel(store, layout),
  ]);
  metrics.sort((a, b) => a.sn - b.sn);
  errors.sort((a, b) => (a.sn ?? -1) - (b.sn ?? -1) || a.attempt - b.attempt);
  const done = new Set(metrics.map((m) => m.sn));
  // The job's own playlist never makes status fail: a playlist it cannot read is reported as such.
  let playlist: RenditionPlaylist | undefined;
  let renditionProblem: string | undefined;
  if (rendition !== undefined) {
    try {
      playlist = parseRendition(bytesToText(rendition.body), layout.rendition);
    } catch (e) {
      renditionProblem = e instanceof Error ? e.message : String(e);
    }
  }
  const ended = playlist?.ended === true;
  const gapSet = new Set(gapKeys.map((o) => Number(/(\d+)\.json$/.exec(o.key)?.[1])).filter((n) => Number.isInteger(n)));
  for (const e of playlist?.entries ?? []) if (e.gap === true) gapSet.add(e.sourceSn);
  const gaps = [...gapSet].sort((a, b) => a - b);
  const newestAt = metrics.reduce((t, m) => (m.at > t ? m.at : t), '');
  const stopped = record.mode === 'live' ? liveStop(errors, playlist, ended, job, newestAt) : undefined;
  const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const newest = metrics.at(-1);
  return {
    job,
    mode: record.mode,
    source: record.sourceKey,
    ...(record.segments === undefined ? {} : { segmentsTotal: record.segments.length }),
    segmentsDone: done.size,
    framesDone: metrics.reduce((n, m) => n + m.frames, 0),
    fps: mean(metrics.map((m) => m.fps)),
    ...(newest?.lagSeconds === undefined ? {} : { lagSeconds: newest.lagSeconds }),
    meanQueueWaitSeconds: mean(metrics.map((m) => m.queueWaitSeconds)),
    published: rendition !== undefined,
    ended,
    rendition: layout.rendition,
    ...(multivariant === undefined ? {} : { multivariant: layout.multivariant }),
    errors,
    // A published VOD lists every segment (restored or a gap): nothing of it is dead-lettered any more,
    // even before the last segment's metrics record, written after the publish, is there.
    deadLettered:
      record.mode === 'vod' && rendition !== undefined
        ? []
        : [...new Set(errors.filter((e) => e.final && e.sn !== undefined && !done.has(e.sn) && !gaps.includes(e.sn)).map((e) => e.sn!))],
    gaps,
    plainUpscaled: metrics.filter((m) => m.fallback).map((m) => ({ sn: m.sn, reason: m.fallbackReason ?? 'unknown' })),
    ...(stopped === undefined ? {} : { stopped }),
    ...(renditionProblem === undefined ? {} : { renditionProblem }),
    ...(cancelled === undefined ? {} : { cancelled }),
  };
}

/**
 * A live follow that stopped: its newest final job-level error record (no segment: the follow
 * itself), with the newest listed segment and the next step. Undefined while it runs or after the
 * source ended normally (EXT-X-ENDLIST from the source).
 */
function liveStop(
  errors: readonly ErrorRecord[],
  playlist: RenditionPlaylist | undefined,
  ended: boolean,
  job: string,
  newestSegmentAt: string,
): JobStatus['stopped'] {
  const last = errors
    .filter((e) => e.sn === undefined && e.final)
    .sort((a, b) => a.at.localeCompare(b.at))
    .at(-1);
  // A follow that published segments after its last failure (redriven, resubmitted) runs again.
  if (last === undefined || newestSegmentAt > last.at) return undefined;
  const afterSn = playlist?.entries.at(-1)?.sourceSn;
  const next = ended
    ? `the rendition was ended with EXT-X-ENDLIST; when the source is live again, start a new follow: swiftvr submit <source playlist> --live (and this command's store options)`
    : `the follow was dead-lettered; fix the cause, then run: swiftvr redrive ${job} --queue-url <job queue URL> (and this command's store options)`;
  return { reason: last.message, ...(afterSn === undefined ? {} : { afterSn }), at: last.at, next };
}

/** A few human lines for the terminal. */
export function formatStatus(s: JobStatus): string {
  const lines = [
    `job        ${s.job} (${s.mode}) from ${s.source}`,
    `segments   ${s.segmentsDone}${s.segmentsTotal === undefined ? '' : ` of ${s.segmentsTotal}`} done, ${s.framesDone} frames, ${s.fps.toFixed(2)} fps per segment`,
    `published  ${s.published ? s.rendition : 'not yet'}${s.ended ? ' (ended)' : ''}${s.multivariant ? `; multivariant ${s.multivariant}` : ''}`,
  ];
  if (s.lagSeconds !== undefined) lines.push(`lag        ${s.lagSeconds.toFixed(2)} s behind live`);
  lines.push(`queue wait ${s.meanQueueWaitSeconds.toFixed(2)} s mean`);
  if (s.plainUpscaled.length > 0) {
    const last = s.plainUpscaled.at(-1)!;
    lines.push(
      `plain      ${s.plainUpscaled.length} of ${s.segmentsDone} segments published as plain upscales; latest sn ${last.sn}: ${last.reason}`,
    );
  }
  lines.push(`errors     ${s.errors.length}${s.deadLettered.length > 0 ? `; dead-lettered sn ${s.deadLettered.join(', ')}` : ''}`);
  for (const e of s.errors.slice(-5))
    lines.push(`  ${e.sn === undefined ? 'job' : `sn ${e.sn}`} attempt ${e.attempt}${e.final ? ' (final)' : ''}: ${e.message}`);
  if (s.gaps.length > 0) lines.push(`gaps       sn ${s.gaps.join(', ')} published as EXT-X-GAP (source unrecoverable)`);
  if (s.renditionProblem !== undefined) lines.push(`rendition  cannot be read back: ${s.renditionProblem}`);
  if (s.cancelled !== undefined) {
    lines.push(
      `cancelled  at ${s.cancelled.at} by ${s.cancelled.by}: ${s.cancelled.reason}${s.mode === 'vod' && !s.published ? ' (no playlist is published)' : ''}`,
    );
  }
  if (s.stopped !== undefined) {
    lines.push(
      `stopped    at ${s.stopped.at}${s.stopped.afterSn === undefined ? '' : ` after sn ${s.stopped.afterSn}`}: ${s.stopped.reason}`,
      `next       ${s.stopped.next}`,
    );
  }
  if (s.deadLettered.length > 0) {
    const sources = s.deadLettered.map((sn) => {
      const key = s.errors.find((e) => e.sn === sn && e.segment !== undefined)?.segment;
      return `sn ${sn}${key === undefined ? '' : ` (${key})`}`;
    });
    lines.push(
      `next       ${sources.join(', ')} failed for good and ${s.deadLettered.length === 1 ? 'sits' : 'sit'} in the dead-letter queue${s.mode === 'vod' ? '; the rendition is published once every segment is' : ''}.`,
      `           Fix the source, then run: swiftvr redrive ${s.job} --queue-url <job queue URL> (and this command's store options)`,
      ...(s.mode === 'vod'
        ? ['           or, to publish without it: swiftvr redrive ' + s.job + ' --gap ... (an EXT-X-GAP entry; players skip it)']
        : []),
    );
  }
  return lines.join('\n');
}
