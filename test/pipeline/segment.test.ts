// restoreSegment(): the unit of work of the cloud worker. A stream resumed on another
// inference thread from a state checkpoint produces byte-identical segments (with a model whose
// output depends on the carried state).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestorer, type Restorer } from '../../src/inference/restorer.js';
import { prepareSegment, type SegmentInput } from '../../src/pipeline/segment-input.js';
import { restoreSegment } from '../../src/pipeline/segment-step.js';
import { frameLimitFor } from '../../src/media/frame-limit.js';
import { STATEFUL_TOY_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from './temp-dirs.js';

const DIR = fileURLToPath(new URL('../fixtures/hls/fmp4/96x64/', import.meta.url));
const temp = tempDirs('swiftvr-seg-');

describe('restoreSegment()', () => {
  const opened: Restorer[] = [];
  const restorer = async (chunkFrames?: number): Promise<Restorer> => {
    const r = await openRestorer(STATEFUL_TOY_MODEL, {
      ep: 'cpu',
      intraOpThreads: 1,
      ...(chunkFrames === undefined ? {} : { chunkFrames }),
    });
    opened.push(r);
    return r;
  };
  let inputs: SegmentInput[];
  beforeAll(async () => {
    const init = await readFile(join(DIR, 'init.mp4'));
    inputs = await Promise.all(
      [0, 1, 2].map(async (sn) => ({
        sn,
        uri: `seg_00${sn}.m4s`,
        container: 'fmp4' as const,
        bytes: await readFile(join(DIR, `seg_00${sn}.m4s`)),
        initBytes: init,
      })),
    );
  });
  afterAll(async () => {
    await Promise.all(opened.map((r) => r.close()));
  });

  it('resumes from a checkpoint on another session with byte-identical segments', async () => {
    const work = await temp();
    const run = async (r: Restorer, input: SegmentInput, tag: string) => {
      const { encoded, result } = await restoreSegment(
        input,
        r,
        { outPath: join(work, `${tag}-${input.sn}.m4s`), initOutPath: join(work, `${tag}-init.mp4`), encoder: 'libx264' },
        { workDir: work },
      );
      expect(result).toMatchObject({ sn: input.sn, frames: 10 });
      expect(encoded.frames).toBe(10);
      return readFile(encoded.path);
    };
    // One worker restores the whole stream.
    const straight = await restorer(3);
    const expected = [];
    for (const input of inputs) expected.push(await run(straight, input, 'straight'));

    // Another restores segment 0, checkpoints; a third resumes from the checkpoint.
    const first = await restorer(3);
    await run(first, inputs[0]!, 'first');
    const checkpoint = await first.snapshot();
    const resumed = await restorer(3);
    await resumed.load(checkpoint);
    for (const input of inputs.slice(1)) {
      expect((await run(resumed, input, 'resumed')).equals(expected[input.sn]!), `segment ${input.sn}`).toBe(true);
    }
    // Without the checkpoint (state from zeros) segment 1 comes out different.
    const cold = await restorer(3);
    expect((await run(cold, inputs[1]!, 'cold')).equals(expected[1]!)).toBe(false);
  });

  it('names the segment when its bytes are not a segment', async () => {
    const work = await temp();
    const r = await restorer();
    const bad = { ...inputs[1]!, bytes: new Uint8Array(64).fill(7) };
    await expect(
      restoreSegment(bad, r, { outPath: join(work, 'x.m4s'), initOutPath: join(work, 'init.mp4'), encoder: 'libx264' }, { workDir: work }),
    ).rejects.toThrow(/^segment sn=1 \(seg_001\.m4s\)/);
  });

  it('two preparations of one segment in one work folder keep their own files (a plain upscale beside a warm-up on it)', async () => {
    const work = await temp();
    const o = { workDir: work, limit: frameLimitFor('cpu') };
    const [a, b] = await Promise.all([prepareSegment(inputs[1]!, o), prepareSegment(inputs[1]!, o)]);
    expect(a.sourcePath).not.toBe(b.sourcePath);
    await a.dispose();
    // The other one still reads and decodes its segment.
    expect((await readFile(b.sourcePath)).length).toBeGreaterThan(inputs[1]!.bytes.length);
    let frames = 0;
    for await (const _ of b.frames) frames++;
    expect(frames).toBe(b.info.video.frameCount);
    await b.dispose();
    expect(await readdir(work)).toEqual([]);
  });
});
