// What the user sees while `swiftvr restore` runs, per --quiet / --json / terminal.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../../src/report/progress.js';
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
  it('--json: one JSON line per segment with sn, frames, seconds, fps, fallback (and the no-reference signals when known) on stdout', () => {
    const out = sink(false);
    const err = sink(true);
    drive(createProgressReporter('json', { out, err }));
    expect(out.text()).toBe('{"sn":7,"frames":20,"seconds":2.5,"fps":8,"fallback":false}\n{"sn":8,"frames":20,"seconds":2.5,"fps":8,"fallback":false}\n');
    expect(err.text()).toBe('');
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
