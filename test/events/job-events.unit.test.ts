// The job event schema and the PROGRESSING pacing, on a fake clock.
import { describe, expect, it } from 'vitest';
import { eventId, jobEvent, jobEventSchema, ProgressEvents, type JobEvent } from '../../src/events/job-events.js';

const collect = (): { sent: JobEvent[]; publish: (e: JobEvent) => Promise<void> } => {
  const sent: JobEvent[] = [];
  return { sent, publish: async (e) => void sent.push(e) };
};

describe('job events', () => {
  it('ids name the job and the state change, never the clock', () => {
    expect(eventId('show/index', 'COMPLETE')).toBe('show/index:COMPLETE');
    expect(eventId('show/index', 'PROGRESSING', 4)).toBe('show/index:PROGRESSING:4');
    const a = jobEvent('SUBMITTED', 'j', { input: 'x.m3u8', mode: 'vod', segments: 2, durationSeconds: 4 }, { now: () => new Date(0) });
    const b = jobEvent('SUBMITTED', 'j', { input: 'x.m3u8', mode: 'vod', segments: 2, durationSeconds: 4 }, { now: () => new Date(9e9) });
    expect(a.id).toBe(b.id);
    expect(a).toEqual({
      version: 1,
      id: 'j:SUBMITTED',
      job: 'j',
      time: '1970-01-01T00:00:00.000Z',
      type: 'SUBMITTED',
      input: 'x.m3u8',
      mode: 'vod',
      segments: 2,
      durationSeconds: 4,
    });
  });

  it('the schema refuses an event that breaks it, naming the field', () => {
    const ok = jobEvent('ERROR', 'j', { code: 'bad-input', reason: 'one line' });
    expect(jobEventSchema.safeParse(ok).success).toBe(true);
    const bad = jobEventSchema.safeParse({ ...ok, reason: '' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('reason');
    expect(jobEventSchema.safeParse({ ...ok, type: 'FINISHED' }).success).toBe(false);
    expect(() =>
      jobEvent('PROGRESSING', 'j', { segmentsDone: 1, segmentsTotal: 2, framesDone: 3, percent: 150, fps: 1, secondsLeft: null }),
    ).toThrow();
  });

  it('PROGRESSING: one at each segment, and between segments at most one per interval', async () => {
    let now = 0;
    const sink = collect();
    const p = new ProgressEvents('j', sink, { segmentsTotal: 2, framesTotal: 40, everyMs: 1000, now: () => now });
    now = 100;
    p.frames(4); // within the first interval: none
    now = 500;
    p.frames(4); // none
    now = 1200;
    p.frames(4); // one
    now = 1300;
    p.segment({ sn: 0, frames: 20, seconds: 1.3, fps: 15, fallback: false }); // always
    now = 1400;
    p.frames(10); // within the interval of the segment's event: none
    now = 2600;
    p.segment({ sn: 1, frames: 20, seconds: 1.3, fps: 15, fallback: false });
    await p.flush();
    expect(sink.sent.map((e) => e.id)).toEqual(['j:PROGRESSING:0+12f', 'j:PROGRESSING:1', 'j:PROGRESSING:2']);
    const last = sink.sent.at(-1)!;
    expect(last).toMatchObject({ segmentsDone: 2, segmentsTotal: 2, framesDone: 22, percent: 100, segment: { sn: 1 } });
    const mid = sink.sent[1]!;
    // 12 frames in 1.3 s; 28 left at that rate
    expect(mid).toMatchObject({ segmentsDone: 1, percent: 50, fps: 9.23, secondsLeft: 3 });
    expect(p.done).toEqual({ segments: 2, frames: 22 });
  });
});
