// Job state changes as events: one schema for the local restore (`--json` prints them as lines)
// and the cloud (EventBridge, docs/events.md). An event's `id` is made from the job and what
// happened (`<job>:PROGRESSING:<segments done>`), never from the clock or a random number, so a
// redelivered message that emits an event again emits the same id, and sinks drop the repeat.
import { z } from 'zod';
import type { SegmentResult } from '../types.js';

/** EventBridge `source` of every event. */
export const EVENT_SOURCE = 'swiftvr.jobs';
/** EventBridge `detail-type` of every event. */
export const EVENT_DETAIL_TYPE = 'SwiftVR Job State Change';

export const JOB_EVENT_TYPES = ['SUBMITTED', 'PROGRESSING', 'COMPLETE', 'ERROR', 'CANCELED'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

const count = z.number().int().min(0);
const seconds = z.number().min(0);

const base = {
  /** Schema version of the event. */
  version: z.literal(1),
  /** `<job>:<type>[:<seq>]`: the same for a repeat of the same state change. */
  id: z.string().min(1).max(512),
  job: z.string().min(1).max(256),
  /** When it happened, ISO 8601 UTC. */
  time: z.iso.datetime(),
};

/** One segment as it finished: what the restore did (the local `--json` line of a segment). */
export const segmentSummarySchema = z.object({
  sn: count,
  frames: count,
  seconds,
  fps: seconds,
  fallback: z.boolean(),
  reason: z.string().optional(),
  changed: z.number().optional(),
  boundaryFlicker: z.number().optional(),
  fidelityPsnrY: z.number().optional(),
  fidelitySsimY: z.number().optional(),
  modelSeconds: z.number().optional(),
  threadHostMs: z.number().optional(),
  picture: z
    .object({
      carried: z.record(z.string(), z.string()),
      applied: z.array(z.string()),
      dropped: z.array(z.string()),
    })
    .optional(),
});
export type SegmentSummary = z.infer<typeof segmentSummarySchema>;

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/**
 * The JSON line printed per segment with --json: sn, frames, seconds, fps; `changed` (mean luma
 * change the model made, 8-bit levels) and `boundaryFlicker` (restored jump at the segment's start
 * over the source's), no-reference signals of what the model did; `modelSeconds` (time in the
 * model's runs) and `threadHostMs` (inference-thread CPU outside them); `fallback` with the reason when
 * the segment was published as a plain upscale.
 */
export const segmentSummary = (r: SegmentResult): SegmentSummary => ({
  sn: r.sn,
  frames: r.frames,
  seconds: round(r.seconds, 3),
  fps: round(r.fps, 2),
  fallback: r.fallback !== undefined,
  ...(r.fallback === undefined ? {} : { reason: r.fallback }),
  ...(r.changed === undefined ? {} : { changed: round(r.changed, 3) }),
  ...(r.boundaryFlicker === undefined ? {} : { boundaryFlicker: round(r.boundaryFlicker, 3) }),
  ...(r.fidelityPsnrY === undefined ? {} : { fidelityPsnrY: round(r.fidelityPsnrY, 3) }),
  ...(r.fidelitySsimY === undefined ? {} : { fidelitySsimY: round(r.fidelitySsimY, 5) }),
  ...(r.modelSeconds === undefined ? {} : { modelSeconds: round(r.modelSeconds, 3) }),
  ...(r.threadHostMs === undefined ? {} : { threadHostMs: round(r.threadHostMs, 1) }),
  ...(r.picture === undefined
    ? {}
    : { picture: { carried: { ...r.picture.carried }, applied: [...r.picture.applied], dropped: [...r.picture.dropped] } }),
});

export const submittedEventSchema = z.object({
  ...base,
  type: z.literal('SUBMITTED'),
  /** What the job reads: a playlist URI or key, or a video file. */
  input: z.string().min(1),
  mode: z.enum(['vod', 'live']),
  /** Segments and seconds of video to restore; null for live (open-ended). */
  segments: count.nullable(),
  durationSeconds: seconds.nullable(),
});

export const progressingEventSchema = z.object({
  ...base,
  type: z.literal('PROGRESSING'),
  segmentsDone: count,
  /** null for live. */
  segmentsTotal: count.nullable(),
  framesDone: count,
  /** Of the job's segments; null for live. */
  percent: z.number().min(0).max(100).nullable(),
  /** Frames per second since the job started. */
  fps: seconds,
  /** Estimated from the rate so far; null for live or before the first frame. */
  secondsLeft: seconds.nullable(),
  /** The segment that just finished, when the event marks one. */
  segment: segmentSummarySchema.optional(),
});

export const completeEventSchema = z.object({
  ...base,
  type: z.literal('COMPLETE'),
  outputs: z.object({
    /** Multivariant playlist listing the source variants and the restored one (absent when the job has none). */
    multivariant: z.string().optional(),
    /** The restored media playlist. */
    rendition: z.string(),
    /** The quality report, where one is written. */
    report: z.string().optional(),
  }),
  segments: count,
  frames: count,
  /** Wall seconds from the job's start to its completion. */
  durationSeconds: seconds,
  figures: z.object({
    fps: seconds,
    /** Segments published as a plain upscale. */
    fallbacks: count,
    /** Live: segments published as gaps. */
    gaps: count.optional(),
    /** Mean `changed` and `boundaryFlicker` over the restored segments (see README --json). */
    changed: z.number().optional(),
    boundaryFlicker: z.number().optional(),
  }),
});

export const errorEventSchema = z.object({
  ...base,
  type: z.literal('ERROR'),
  /** Machine-readable: bad-input, model, missing-dependency, internal, source-idle, ... */
  code: z.string().min(1),
  /** One line. */
  reason: z.string().min(1),
  /** The segment it is about, where there is one. */
  sn: count.optional(),
});

export const canceledEventSchema = z.object({
  ...base,
  type: z.literal('CANCELED'),
  code: z.literal('canceled'),
  reason: z.string().min(1),
  /** Who asked: a user name, `signal` for Ctrl-C, or the caller's identity. */
  by: z.string().min(1),
});

export const jobEventSchema = z.discriminatedUnion('type', [
  submittedEventSchema,
  progressingEventSchema,
  completeEventSchema,
  errorEventSchema,
  canceledEventSchema,
]);
export type JobEvent = z.infer<typeof jobEventSchema>;
export type JobEventOf<T extends JobEventType> = Extract<JobEvent, { type: T }>;

/** The id of a state change: the same for a repeat of it. */
export function eventId(job: string, type: JobEventType, seq?: number | string): string {
  return seq === undefined ? `${job}:${type}` : `${job}:${type}:${seq}`;
}

/** Builds a checked event: `fields` without the common ones, which this fills in. */
export function jobEvent<T extends JobEventType>(
  type: T,
  job: string,
  fields: Omit<JobEventOf<T>, 'version' | 'id' | 'job' | 'time' | 'type'>,
  o: { readonly seq?: number | string; readonly now?: () => Date } = {},
): JobEventOf<T> {
  const event = {
    version: 1,
    id: eventId(job, type, o.seq),
    job,
    time: (o.now ?? (() => new Date()))().toISOString(),
    type,
    ...fields,
  };
  return jobEventSchema.parse(event) as JobEventOf<T>;
}

/**
 * Where events go. Publishing the same id twice delivers it at most once where the sink can tell.
 * A sink never rejects: an event that cannot be delivered is logged by the sink, and the job goes on.
 */
export interface EventSink {
  publish(event: JobEvent): Promise<void>;
}

/** Events as JSON lines on a stream (`swiftvr restore --json`). */
export function jsonLinesSink(out: NodeJS.WritableStream): EventSink {
  return {
    publish: async (event) => {
      out.write(JSON.stringify(event) + '\n');
    },
  };
}

export const noEvents: EventSink = { publish: async () => {} };

/**
 * PROGRESSING events of one job: one at each finished segment, and between segments at most one
 * every `everyMs` as frames come out of the model.
 */
export class ProgressEvents {
  private segmentsDone = 0;
  private framesDone = 0;
  private lastAt = 0;
  private readonly startedAt: number;
  private pending: Promise<void> = Promise.resolve();
  private framesTotal: number | undefined;

  constructor(
    private readonly job: string,
    private readonly sink: EventSink,
    private readonly o: {
      readonly segmentsTotal: number | null;
      readonly framesTotal?: number;
      readonly everyMs: number;
      readonly now?: () => number;
    },
  ) {
    this.startedAt = this.now();
    this.framesTotal = o.framesTotal;
  }

  /** The job's frame count, once known (the frame rate of its first segment): secondsLeft needs it. */
  setFramesTotal(n: number): void {
    if (Number.isFinite(n) && n >= 0) this.framesTotal = Math.round(n);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Frames restored; may emit a PROGRESSING event (at most one per `everyMs`). */
  frames(n: number): void {
    this.framesDone += n;
    if (this.now() - this.lastAt >= this.o.everyMs) this.emit(undefined);
  }

  /** A segment finished: always emits. */
  segment(summary: SegmentSummary): void {
    this.segmentsDone++;
    this.emit(summary);
  }

  /** Waits for the events published so far. */
  flush(): Promise<void> {
    return this.pending;
  }

  get done(): { readonly segments: number; readonly frames: number } {
    return { segments: this.segmentsDone, frames: this.framesDone };
  }

  private emit(segment: SegmentSummary | undefined): void {
    const now = this.now();
    this.lastAt = now;
    const elapsed = (now - this.startedAt) / 1000;
    const fps = elapsed > 0 ? this.framesDone / elapsed : 0;
    const total = this.o.segmentsTotal;
    const framesTotal = this.framesTotal;
    const percent = total === null || total === 0 ? null : Math.min(100, (100 * this.segmentsDone) / total);
    const framesLeft = framesTotal === undefined ? undefined : Math.max(0, framesTotal - this.framesDone);
    const secondsLeft = total === null || framesLeft === undefined || fps <= 0 ? null : framesLeft / fps;
    const event = jobEvent(
      'PROGRESSING',
      this.job,
      {
        segmentsDone: this.segmentsDone,
        segmentsTotal: total,
        framesDone: this.framesDone,
        percent: percent === null ? null : Math.round(percent * 10) / 10,
        fps: Math.round(fps * 100) / 100,
        secondsLeft: secondsLeft === null ? null : Math.round(secondsLeft * 10) / 10,
        ...(segment === undefined ? {} : { segment }),
      },
      {
        // At a segment the segment count tells events apart; between segments, the frames too.
        seq: segment === undefined ? `${this.segmentsDone}+${this.framesDone}f` : this.segmentsDone,
        now: () => new Date(now),
      },
    );
    const sink = this.sink;
    this.pending = this.pending.then(() => sink.publish(event));
  }
}
