// End to end: a small HLS input (MPEG-TS and fMP4, audio muxed in) restored with the fixture
// model; every output segment checked with ffprobe against its source segment.
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import HLS from 'hls-parser';
import type { MasterPlaylist, MediaPlaylist } from 'hls-parser/types.js';
import { describe, expect, it } from 'vitest';
import { restore } from '../../src/pipeline/restore.js';
import type { QualityReport } from '../../src/report/quality-report.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { segmentFacts } from './media-facts.js';
import { tempDirs } from './temp-dirs.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hls/', import.meta.url));
const temp = tempDirs('swiftvr-e2e-');

const parse = <T>(text: string): T => HLS.parse(text) as T;

/** A file with the init section prepended (fMP4) so ffprobe can read the segment alone. */
async function decodable(dir: string, seg: string, init: string | undefined, scratch: string): Promise<string> {
  if (init === undefined) return join(dir, seg);
  const path = join(scratch, `${Math.random().toString(36).slice(2)}.mp4`);
  await writeFile(path, Buffer.concat([await readFile(join(dir, init)), await readFile(join(dir, seg))]));
  return path;
}

describe.each([
  { container: 'ts', input: 'ts/index.m3u8', sourceDir: 'ts/96x64', variants: 3 },
  { container: 'fmp4', input: 'fmp4/index.m3u8', sourceDir: 'fmp4/96x64', variants: 2 },
])('restore() of a $container HLS input', ({ container, input, sourceDir, variants }) => {
  it('writes a rendition whose segments match the source segment by segment', async () => {
    const out = await temp();
    const scratch = await temp();
    const seen: number[] = [];
    const summary = await restore({
      input: join(FIXTURES, input),
      outDir: out,
      modelPath: FIXTURE_MODEL,
      ep: 'cpu',
      chunkFrames: 3,
      encoder: 'libx264',
      progress: {
        start() {},
        frameRate() {},
        frames() {},
        segment: (r) => seen.push(r.sn),
        info() {},
        error() {},
        stop() {},
      },
    });
    expect(summary.segments.map((s) => s.sn)).toEqual([0, 1, 2]);
    expect(seen).toEqual([0, 1, 2]);
    expect(summary.frames).toBe(30);

    // Media playlist: same boundaries, sequence numbers, target duration; VOD + ENDLIST.
    const srcMedia = parse<MediaPlaylist>(await readFile(join(FIXTURES, sourceDir, 'media.m3u8'), 'utf8'));
    const outMediaText = await readFile(join(out, 'x2', 'index.m3u8'), 'utf8');
    const outMedia = parse<MediaPlaylist>(outMediaText);
    expect(outMedia.segments.map((s) => s.duration)).toEqual(srcMedia.segments.map((s) => s.duration));
    expect(outMedia.mediaSequenceBase ?? 0).toBe(srcMedia.mediaSequenceBase ?? 0);
    expect(outMedia.targetDuration).toBe(srcMedia.targetDuration);
    expect(outMedia.playlistType).toBe('VOD');
    expect(outMedia.endlist).toBe(true);
    if (container === 'fmp4') expect(outMediaText).toMatch(/#EXT-X-MAP:URI="init\.mp4"/);

    // Each output segment against its source: frames, start PTS, IDR first, audio bit-exact.
    for (const [i, seg] of outMedia.segments.entries()) {
      const srcSeg = srcMedia.segments[i]!;
      const src = await segmentFacts(await decodable(join(FIXTURES, sourceDir), srcSeg.uri, srcSeg.map?.uri, scratch));
      const got = await segmentFacts(await decodable(join(out, 'x2'), seg.uri, seg.map?.uri, scratch));
      expect(got.videoFrames, `segment ${i} frame count`).toBe(src.videoFrames);
      expect(got.startPts, `segment ${i} start PTS`).toBeCloseTo(src.startPts, 6);
      expect(got.firstFrameKey && got.firstFramePictType === 'I', `segment ${i} starts with an IDR`).toBe(true);
      expect([got.width, got.height]).toEqual([src.width * 2, src.height * 2]);
      expect(got.audioPacketHashes.length).toBeGreaterThan(0);
      expect(got.audioPacketHashes, `segment ${i} audio packets`).toEqual(src.audioPacketHashes);
      expect(got.audioPts).toEqual(src.audioPts);
      expect(got.duration).toBeCloseTo(src.duration, 1);
    }

    // Multivariant: the source variants (copied under source/) plus the restored one.
    const mv = parse<MasterPlaylist>(await readFile(join(out, 'index.m3u8'), 'utf8'));
    expect(mv.variants).toHaveLength(variants);
    const restored = mv.variants.at(-1)!;
    expect(restored.uri).toBe('x2/index.m3u8');
    expect(restored.resolution).toEqual({ width: 192, height: 128 });
    expect(restored.frameRate).toBeCloseTo(10, 3);
    expect(restored.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    const sizes = await Promise.all(outMedia.segments.map(async (s) => (await stat(join(out, 'x2', s.uri))).size));
    const peak = Math.max(...sizes.map((b, i) => (b * 8) / outMedia.segments[i]!.duration));
    const average = (sizes.reduce((a, b) => a + b, 0) * 8) / outMedia.segments.reduce((a, s) => a + s.duration, 0);
    expect(restored.bandwidth).toBe(Math.ceil(peak));
    expect(restored.averageBandwidth).toBe(Math.ceil(average));
    for (const v of mv.variants.slice(0, -1)) {
      expect(v.uri).toMatch(/^source\//);
      const media = parse<MediaPlaylist>(await readFile(join(out, v.uri), 'utf8'));
      const dir = join(out, v.uri, '..');
      for (const s of media.segments) expect(existsSync(join(dir, s.uri)), `${v.uri} -> ${s.uri} copied`).toBe(true);
    }
    expect(existsSync(join(out, 'compare.html'))).toBe(true);
    // The quality report beside the multivariant: a row per segment on the rendition's timeline,
    // fidelity to the source for restored segments, and the job's summary; the CSV says the same.
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as QualityReport;
    expect(report.segments.map((s) => s.sn)).toEqual(outMedia.segments.map((_, i) => i));
    let start = 0;
    for (const [i, s] of report.segments.entries()) {
      expect(s.start).toBeCloseTo(start, 3);
      expect(s.duration).toBeCloseTo(outMedia.segments[i]!.duration, 3);
      start += s.duration;
      expect(s.fallback).toBe(false);
      // The fixture model is close to a plain upscale: area-downscaled, it is close to its input.
      expect(s.fidelityPsnrY).toBeGreaterThan(25);
      expect(s.fidelitySsimY).toBeGreaterThan(0.8);
      expect(s.fidelitySsimY).toBeLessThanOrEqual(1);
    }
    expect(report.summary).toMatchObject({ segments: report.segments.length, restored: report.segments.length, fallbacks: 0 });
    expect(report.summary.frames).toBe(report.segments.reduce((n, s) => n + s.frames, 0));
    // The estimate made before the run, beside what the run took (the fixture model has no measured
    // frames/s: frames and output size are estimated, time is not).
    expect(report.estimate).toMatchObject({ instanceType: 'local', estimated: { measured: false, frames: report.summary.frames } });
    expect(report.estimate!.estimated.outputBytes).toBeGreaterThan(0);
    expect(report.estimate!.actual).toMatchObject({ frames: report.summary.frames });
    expect(report.estimate!.actual.wallSeconds).toBeGreaterThan(0);
    expect(report.estimate!.actual.outputBytes).toBe(sizes.reduce((a, b) => a + b, 0));
    const csv = (await readFile(join(out, 'report.csv'), 'utf8')).trimEnd().split('\r\n');
    expect(csv[0]).toBe(
      'sn,start,duration,frames,seconds,fps,fallback,reason,fidelityPsnrY,fidelitySsimY,changed,boundaryFlicker,modelSeconds',
    );
    expect(csv).toHaveLength(report.segments.length + 2);
    expect(csv.at(-1)).toMatch(/^job,0,/);
    // Nothing staged is left behind.
    expect((await readdir(out)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('restore() of a plain video file', () => {
  it('cuts it into HLS first and keeps its audio', async () => {
    const dir = await temp();
    const clip = join(dir, 'clip.mp4');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=64x48:rate=10:duration=5',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=48000:duration=5',
      '-c:v',
      'libx264',
      '-g',
      '20',
      '-c:a',
      'aac',
      '-shortest',
      clip,
    ]);
    const out = join(dir, 'out');
    const summary = await restore({ input: clip, outDir: out, modelPath: FIXTURE_MODEL, ep: 'cpu', encoder: 'libx264' });
    expect(summary.frames).toBe(50);
    const media = parse<MediaPlaylist>(await readFile(join(out, 'x2', 'index.m3u8'), 'utf8'));
    const total = media.segments.reduce((a, s) => a + s.duration, 0);
    expect(total).toBeCloseTo(5, 1);
    const mv = parse<MasterPlaylist>(await readFile(join(out, 'index.m3u8'), 'utf8'));
    expect(mv.variants.map((v) => v.resolution)).toEqual([
      { width: 64, height: 48 },
      { width: 128, height: 96 },
    ]);
    // The cut source is copied beside the output so the folder plays on its own.
    expect(existsSync(join(out, mv.variants[0]!.uri))).toBe(true);
    const facts = await segmentFacts(join(out, 'x2', media.segments[0]!.uri));
    expect(facts.audioPacketHashes.length).toBeGreaterThan(0);
    expect([facts.width, facts.height]).toEqual([128, 96]);
  });
});

describe('restore() of an http(s) input', () => {
  it('reads the stream over http and keeps absolute source URLs in the multivariant playlist', async () => {
    const { startLoopbackServer } = await import('../hls/loopback-server.js');
    const server = await startLoopbackServer(FIXTURES);
    try {
      const out = await temp();
      const summary = await restore({
        input: `${server.origin}/ts/index.m3u8`,
        outDir: out,
        modelPath: FIXTURE_MODEL,
        ep: 'cpu',
        encoder: 'libx264',
        variant: '48x32',
      });
      expect(summary.frames).toBe(30);
      const mv = parse<MasterPlaylist>(await readFile(join(out, 'index.m3u8'), 'utf8'));
      expect(mv.variants.map((v) => v.uri)).toEqual([
        `${server.origin}/ts/48x32/media.m3u8`,
        `${server.origin}/ts/96x64/media.m3u8`,
        'x2/index.m3u8',
      ]);
      expect(mv.variants[2]!.resolution).toEqual({ width: 96, height: 64 });
      expect(existsSync(join(out, 'source'))).toBe(false);
      expect(server.log).toContain('GET /ts/48x32/seg_002.ts');
    } finally {
      await server.close();
    }
  });

  it('a multivariant whose variants sit on an --allow-host host is read, restored and published under that one policy', async () => {
    const { startLoopbackServer } = await import('../hls/loopback-server.js');
    const media = await startLoopbackServer(FIXTURES); // the variants' host
    const front = await startLoopbackServer(); // the multivariant's host
    try {
      const text = (await readFile(join(FIXTURES, 'ts/index.m3u8'), 'utf8')).replace(/^(\d+x\d+\/media\.m3u8)$/gm, `${media.origin}/ts/$1`);
      front.route('/index.m3u8', (_req, res) => void res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(text));
      const out = await temp();
      const host = new URL(media.origin).host;
      const summary = await restore({
        input: `${front.origin}/index.m3u8`,
        outDir: out,
        modelPath: FIXTURE_MODEL,
        ep: 'cpu',
        encoder: 'libx264',
        variant: '48x32',
        allowedHosts: [host],
      });
      expect(summary.frames).toBe(30);
      const mv = parse<MasterPlaylist>(await readFile(join(out, 'index.m3u8'), 'utf8'));
      expect(mv.variants.map((v) => v.uri)).toEqual([
        `${media.origin}/ts/48x32/media.m3u8`,
        `${media.origin}/ts/96x64/media.m3u8`,
        'x2/index.m3u8',
      ]);
    } finally {
      await media.close();
      await front.close();
    }
  });
});
