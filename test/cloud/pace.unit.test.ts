// The live restore-time estimate: learned from completed restores, bounded below by a restore
// stopped at its deadline, and relaxed while restores are skipped so restoring is tried again.
import { describe, expect, it } from 'vitest';
import { Pace } from '../../src/cloud/worker/pace.js';

describe('Pace', () => {
  it('knows nothing of restoring before a measurement, and learns seconds per media second', () => {
    const p = new Pace();
    expect(p.restoreSeconds(2)).toBe(0);
    p.restored(2, 3, 20);
    expect(p.restoreSeconds(2)).toBeCloseTo(3);
    p.restored(2, 1, 20); // moving average: 0.7 * 1.5 + 0.3 * 0.5
    expect(p.restoreSeconds(1)).toBeCloseTo(1.2);
  });

  it('a stopped restore is a lower bound that skipped segments relax by 15 % each; a completed restore replaces it', () => {
    const p = new Pace();
    p.restored(2, 1, 20); // 0.5 s per second
    p.restoreStopped(2, 4); // at least 2 s per second
    expect(p.restoreSeconds(1)).toBeCloseTo(2);
    p.skipped();
    expect(p.restoreSeconds(1)).toBeCloseTo(1.7);
    for (let i = 0; i < 20; i++) p.skipped();
    expect(p.restoreSeconds(1)).toBeCloseTo(0.5 * 0.99 ** 21); // back to the (relaxed) measured average
    p.restoreStopped(1, 3);
    p.restored(1, 0.4, 10);
    expect(p.restoreSeconds(1)).toBeLessThan(1);
  });

  it('converts a warm-up of n frames to media seconds at the last measured frame rate, capped by the segment', () => {
    const p = new Pace();
    expect(p.mediaSecondsOf(4, 2)).toBe(2);
    expect(p.plainSeconds(2)).toBeCloseTo(1.2); // the prior, before any plain upscale was timed
    p.plain(2, 0.5, 50); // 25 fps
    expect(p.mediaSecondsOf(4, 2)).toBeCloseTo(0.16);
    expect(p.mediaSecondsOf(100, 2)).toBe(2);
    expect(p.plainSeconds(2)).toBeCloseTo(0.5); // the first measurement replaces the prior
    p.plain(2, 1.5, 50);
    expect(p.plainSeconds(2)).toBeCloseTo(2 * (0.7 * 0.25 + 0.3 * 0.75));
  });

  it('estimates a warm-up as a restore of its frames until one was timed, then by its own average', () => {
    const p = new Pace();
    p.restored(2, 3, 20);
    expect(p.warmSeconds(0.4)).toBeCloseTo(0.6);
    p.warmed(0.9);
    expect(p.warmSeconds(0.4)).toBeCloseTo(0.9);
  });
});
