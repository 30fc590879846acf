// How fast this worker restores and plain-upscales, in seconds of work per second of media
// (moving averages over recent segments), to tell ahead of time whether a live segment can still
// be restored before its deadline.
export class Pace {
  /** Moving average of completed restores. */
  private restoreRatio = 0;
  /** Lower bound from the last restore stopped at its deadline. */
  private stoppedFloor = 0;
  /** Moving average of plain upscales (0 until one was measured: PLAIN_PRIOR stands in). */
  private plainRatio = 0;
  /** Moving average of warm-ups' wall time (decode of the previous segment, its last chunk restored). */
  private warm = 0;
  private fps = 0;

  /** Expected seconds to restore `mediaSeconds` of video (0 until a restore was measured). */
  restoreSeconds(mediaSeconds: number): number {
    return Math.max(this.restoreRatio, this.stoppedFloor) * mediaSeconds;
  }

  /** Expected seconds to warm the state up on `mediaSeconds` of video (until measured: as a restore). */
  warmSeconds(mediaSeconds: number): number {
    return this.warm > 0 ? this.warm : this.restoreSeconds(mediaSeconds);
  }

  warmed(seconds: number): void {
    this.warm = blend(this.warm, seconds);
  }

  /** Expected seconds to plain-upscale `mediaSeconds` of video (the prior until one was measured). */
  plainSeconds(mediaSeconds: number): number {
    return (this.plainRatio > 0 ? this.plainRatio : PLAIN_PRIOR) * mediaSeconds;
  }

  /** Seconds of media that `frames` frames last (at the last measured frame rate; `orElse` before any). */
  mediaSecondsOf(frames: number, orElse: number): number {
    return this.fps > 0 ? Math.min(orElse, frames / this.fps) : orElse;
  }

  restored(mediaSeconds: number, seconds: number, frames: number): void {
    this.restoreRatio = blend(this.restoreRatio, seconds / Math.max(mediaSeconds, 1e-3));
    this.stoppedFloor = 0;
    this.fps = frames / Math.max(mediaSeconds, 1e-3);
  }

  /** A restore stopped at its deadline after `seconds`: restoring is at least this slow. */
  restoreStopped(mediaSeconds: number, seconds: number): void {
    this.stoppedFloor = Math.max(this.stoppedFloor, seconds / Math.max(mediaSeconds, 1e-3));
  }

  /**
   * A restore was skipped on the estimate. Unmeasured, the estimate relaxes: the bound from a
   * stopped restore by 15 % a segment, the measured average by 1 %, so a worker that was slow
   * for a while tries restoring again instead of staying plain.
   */
  skipped(): void {
    this.stoppedFloor *= 0.85;
    this.restoreRatio *= 0.99;
  }

  plain(mediaSeconds: number, seconds: number, frames: number): void {
    this.plainRatio = blend(this.plainRatio, seconds / Math.max(mediaSeconds, 1e-3));
    this.fps = frames / Math.max(mediaSeconds, 1e-3);
  }
}

/**
 * Seconds of plain upscale per second of media before one was timed. Generous on purpose: the time a
 * restore leaves for its fallback comes from this estimate, and for short segments the fixed cost
 * (probe, decode, encode and check processes) dominates, so a low guess makes the first fallback late.
 */
const PLAIN_PRIOR = 0.6;

/** Exponential moving average; the first measurement replaces the prior outright. */
const blend = (old: number, now: number): number => (old === 0 ? now : 0.7 * old + 0.3 * now);

/** Whether a live segment is restored, decided before the work from the pace's estimates. */
export type LiveGo =
  /** Restore, stopping it after `timeoutMs` (the deadline less the plain upscale's own time). */
  { readonly restore: true; readonly timeoutMs: number } | { readonly restore: false; readonly reason: string };

/**
 * The live go/no-go, a pure function of the time and the estimates (seconds): restore when the
 * warm-up (if the state must be rebuilt), the restore and, should it still fail, the plain upscale
 * all fit before `deadline` (epoch ms); else publish the plain upscale at once.
 */
export function liveGo(o: {
  readonly now: number;
  readonly deadline: number;
  readonly warmSeconds: number;
  readonly restoreSeconds: number;
  readonly plainSeconds: number;
}): LiveGo {
  const eta = o.now + (o.warmSeconds + o.restoreSeconds + o.plainSeconds) * 1000;
  if (eta > o.deadline)
    return { restore: false, reason: `restoring would miss the deadline by ${((eta - o.deadline) / 1000).toFixed(2)} s` };
  return { restore: true, timeoutMs: Math.max(0, Math.round(o.deadline - o.now - o.plainSeconds * 1000)) };
}
