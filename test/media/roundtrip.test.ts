// Per-segment round trip decode -> 2x upscale -> encode: what a player switching to the new
// variant relies on (frame count, start PTS, IDR first, audio unchanged, one shared init).
import { codecsAttribute } from '../../src/types.js';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeFrames } from '../../src/media/decoder.js';
import { createSegmentEncoder } from '../../src/media/encoder.js';
import type { EncodedSegment } from '../../src/media/encoder.js';
import { probeSegment } from '../../src/media/probe.js';
import type { ContainerKind } from '../../src/types.js';
import { audioPackets, firstTfdts, makeHls, removeTempDirs, tempDir, upscale2x, videoFacts, videoTimes } from './media-fixtures.js';
import type { HlsFixture } from './media-fixtures.js';

afterAll(removeTempDirs);

async function restoreSegment(
  src: string,
  container: ContainerKind,
  outPath: string,
  initOutPath?: string,
  sequenceNumber?: number,
): Promise<EncodedSegment> {
  const info = await probeSegment(src, container, { name: path.basename(src) });
  const encoder = createSegmentEncoder({
    sourcePath: src,
    info,
    width: info.video.width * 2,
    height: info.video.height * 2,
    container,
    outPath,
    initOutPath,
    sequenceNumber,
    encoder: 'libx264',
  });
  try {
    for await (const frame of decodeFrames(src, info, { name: path.basename(src) })) await encoder.write(upscale2x(frame));
    return await encoder.finish();
  } catch (e) {
    await encoder.abort();
    throw e;
  }
}

const sha = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe.each(['ts', 'fmp4'] as const)('%s segment round trip', (container) => {
  let fixture: HlsFixture;
  let outDir: string;
  const results: EncodedSegment[] = [];
  const ext = container === 'ts' ? 'ts' : 'm4s';
  const initPath = (): string | undefined => (container === 'fmp4' ? path.join(outDir, 'init.mp4') : undefined);

  beforeAll(async () => {
    fixture = await makeHls(await tempDir(`rt-${container}`), container);
    outDir = await tempDir(`rt-out-${container}`);
    for (const [i, src] of fixture.segments.entries()) {
      results.push(await restoreSegment(src, container, path.join(outDir, `out-${i}.${ext}`), initPath(), i + 1));
    }
  });

  /** The output as a player sees it: init + media for fMP4. */
  const playable = async (i: number): Promise<string> => {
    if (container === 'ts') return results[i]!.path;
    const joined = path.join(outDir, `joined-${i}.mp4`);
    await writeFile(joined, Buffer.concat([await readFile(results[i]!.initPath!), await readFile(results[i]!.path)]));
    return joined;
  };

  it("keeps every segment's frame count, start PTS (within one tick) and duration, with a keyframe first", async () => {
    expect(fixture.segments.length).toBe(3);
    for (const [i, src] of fixture.segments.entries()) {
      const source = await videoFacts(src);
      const output = await videoFacts(await playable(i));
      expect(output.frames).toBe(source.frames);
      expect(Math.abs(output.startSeconds - source.startSeconds)).toBeLessThanOrEqual(source.tick);
      expect(output.firstKey).toBe(true);
      expect([output.width, output.height]).toEqual([source.width * 2, source.height * 2]);
      expect(results[i]!.frames).toBe(source.frames);
      expect(results[i]!.durationSeconds).toBeCloseTo(source.frames / 25, 6);
    }
    // Every frame keeps its source presentation time, so audio stays in sync across a variant switch.
    for (const [i, src] of fixture.segments.entries()) {
      const source = await videoTimes(src);
      const output = await videoTimes(await playable(i));
      expect(output.length).toBe(source.length);
      for (const [k, t] of output.entries()) expect(Math.abs(t - source[k]!)).toBeLessThan(1e-6);
    }
    // The second segment does not start at zero: a start of 0 would mean the timestamps were reset.
    expect((await videoFacts(await playable(1))).startSeconds).toBeGreaterThan(0.9);
  });

  it('copies the source audio packets bit-exact (pts, dts, size, flags, data hash)', async () => {
    for (const [i, src] of fixture.segments.entries()) {
      const source = await audioPackets(src);
      expect(source.length).toBeGreaterThan(20);
      expect(await audioPackets(await playable(i))).toEqual(source);
      // fMP4: also on the raw fragment timeline (edit lists ignored), as hls.js and MSE place it.
      if (container === 'fmp4') expect(await audioPackets(await playable(i), true)).toEqual(await audioPackets(src, true));
    }
  });

  it('reports RFC 6381 codecs for H.264 High and AAC-LC', () => {
    for (const r of results) expect(codecsAttribute(r.codecs)).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
  });

  it('leaves no temporary files behind', async () => {
    const names = await readdir(outDir);
    expect(names.filter((n) => n.includes('.partial-'))).toEqual([]);
  });

  it('gives byte-identical output when the same frames are encoded again', async () => {
    const again = await restoreSegment(fixture.segments[1]!, container, path.join(outDir, `again.${ext}`), initPath(), 2);
    expect(await sha(again.path)).toBe(await sha(results[1]!.path));
    expect(again.bytes).toBe(results[1]!.bytes);
  });

  if (container === 'fmp4') {
    it('writes one init section (ftyp+moov) that serves every segment; media segments start with moof', async () => {
      expect(results.map((r) => r.initWritten)).toEqual([true, false, false]);
      for (const r of results) expect(r.initPath).toBe(initPath());
      const init = await readFile(initPath()!);
      expect(init.subarray(4, 8).toString('latin1')).toBe('ftyp');
      expect(init.includes(Buffer.from('moof'))).toBe(false);
      for (const [i, r] of results.entries()) {
        const media = await readFile(r.path);
        expect(media.subarray(4, 8).toString('latin1')).toBe('moof');
        // mfhd sequence_number counts up across the rendition.
        expect(media.subarray(12, 16).toString('latin1')).toBe('mfhd');
        expect(media.readUInt32BE(20)).toBe(i + 1);
      }
    });

    it("starts each fragment where the source does: audio tfdt equal, video tfdt at the source's first PTS", async () => {
      for (const [i, src] of fixture.segments.entries()) {
        const source = await firstTfdts(src);
        const output = await firstTfdts(results[i]!.path);
        const info = await probeSegment(src, 'fmp4');
        // Track 1 is video, track 2 audio, in both (ffmpeg's order of -map).
        expect(output.get(2)).toBe(source.get(2));
        expect(output.get(1)).toBe(Math.round(info.video.startTime * info.video.timeBase.den));
      }
    });
  }
});
