// Decoding to yuv420p planes: the exact bytes ffmpeg produces, read straight into frame buffers,
// one frame per iteration, at the consumer's pace, stoppable; a frame count other than the probed one
// is bad input.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { decodeFrames } from '../../src/media/decoder.js';
import { probeSegment } from '../../src/media/probe.js';
import type { SegmentMediaInfo } from '../../src/types.js';
import { makeHls, removeTempDirs, tempDir } from './media-fixtures.js';

afterAll(removeTempDirs);

const run = promisify(execFile);

/** ffmpeg processes whose command line names `file`. */
async function ffmpegsReading(file: string): Promise<number> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('/usr/bin/ffmpeg') || l.startsWith('ffmpeg'))
    .filter((l) => l.includes(file)).length;
}

describe('decodeFrames', () => {
  let src: string;
  let info: SegmentMediaInfo;

  beforeAll(async () => {
    const fixture = await makeHls(await tempDir('dec'), 'ts', { seconds: 2, size: '192x108' });
    src = fixture.segments[1]!;
    info = await probeSegment(src, 'ts');
  });

  it('yields frameCount yuv420p frames, the same bytes as ffmpeg writes to a file', async () => {
    const hash = createHash('sha256');
    let n = 0;
    for await (const frame of decodeFrames(src, info)) {
      expect([frame.width, frame.height, frame.data.length]).toEqual([192, 108, (192 * 108 * 3) / 2]);
      hash.update(frame.data);
      n++;
    }
    expect(n).toBe(info.video.frameCount);
    const { stdout } = await run('sh', [
      '-c',
      `ffmpeg -v error -i '${src}' -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt yuv420p - | sha256sum`,
    ]);
    expect(hash.digest('hex')).toBe(stdout.split(' ')[0]);
  });

  it('gives each frame its own buffer, so a consumer may keep them', async () => {
    const frames = [];
    for await (const frame of decodeFrames(src, info)) frames.push(frame.data);
    expect(new Set(frames.map((f) => f.buffer)).size).toBe(frames.length);
    expect(Buffer.from(frames[0]!).equals(Buffer.from(frames[frames.length - 1]!))).toBe(false);
  });

  it('lays blocks of consecutive frames end to end in one buffer each, the last block as long as the frames left', async () => {
    const single: Buffer[] = [];
    for await (const frame of decodeFrames(src, info)) single.push(Buffer.from(frame.data));
    const frames = [];
    for await (const frame of decodeFrames(src, info, { framesPerBuffer: 4 })) frames.push(frame.data);
    expect(Buffer.concat(frames.map((f) => Buffer.from(f)))).toEqual(Buffer.concat(single));
    const bytes = (192 * 108 * 3) / 2;
    const n = info.video.frameCount;
    const blocks = [...new Set(frames.map((f) => f.buffer))];
    expect(blocks).toHaveLength(Math.ceil(n / 4));
    expect(blocks.map((b) => b.byteLength)).toEqual(blocks.map((_, i) => Math.min(4, n - 4 * i) * bytes));
    frames.forEach((f, i) => expect([f.buffer, f.byteOffset]).toEqual([blocks[Math.floor(i / 4)], (i % 4) * bytes]));
  });

  it('gives the same bytes to a consumer slower than ffmpeg (reading stops and starts again)', async () => {
    const single: Buffer[] = [];
    for await (const frame of decodeFrames(src, info)) single.push(Buffer.from(frame.data));
    const slow: Buffer[] = [];
    for await (const frame of decodeFrames(src, info, { framesPerBuffer: 3 })) {
      slow.push(Buffer.from(frame.data));
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(slow).toHaveLength(info.video.frameCount);
    expect(Buffer.concat(slow)).toEqual(Buffer.concat(single));
  });

  it('counts frames past the probed count and fails naming both counts', async () => {
    const n = info.video.frameCount;
    for (const probed of [n - 3, n + 2]) {
      const fewer = { ...info, video: { ...info.video, frameCount: probed } };
      let yielded = 0;
      const e = await (async () => {
        for await (const _ of decodeFrames(src, fewer, { name: 'segment 1', framesPerBuffer: 4 })) yielded++;
      })().catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SwiftvrError);
      expect((e as SwiftvrError).message).toContain(`segment 1 decoded to ${n} frames of 192x108, but its packets count ${probed}`);
      expect(yielded).toBe(Math.min(n, probed));
    }
  });

  it('stops ffmpeg when the consumer breaks early', async () => {
    for await (const _ of decodeFrames(src, info)) break;
    expect(await ffmpegsReading(src)).toBe(0);
  });

  it('fails with an aborted error when the AbortSignal fires', async () => {
    const controller = new AbortController();
    let e: unknown;
    try {
      for await (const _ of decodeFrames(src, info, { signal: controller.signal, name: 'segment 1' })) controller.abort();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(SwiftvrError);
    expect((e as SwiftvrError).kind).toBe('aborted');
    expect((e as SwiftvrError).message).toBe('decoding segment 1 was aborted');
    expect(await ffmpegsReading(src)).toBe(0);
  });
});
