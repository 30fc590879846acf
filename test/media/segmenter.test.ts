// A plain video file cut into HLS: keyframe-aligned 2-6 s segments, audio kept.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { decodeFrames } from '../../src/media/decoder.js';
import { probeSegment } from '../../src/media/probe.js';
import { segmentVideoFile } from '../../src/media/segmenter.js';
import type { SegmentationPlan } from '../../src/media/segmenter.js';
import { ffmpeg, makeMp4, packets, removeTempDirs, tempDir } from './media-fixtures.js';

afterAll(removeTempDirs);

interface Cut {
  playlist: string;
  text: string;
  durations: number[];
  uris: string[];
  plan: SegmentationPlan;
}

async function cut(input: string, outDir: string, container: 'ts' | 'fmp4' = 'ts'): Promise<Cut> {
  let plan: SegmentationPlan | undefined;
  const playlist = await segmentVideoFile(input, outDir, { container, onPlan: (p) => (plan = p) });
  const text = await readFile(playlist, 'utf8');
  const durations = [...text.matchAll(/^#EXTINF:([0-9.]+)/gm)].map((m) => Number(m[1]));
  const uris = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return { playlist, text, durations, uris, plan: plan! };
}

/** Each segment as a player reads it (init + media for fMP4): first packet a keyframe, audio present. */
async function checkSegments(c: Cut): Promise<number> {
  const dir = path.dirname(c.playlist);
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(c.text)?.[1];
  let frames = 0;
  for (const uri of c.uris) {
    let file = path.join(dir, uri);
    if (init !== undefined) {
      const joined = `${file}.joined.mp4`;
      await writeFile(joined, Buffer.concat([await readFile(path.join(dir, init)), await readFile(file)]));
      file = joined;
    }
    const facts = await packets(file);
    const v = facts.streams.find((s) => s.codec_type === 'video')!;
    const a = facts.streams.find((s) => s.codec_type === 'audio');
    expect(a, `${uri} has audio`).toBeDefined();
    const vp = facts.packets.filter((p) => p.stream_index === v.index);
    expect(vp[0]?.flags?.startsWith('K'), `${uri} starts with a keyframe`).toBe(true);
    frames += vp.length;
  }
  return frames;
}

describe('segmentVideoFile', () => {
  let dir: string;
  let shortGop: string;

  beforeAll(async () => {
    dir = await tempDir('seg');
    shortGop = path.join(dir, 'short-gop.mp4');
    await makeMp4(shortGop, 9, 2);
  });

  it('cuts an mp4 with 2 s keyframes by stream copy into 4 s segments, audio kept', async () => {
    const c = await cut(shortGop, path.join(dir, 'copy'));
    expect(c.plan.mode).toBe('copy');
    expect(c.durations.map((d) => Math.round(d * 100) / 100)).toEqual([4, 4, 1]);
    expect(c.text).toContain('#EXT-X-ENDLIST');
    expect(await checkSegments(c)).toBe(9 * 25);
    const names = await readdir(path.join(dir, 'copy'));
    expect(names.filter((n) => n.startsWith('.partial'))).toEqual([]);
  });

  it('re-encodes with an IDR every 4 s when the keyframes are 10 s apart', async () => {
    const longGop = path.join(dir, 'long-gop.mp4');
    await makeMp4(longGop, 12, 10);
    const c = await cut(longGop, path.join(dir, 'reencode'));
    expect(c.plan.mode).toBe('re-encode');
    expect(c.plan.reason).toMatch(/would last 1\d\.\d+ s/);
    expect(c.durations.map((d) => Math.round(d * 100) / 100)).toEqual([4, 4, 4]);
    expect(await checkSegments(c)).toBe(12 * 25);
  });

  it('re-encodes an open-GOP source, whose keyframes would not start decodable segments', async () => {
    const openGop = path.join(dir, 'open-gop.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=160x120:r=25:d=9',
      '-f',
      'lavfi',
      '-i',
      'sine=d=9',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-x264-params',
      'open-gop=1:keyint=50:min-keyint=50:scenecut=0',
      '-c:a',
      'aac',
      openGop,
    ]);
    const c = await cut(openGop, path.join(dir, 'open-gop'));
    expect(c.plan.mode).toBe('re-encode');
    expect(c.plan.reason).toMatch(/^segment 1 does not decode on its own/);
    // Every segment now probes and decodes alone, as the restore will read it.
    for (const uri of c.uris) {
      const file = path.join(dir, 'open-gop', uri);
      const info = await probeSegment(file, 'ts', { name: uri });
      let n = 0;
      for await (const _ of decodeFrames(file, info, { name: uri })) n++;
      expect(n).toBe(info.video.frameCount);
    }
  });

  it('writes fMP4 segments with one EXT-X-MAP init section', async () => {
    const c = await cut(shortGop, path.join(dir, 'fmp4'), 'fmp4');
    expect(c.plan.mode).toBe('copy');
    expect(c.text).toMatch(/#EXT-X-MAP:URI="init\.mp4"/);
    expect(c.uris.every((u) => u.endsWith('.m4s'))).toBe(true);
    expect(await checkSegments(c)).toBe(9 * 25);
  });

  it('rejects a file without video, naming it and the rule', async () => {
    const audioOnly = path.join(dir, 'voice.m4a');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', audioOnly]);
    const e: unknown = await segmentVideoFile(audioOnly, path.join(dir, 'none')).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SwiftvrError);
    expect((e as SwiftvrError).kind).toBe('bad-input');
    expect((e as SwiftvrError).message).toBe(
      `${audioOnly} has no video stream; the input must be a video file (mp4, mkv, mov, ts) or an HLS playlist`,
    );
  });

  it('rejects a text file as not media', async () => {
    const notes = path.join(dir, 'notes.mp4');
    await writeFile(notes, 'these are not the frames you are looking for\n');
    const e: unknown = await segmentVideoFile(notes, path.join(dir, 'none2')).catch((err: unknown) => err);
    expect((e as SwiftvrError).kind).toBe('bad-input');
    expect((e as SwiftvrError).message).toMatch(/notes\.mp4 is not a media file ffmpeg can read/);
  });
});
