// What the user sees while `swiftvr restore` runs, per --quiet / --json / terminal.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, segmentSummary } from '../../src/report/progress.js';
import type { SegmentResult } from '../../src/types.js';

function sink(tty: boolean): PassThrough & { isTTY?: boolean; columns?: number; text(): string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; text(): string };
  let buf = '';
  s.on('data', (d: Buffer) => (buf += d.toString()));
  s.text = () => buf;
  if (tty) {
    s.isTTY = true;
    s.columns = 120;
  }
  return s;
}

const result = (sn: number): SegmentResult => ({ sn, frames: 20, seconds: 2.5, fps: 8, bytes: 1000, duration: 2 });

function drive(r: ReturnType<typeof createProgressReporter>): void {
  r.start({ segments: 2, durationSeconds: 4 });
  r.frameRate(10);
  r.frames(20);
  r.segment(result(7));
  r.frames(20);
  r.segment(result(8));
  r.stop();
}

describe('progress reporting', () => {
  it('--json: the reporter prints errors only (the job events are the output) and the segment summary is the event field', () => {
    const out = sink(false);
    const err = sink(true);
    const r = createProgressReporter('json', { out, err });
    drive(r);
    expect(out.text() + err.text()).toBe('');
    r.error('swiftvr: boom');
    expect(err.text()).toBe('swiftvr: boom\n');
    expect(segmentSummary(result(7))).toEqual({ sn: 7, frames: 20, seconds: 2.5, fps: 8, fallback: false });
    expect(segmentSummary({ ...result(8), fallback: 'deadline', changed: 1.23456 })).toEqual({
      sn: 8,
      frames: 20,
      seconds: 2.5,
      fps: 8,
      fallback: true,
      reason: 'deadline',
      changed: 1.235,
    });
  });

  it('--quiet: nothing but errors', () => {
    const out = sink(false);
    const err = sink(true);
    const r = createProgressReporter('quiet', { out, err });
    drive(r);
    expect(out.text() + err.text()).toBe('');
    r.error('swiftvr: boom');
    expect(err.text()).toBe('swiftvr: boom\n');
  });

  it('on a terminal: a bar with segments, frames, fps and ETA on stderr', () => {
    const out = sink(false);
    const err = sink(true);
    drive(createProgressReporter('bar', { out, err }));
    expect(out.text()).toBe('');
    const text = err.text();
    expect(text).toMatch(/2\/2 segments/);
    expect(text).toMatch(/40\/40 frames/);
    expect(text).toMatch(/\d+(\.\d)? fps/);
    expect(text).toMatch(/ETA/);
  });

  it('not on a terminal: one plain line per segment on stderr instead of the bar', () => {
    const out = sink(false);
    const err = sink(false);
    drive(createProgressReporter('bar', { out, err }));
    expect(err.text()).toBe('segment 7 (1/2): 20 frames in 2.50 s, 8.0 fps\nsegment 8 (2/2): 20 frames in 2.50 s, 8.0 fps\n');
  });
});
