// Damaged or wrong inputs fail with a bad-input error that names the segment and the rule.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { decodeFrames } from '../../src/media/decoder.js';
import { probeSegment } from '../../src/media/probe.js';
import type { SegmentMediaInfo } from '../../src/types.js';
import { ffmpeg, makeHls, removeTempDirs, tempDir } from './media-fixtures.js';
import type { HlsFixture } from './media-fixtures.js';

afterAll(removeTempDirs);

async function drain(file: string, info: SegmentMediaInfo, name: string): Promise<number> {
  let n = 0;
  for await (const _ of decodeFrames(file, info, { name })) n++;
  return n;
}

async function rejection(p: Promise<unknown>): Promise<SwiftvrError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SwiftvrError);
  return e as SwiftvrError;
}

describe('bad segments', () => {
  let dir: string;
  let ts: HlsFixture;
  let fmp4: HlsFixture;

  beforeAll(async () => {
    dir = await tempDir('bad');
    ts = await makeHls(dir, 'ts', { seconds: 2 });
    fmp4 = await makeHls(dir, 'fmp4', { seconds: 2 });
  });

  const truncate = async (src: string, name: string, keep: number): Promise<string> => {
    const bytes = await readFile(src);
    const out = path.join(dir, name);
    await writeFile(out, bytes.subarray(0, Math.floor(bytes.length * keep)));
    return out;
  };

  it('probes a clean segment: packets counted, start PTS, rate, audio', async () => {
    const info = await probeSegment(ts.segments[1]!, 'ts');
    expect(info.video).toMatchObject({ width: 160, height: 120, frameCount: 25, frameRate: { num: 25, den: 1 } });
    expect(info.video.timeBase).toEqual({ num: 1, den: 90000 });
    expect(info.video.startTime).toBeGreaterThan(2); // 1.4 s mux delay + 1 s
    expect(info.durationSeconds).toBeCloseTo(1, 6);
    expect(info.audio).toMatchObject({ codec: 'aac', sampleRate: 44100, channels: 1 });
    const f = await probeSegment(fmp4.segments[1]!, 'fmp4');
    expect(f.video.frameCount).toBe(25);
    expect(f.video.startTime).toBeGreaterThan(0.9);
  });

  it('rejects an MPEG-TS segment cut inside a packet, naming it', async () => {
    const file = await truncate(ts.segments[1]!, 'cut.ts', 0.5);
    const e = await rejection(probeSegment(file, 'ts', { name: 'segment 1 (cut.ts)' }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/^segment 1 \(cut\.ts\) is \d+ bytes, not a whole number of 188-byte MPEG-TS packets/);
  });

  it('rejects an MPEG-TS segment cut at a packet boundary that falls short of its EXTINF', async () => {
    const bytes = await readFile(ts.segments[1]!);
    const file = path.join(dir, 'short.ts');
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 4 / 188) * 188));
    const e = await rejection(probeSegment(file, 'ts', { name: 'segment 1 (short.ts)', expectedDuration: 1 }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/^segment 1 \(short\.ts\) holds \d+ frames \(0\.\d+ s\) but its EXTINF says 1 s/);
    // The whole segment passes the same rule.
    await expect(probeSegment(ts.segments[1]!, 'ts', { expectedDuration: 1 })).resolves.toBeDefined();
  });

  it('fails the decode of a segment whose data ends inside a frame, naming it', async () => {
    const info = await probeSegment(ts.segments[1]!, 'ts');
    const bytes = await readFile(ts.segments[1]!);
    const file = path.join(dir, 'cut-frame.ts');
    await writeFile(file, bytes.subarray(0, Math.floor((bytes.length * 0.6) / 188) * 188));
    const e = await rejection(drain(file, info, 'segment 1 (cut-frame.ts)'));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/^segment 1 \(cut-frame\.ts\) (could not be decoded|decoded to \d+ frames)/);
  });

  it('rejects a truncated fMP4 segment at probe time, naming it', async () => {
    const file = await truncate(fmp4.segments[1]!, 'cut.mp4', 0.6);
    const e = await rejection(probeSegment(file, 'fmp4', { name: 'segment 1 (cut.m4s)', context: { sn: 1 } }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toContain('segment 1 (cut.m4s)');
    expect(e.context.sn).toBe(1);
    expect(e.exitCode).toBe(2);
  });

  it('rejects random bytes as a segment', async () => {
    const file = path.join(dir, 'noise.ts');
    await writeFile(file, Buffer.from(Array.from({ length: 188 * 266 }, (_, i) => (i * 7919) % 251)));
    const e = await rejection(probeSegment(file, 'ts', { name: 'noise.ts' }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/^noise\.ts is not a readable MPEG-TS segment/);
  });

  it('rejects a file without video, saying a segment must contain video', async () => {
    const file = path.join(dir, 'audio.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', '-f', 'mpegts', file]);
    const e = await rejection(probeSegment(file, 'ts', { name: 'audio.ts' }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toBe('audio.ts has no video stream; a segment to restore must contain video');
  });

  it('rejects a segment whose container is not the one the playlist declares', async () => {
    const e = await rejection(probeSegment(ts.segments[0]!, 'fmp4', { name: 'ts-0.ts' }));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/ts-0\.ts is in the mpegts format, but the playlist says its segments are fMP4/);
  });

  it('rejects a decode whose frame count differs from the probed count', async () => {
    const info = await probeSegment(ts.segments[0]!, 'ts');
    const wrong = { ...info, video: { ...info.video, frameCount: info.video.frameCount + 1 } };
    const e = await rejection(drain(ts.segments[0]!, wrong, 'segment 0'));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toContain(`segment 0 decoded to ${info.video.frameCount} frames`);
  });
});
