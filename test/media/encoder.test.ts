// Encoder lifecycle: wrong frames are refused, and an abort (call or signal) leaves no file.
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { decodeFrames } from '../../src/media/decoder.js';
import { createSegmentEncoder, nvencAvailable, ptsExpression } from '../../src/media/encoder.js';
import { probeSegment } from '../../src/media/probe.js';
import type { SegmentMediaInfo } from '../../src/types.js';
import { audioPackets, ffmpeg, makeHls, removeTempDirs, tempDir, upscale2x, videoFacts, videoTimes } from './media-fixtures.js';

afterAll(removeTempDirs);

describe('segment encoder lifecycle', () => {
  let src: string;
  let info: SegmentMediaInfo;
  let outDir: string;

  beforeAll(async () => {
    const dir = await tempDir('enc');
    src = (await makeHls(dir, 'ts', { seconds: 1 })).segments[0]!;
    info = await probeSegment(src, 'ts');
    outDir = await tempDir('enc-out');
  });

  const open = (name: string, signal?: AbortSignal): ReturnType<typeof createSegmentEncoder> =>
    createSegmentEncoder({
      sourcePath: src,
      info,
      width: info.video.width,
      height: info.video.height,
      container: 'ts',
      outPath: path.join(outDir, name),
      encoder: 'libx264',
      signal,
    });

  it("refuses odd output sizes and a container other than the source's", () => {
    expect(() => createSegmentEncoder({ sourcePath: src, info, width: 321, height: 240, container: 'ts', outPath: 'x.ts' })).toThrow(
      'output frame size 321x240 is not allowed: H.264 4:2:0 needs even width and height of at least 2',
    );
    expect(() =>
      createSegmentEncoder({ sourcePath: src, info, width: 320, height: 240, container: 'fmp4', outPath: 'x.m4s', initOutPath: 'i.mp4' }),
    ).toThrow("output container fmp4 differs from the source segment's ts");
  });

  it('refuses a frame of the wrong size', async () => {
    const enc = open('wrong-size.ts');
    await expect(enc.write({ width: 8, height: 8, data: new Uint8Array(96) })).rejects.toThrow(
      /is 8x8 8-bit \(96 bytes\); the encoder was opened for 160x120 8-bit 4:2:0/,
    );
    await enc.abort();
  });

  it('refuses to finish with fewer frames than the source and leaves nothing', async () => {
    const enc = open('short.ts');
    let n = 0;
    for await (const frame of decodeFrames(src, info)) {
      if (n++ === 10) break;
      await enc.write(frame);
    }
    const e: unknown = await enc.finish().catch((err: unknown) => err);
    expect((e as SwiftvrError).message).toBe(
      `${path.join(outDir, 'short.ts')} got 10 frames; the source segment has ${info.video.frameCount} and the output must have as many`,
    );
    expect((await readdir(outDir)).filter((f) => f.startsWith('short.ts'))).toEqual([]);
  });

  it("tells when each frame's bytes are in the pipe, in order, before finish() resolves", async () => {
    const enc = open('written.ts');
    const written: number[] = [];
    let n = 0;
    for await (const frame of decodeFrames(src, info)) {
      const i = n++;
      await enc.write(frame, () => written.push(i));
    }
    await enc.finish();
    expect(written).toEqual(Array.from({ length: info.video.frameCount }, (_, i) => i));
  });

  it('abort() stops ffmpeg and removes the partial output', async () => {
    const enc = open('aborted.ts');
    let n = 0;
    for await (const frame of decodeFrames(src, info)) {
      await enc.write(frame);
      if (++n === 5) break;
    }
    await enc.abort();
    expect((await readdir(outDir)).filter((f) => f.startsWith('aborted.ts'))).toEqual([]);
  });

  it('an AbortSignal fails the next write with an aborted error and leaves nothing', async () => {
    const controller = new AbortController();
    const enc = open('signalled.ts', controller.signal);
    const frames: Uint8Array[] = [];
    for await (const frame of decodeFrames(src, info)) frames.push(frame.data);
    await enc.write({ width: info.video.width, height: info.video.height, data: frames[0]! });
    controller.abort();
    let e: unknown;
    try {
      // The pipe may take a few frames before the dead process shows.
      for (const data of frames.slice(1)) await enc.write({ width: info.video.width, height: info.video.height, data });
      await enc.finish();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(SwiftvrError);
    expect((e as SwiftvrError).kind).toBe('aborted');
    await enc.abort();
    expect((await readdir(outDir)).filter((f) => f.startsWith('signalled.ts'))).toEqual([]);
  });
});

describe('encoder choice and sources without audio', () => {
  it('auto picks h264_nvenc only where it opens, else libx264, and the segment is valid either way', async () => {
    const dir = await tempDir('auto');
    const src = path.join(dir, 'silent.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=96x64:r=25:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', src]);
    const info = await probeSegment(src, 'ts');
    expect(info.audio).toBeUndefined();
    const enc = createSegmentEncoder({
      sourcePath: src,
      info,
      width: 192,
      height: 128,
      container: 'ts',
      outPath: path.join(dir, 'out.ts'),
    });
    for await (const frame of decodeFrames(src, info)) await enc.write(upscale2x(frame));
    const out = await enc.finish();
    expect(out.encoder).toBe((await nvencAvailable()) ? 'h264_nvenc' : 'libx264');
    expect(out.frames).toBe(25);
    // No audio in, no audio out: the codecs list only the video.
    expect(out.codecs.video).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(out.codecs.audio).toEqual([]);
    const facts = await videoFacts(out.path);
    expect([facts.frames, facts.firstKey]).toEqual([25, true]);
  });

  it("reports a failed h264_nvenc open with ffmpeg's own words when no GPU encoder is present", async (ctx) => {
    if (await nvencAvailable()) ctx.skip();
    const dir = await tempDir('nvenc');
    const src = path.join(dir, 'in.ts');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=96x64:r=25:d=0.2', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', src]);
    const info = await probeSegment(src, 'ts');
    const enc = createSegmentEncoder({
      sourcePath: src,
      info,
      width: 96,
      height: 64,
      container: 'ts',
      outPath: path.join(dir, 'out.ts'),
      encoder: 'h264_nvenc',
    });
    let e: unknown;
    try {
      for await (const frame of decodeFrames(src, info)) await enc.write(frame);
      await enc.finish();
    } catch (err) {
      e = err;
    }
    expect((e as SwiftvrError).kind).toBe('internal');
    expect((e as SwiftvrError).message).toMatch(/^encoding .*out\.ts failed: ffmpeg exited with code \d+: /);
    expect(await readdir(dir)).toEqual(['in.ts']);
  });
});

describe('source timestamps', () => {
  it("keeps each frame's time when the source drops frames (a gap in the cadence)", async () => {
    const dir = await tempDir('vfr');
    const src = path.join(dir, 'gap.ts');
    // 25 fps with two frames missing after frame 10: frames 10.. are 80 ms late.
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=96x64:r=25:d=1',
      '-f',
      'lavfi',
      '-i',
      'sine=d=1.2',
      '-vf',
      'setpts=N/25/TB+if(gte(N\\,10)\\,0.08/TB\\,0)',
      '-fps_mode',
      'passthrough',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-bf',
      '0',
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      src,
    ]);
    const info = await probeSegment(src, 'ts');
    expect(info.video.frameRate).toEqual({ num: 25, den: 1 });
    expect(info.durationSeconds).toBeCloseTo(1.08, 6);
    expect(ptsExpression(info.video)).toMatch(/^if\(lt\(N,12\),/);
    const enc = createSegmentEncoder({
      sourcePath: src,
      info,
      width: 96,
      height: 64,
      container: 'ts',
      outPath: path.join(dir, 'out.ts'),
      encoder: 'libx264',
    });
    for await (const frame of decodeFrames(src, info)) await enc.write(frame);
    const out = await enc.finish();
    expect(out.durationSeconds).toBeCloseTo(1.08, 6);
    expect(await videoTimes(out.path)).toEqual(await videoTimes(src));
    expect(await audioPackets(out.path)).toEqual(await audioPackets(src));
  });

  it('writes a short cadence formula when the source keeps its frame rate', async () => {
    const video = {
      width: 2,
      height: 2,
      frameCount: 3,
      frameRate: { num: 30000, den: 1001 },
      startTime: 10,
      timeBase: { num: 1, den: 90000 },
      codec: 'h264',
      pixFmt: 'yuv420p',
      framePts: [900000, 903003, 906006],
      colour: { matrix: 'bt709', primaries: 'bt709', transfer: 'bt709', range: 'tv' as const, defaulted: [], dropped: [] },
      picture: {
        codedWidth: 2,
        codedHeight: 2,
        rotation: 0 as const,
        sar: { num: 1, den: 1 },
        fieldOrder: 'progressive' as const,
        bitDepth: 8,
        chroma: '4:2:0',
      },
    };
    expect(ptsExpression(video)).toBe('900000+floor(N*90090000/30000+0.5)');
    expect(ptsExpression({ ...video, framePts: [900000, 903003, 909009] })).toBe('if(lt(N,1),900000,if(lt(N,2),903003,909009))');
  });
});
