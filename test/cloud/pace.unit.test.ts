// The live restore-time estimate: learned from completed restores, bounded below by a restore
// stopped at its deadline, and relaxed while restores are skipped so restoring is tried again.
import { describe, expect, it } from 'vitest';
import { liveGo, Pace } from '../../src/cloud/worker/pace.js';

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

describe('liveGo (the live go/no-go on a fake clock)', () => {
  const at = 1_700_000_000_000;
  it('restores when warm-up, restore and a fallback all fit before the deadline, stopping the restore in time for the fallback', () => {
    expect(liveGo({ now: at, deadline: at + 3000, warmSeconds: 0.5, restoreSeconds: 1.5, plainSeconds: 0.6 })).toEqual({
      restore: true,
      timeoutMs: 2400,
    });
    // Exactly on time is in time.
    expect(liveGo({ now: at, deadline: at + 2000, warmSeconds: 0, restoreSeconds: 1.4, plainSeconds: 0.6 })).toEqual({
      restore: true,
      timeoutMs: 1400,
    });
  });
  it('publishes the plain upscale at once when the sum would pass the deadline, saying by how much', () => {
    expect(liveGo({ now: at + 500, deadline: at + 3000, warmSeconds: 0.5, restoreSeconds: 1.5, plainSeconds: 0.6 })).toEqual({
      restore: false,
      reason: 'restoring would miss the deadline by 0.10 s',
    });
    // A deadline already past: no restore, whatever the estimates.
    expect(liveGo({ now: at + 5000, deadline: at, warmSeconds: 0, restoreSeconds: 0, plainSeconds: 0 })).toMatchObject({ restore: false });
  });
  it('never gives a negative timeout', () => {
    expect(liveGo({ now: at, deadline: at + 100, warmSeconds: 0, restoreSeconds: 0, plainSeconds: 0.1 })).toEqual({
      restore: true,
      timeoutMs: 0,
    });
  });
});
