// --fallback-plain: a segment whose restore fails (for a reason other than bad input) is published
// as a marked plain upscale, on the source's timeline, and the stream goes on restored.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { restore } from '../../src/pipeline/restore.js';
import type { SegmentResult } from '../../src/types.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { faultyRestorer } from '../inference/faulty-restorer.js';
import { segmentFacts } from './media-facts.js';
import { tempDirs } from './temp-dirs.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/hls/', import.meta.url));
const temp = tempDirs('swiftvr-fallback-');

async function lumaPsnr(a: string, b: string): Promise<number> {
  const { stderr } = await run('ffmpeg', ['-v', 'info', '-i', a, '-i', b, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-']);
  return Number(/PSNR y:([0-9.inf]+)/.exec(stderr)?.[1]?.replace('inf', '99'));
}

describe('restore() with --fallback-plain', () => {
  it('publishes a failed segment as the plain upscale, marked, and restores the rest', async () => {
    const out = await temp();
    const results: SegmentResult[] = [];
    const summary = await restore({
      input: join(FIXTURES, 'ts/96x64/media.m3u8'),
      outDir: out,
      modelPath: FIXTURE_MODEL,
      ep: 'cpu',
      encoder: 'libx264',
      chunkFrames: 2,
      fallbackPlain: true,
      openRestorer: faultyRestorer({ failPushes: [15] }), // segment 1 (frames 10..19)
      progress: { start() {}, frameRate() {}, frames() {}, segment: (r) => results.push(r), info() {}, error() {}, stop() {} },
    });
    expect(summary.segments.map((s) => s.sn)).toEqual([0, 1, 2]);
    expect(results.map((r) => r.fallback)).toEqual([undefined, 'restore failed: inference failed: out of memory (injected)', undefined]);
    // Same timeline as the source, like any restored segment.
    const src = await segmentFacts(join(FIXTURES, 'ts/96x64/seg_001.ts'));
    const got = await segmentFacts(join(out, 'x2/seg_000001.ts'));
    expect([got.videoFrames, got.startPts, got.firstFrameKey, got.width, got.height]).toEqual([
      src.videoFrames,
      src.startPts,
      true,
      192,
      128,
    ]);
    expect(got.audioPacketHashes).toEqual(src.audioPacketHashes);
    // It is ffmpeg's plain bicubic upscale (the fixture model is bicubic too: the rest matches it closely).
    const plain = join(await temp(), 'plain.ts');
    await run('ffmpeg', [
      '-v',
      'error',
      '-i',
      join(FIXTURES, 'ts/96x64/seg_001.ts'),
      '-vf',
      'scale=192:128:flags=bicubic',
      '-c:v',
      'libx264',
      '-qp',
      '0',
      plain,
    ]);
    expect(await lumaPsnr(join(out, 'x2/seg_000001.ts'), plain)).toBeGreaterThan(35);
  });

  it('without the flag the failure fails the job and nothing is published', async () => {
    const out = join(await temp(), 'out');
    await expect(
      restore({
        input: join(FIXTURES, 'ts/96x64/media.m3u8'),
        outDir: out,
        modelPath: FIXTURE_MODEL,
        ep: 'cpu',
        encoder: 'libx264',
        openRestorer: faultyRestorer({ failPushes: [15] }),
      }),
    ).rejects.toThrow(/segment sn=1 .*out of memory \(injected\)/);
  });
});
