// How fast this worker restores and plain-upscales, in seconds of work per second of media
// (moving averages over recent segments), to tell ahead of time whether a live segment can still
// be restored before its deadline.
export class Pace {
  private restoreRatio = 0;
  private plainRatio = 0.25;
  private fps = 0;

  /** Expected seconds to restore `mediaSeconds` of video (0 until a restore was measured). */
  restoreSeconds(mediaSeconds: number): number {
    return this.restoreRatio * mediaSeconds;
  }

  /** Expected seconds to plain-upscale `mediaSeconds` of video. */
  plainSeconds(mediaSeconds: number): number {
    return this.plainRatio * mediaSeconds;
  }

  /** Seconds of media that `frames` frames last (at the last measured frame rate; `orElse` before any). */
  mediaSecondsOf(frames: number, orElse: number): number {
    return this.fps > 0 ? Math.min(orElse, frames / this.fps) : orElse;
  }

  restored(mediaSeconds: number, seconds: number, frames: number): void {
    this.restoreRatio = blend(this.restoreRatio, seconds / Math.max(mediaSeconds, 1e-3));
    this.fps = frames / Math.max(mediaSeconds, 1e-3);
  }

  /** A restore stopped at its deadline after `seconds`: restoring is at least this slow. */
  restoreStopped(mediaSeconds: number, seconds: number): void {
    this.restoreRatio = Math.max(this.restoreRatio, seconds / Math.max(mediaSeconds, 1e-3));
  }

  /**
   * A restore was skipped on the estimate. Unmeasured, the estimate relaxes (15 % a segment),
   * so a worker that was slow for a while tries restoring again instead of staying plain.
   */
  skipped(): void {
    this.restoreRatio *= 0.85;
  }

  plain(mediaSeconds: number, seconds: number, frames: number): void {
    this.plainRatio = blend(this.plainRatio, seconds / Math.max(mediaSeconds, 1e-3));
    this.fps = frames / Math.max(mediaSeconds, 1e-3);
  }
}

/** Exponential moving average; the first measurement replaces the prior outright. */
const blend = (old: number, now: number): number => (old === 0 ? now : 0.7 * old + 0.3 * now);
