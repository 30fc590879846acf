// Reading HLS inputs: grouped by the RFC 8216 section whose rule is checked.
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { readSourcePlan, sniffContainer } from '../../src/hls/playlist-reader.js';
import { loadBytes } from '../../src/hls/resource-loader.js';
import { policyForInput } from '../../src/hls/uri-policy.js';
import { startLoopbackServer } from './loopback-server.js';
import type { LoopbackServer } from './loopback-server.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hls/', import.meta.url));
const TS_SEG = path.join(FIXTURES, 'ts/96x64/seg_000.ts');
const M4S_SEG = path.join(FIXTURES, 'fmp4/96x64/seg_000.m4s');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'swiftvr-reader-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
/** A fresh input folder holding `playlist` as media.m3u8 plus the named files (copied from `from`). */
async function inputFolder(playlist: string, files: Record<string, string> = {}): Promise<string> {
  const dir = path.join(tmp, `in${n++}`, 'input');
  await mkdir(dir, { recursive: true });
  for (const [name, from] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await copyFile(from, path.join(dir, name));
  }
  await writeFile(path.join(dir, 'media.m3u8'), playlist);
  return path.join(dir, 'media.m3u8');
}

const media = (body: string, head = '#EXT-X-TARGETDURATION:2'): string => `#EXTM3U\n#EXT-X-VERSION:3\n${head}\n${body}\n#EXT-X-ENDLIST\n`;

/** Runs `fn`, expecting a bad-input SwiftvrError; returns its message. */
async function badInputMessage(fn: () => Promise<unknown>): Promise<string> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwiftvrError);
  expect((err as SwiftvrError).kind).toBe('bad-input');
  expect((err as SwiftvrError).exitCode).toBe(2);
  return (err as SwiftvrError).message;
}

describe('4.3.1.1 EXTM3U', () => {
  it('"The EXTM3U tag indicates that the file is an Extended M3U Playlist file. It MUST be the first line": a video file is rejected', async () => {
    const msg = await badInputMessage(() => readSourcePlan(TS_SEG));
    expect(msg).toContain(TS_SEG);
    expect(msg).toMatch(/not (UTF-8 text|an HLS playlist)/);
  });

  it('a text file without #EXTM3U is named as not a playlist', async () => {
    const file = await inputFolder('#EXTINF:1,\nseg.ts\n');
    const msg = await badInputMessage(() => readSourcePlan(file));
    expect(msg).toBe(`${file} is not an HLS playlist: its first line must be #EXTM3U (RFC 8216 §4.3.1.1)`);
  });

  it('a missing playlist is reported with its path', async () => {
    const missing = path.join(tmp, 'nowhere', 'index.m3u8');
    expect(await badInputMessage(() => readSourcePlan(missing))).toBe(`file ${missing} does not exist`);
  });
});

describe('4.3.1.2 EXT-X-VERSION', () => {
  it('a playlist using decimal EXTINF or EXT-X-MAP without declaring the version they need is read as players read it', async () => {
    const noVersion = await inputFolder('#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXTINF:1.5,\r\na.ts\r\n#EXT-X-ENDLIST\r\n', {
      'a.ts': TS_SEG,
    });
    const plain = await readSourcePlan(noVersion);
    expect([plain.media.version, plain.media.segments[0]?.uri, plain.media.segments[0]?.duration]).toEqual([1, 'a.ts', 1.5]);
    const mapV3 = await inputFolder(media('#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1,\na.m4s'), {
      'init.mp4': path.join(FIXTURES, 'fmp4/96x64/init.mp4'),
      'a.m4s': M4S_SEG,
    });
    const mp4 = await readSourcePlan(mapV3);
    expect([mp4.media.version, mp4.media.container, mp4.media.segments[0]?.map?.uri]).toEqual([3, 'fmp4', 'init.mp4']);
  });

  it('other violations stay errors: a variant without BANDWIDTH', async () => {
    const file = await inputFolder('#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=96x64\nv.m3u8\n');
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(
      new RegExp(`^playlist ${file} is malformed: a tag lacks a required attribute or has an invalid one`),
    );
  });
});

describe('4.3.3.1 EXT-X-TARGETDURATION', () => {
  it('"This tag is REQUIRED": a media playlist without it is malformed', async () => {
    const file = await inputFolder('#EXTM3U\n#EXTINF:1,\nseg.ts\n#EXT-X-ENDLIST\n');
    const msg = await badInputMessage(() => readSourcePlan(file));
    expect(msg).toMatch(new RegExp(`^playlist ${file} is malformed: .*EXT-X-TARGETDURATION`));
  });

  it('"The EXTINF duration of each Media Segment ... when rounded to the nearest integer, MUST be less than or equal to the target duration"', async () => {
    const file = await inputFolder(media('#EXTINF:3.6,\nseg.ts', '#EXT-X-TARGETDURATION:3'), { 'seg.ts': TS_SEG });
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(/malformed: EXTINF duration.*target duration/);
  });

  it('"The EXTINF duration of each Media Segment in the Playlist file, when rounded to the nearest integer, MUST be less than or equal to the target duration": a target duration of 0 is read as 0 when every segment is under 0.5 s', async () => {
    // ffmpeg writes TARGETDURATION:0 for 0.2 s segments; hls-parser alone reads 0 as a missing tag.
    const file = await inputFolder(media('#EXTINF:0.2,\na.ts\n#EXTINF:0.499,\nb.ts', '#EXT-X-TARGETDURATION:0'), {
      'a.ts': TS_SEG,
      'b.ts': TS_SEG,
    });
    const plan = await readSourcePlan(file);
    expect(plan.media.targetDuration).toBe(0);
    expect(plan.media.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['a.ts', 0.2],
      ['b.ts', 0.499],
    ]);
    // Without EXT-X-VERSION too (decimal EXTINF raises the version, CRLF line ends).
    const bare = await inputFolder('#EXTM3U\r\n#EXT-X-TARGETDURATION:0\r\n#EXTINF:0.2,\r\na.ts\r\n#EXT-X-ENDLIST\r\n', { 'a.ts': TS_SEG });
    expect((await readSourcePlan(bare)).media.targetDuration).toBe(0);
    // A segment that rounds to 1 s is over a 0 target duration.
    const over = await inputFolder(media('#EXTINF:0.2,\na.ts\n#EXTINF:0.5,\nb.ts', '#EXT-X-TARGETDURATION:0'), {
      'a.ts': TS_SEG,
      'b.ts': TS_SEG,
    });
    expect(await badInputMessage(() => readSourcePlan(over))).toMatch(/malformed: EXTINF duration.*target duration/);
    // A value that is not a number stays a malformed tag.
    const junk = await inputFolder(media('#EXTINF:0.2,\na.ts', '#EXT-X-TARGETDURATION:zero'), { 'a.ts': TS_SEG });
    expect(await badInputMessage(() => readSourcePlan(junk))).toMatch(/malformed: .*EXT-X-TARGETDURATION/);
  });
});

describe('4.3.2.1 EXTINF', () => {
  it('reads durations with their decimals and sequence numbers from EXT-X-MEDIA-SEQUENCE', async () => {
    const file = await inputFolder(media('#EXTINF:1.5,\na.ts\n#EXTINF:0.733,\nb.ts', '#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41'), {
      'a.ts': TS_SEG,
      'b.ts': TS_SEG,
    });
    const plan = await readSourcePlan(file);
    expect(plan.multivariant).toBeUndefined();
    expect(plan.media.segments.map((s) => [s.sn, s.uri, s.duration])).toEqual([
      [41, 'a.ts', 1.5],
      [42, 'b.ts', 0.733],
    ]);
    expect(plan.media.mediaSequence).toBe(41);
  });

  it('a zero duration is rejected naming the segment and the rule', async () => {
    const file = await inputFolder(media('#EXTINF:1,\na.ts\n#EXTINF:0,\nb.ts'), { 'a.ts': TS_SEG, 'b.ts': TS_SEG });
    expect(await badInputMessage(() => readSourcePlan(file))).toBe(
      `segment b.ts (sn 1) of ${file} has EXTINF duration 0: durations must be positive`,
    );
  });

  it('a negative duration is rejected', async () => {
    const file = await inputFolder(media('#EXTINF:-1,\na.ts'), { 'a.ts': TS_SEG });
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(/a\.ts .*EXTINF duration -1: durations must be positive/);
  });

  it('a playlist with no media segments is rejected', async () => {
    const file = await inputFolder(media(''));
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(`media playlist ${file} has no media segments`);
  });

  it('a listed segment file that does not exist is named', async () => {
    const file = await inputFolder(media('#EXTINF:1,\na.ts\n#EXTINF:1,\ngone.ts'), { 'a.ts': TS_SEG });
    const msg = await badInputMessage(() => readSourcePlan(file));
    expect(msg).toBe(`file ${path.join(path.dirname(file), 'gone.ts')} (URI gone.ts) does not exist`);
  });
});

describe('4.3.2.2 EXT-X-BYTERANGE', () => {
  it('"If o is not present, the sub-range begins at the next byte following the sub-range of the previous Media Segment": ranges into one file load the original segments', async () => {
    const parts = await Promise.all([0, 1, 2].map((i) => readFile(path.join(FIXTURES, `ts/96x64/seg_00${i}.ts`))));
    const file = await inputFolder(
      media(
        parts.map((p, i) => `#EXTINF:1,\n#EXT-X-BYTERANGE:${p.length}${i === 0 ? '@0' : ''}\nall.ts`).join('\n'),
        '#EXT-X-TARGETDURATION:1',
      ).replace('#EXT-X-VERSION:3', '#EXT-X-VERSION:4'),
    );
    await writeFile(path.join(path.dirname(file), 'all.ts'), Buffer.concat(parts));
    const plan = await readSourcePlan(file);
    expect(plan.media.container).toBe('ts');
    const ranges = plan.media.segments.map((s) => s.byteRange);
    expect(ranges).toEqual([
      { offset: 0, length: parts[0]?.length },
      { offset: parts[0]?.length, length: parts[1]?.length },
      { offset: (parts[0]?.length ?? 0) + (parts[1]?.length ?? 0), length: parts[2]?.length },
    ]);
    const policy = policyForInput({ kind: 'file', path: file });
    for (const [i, s] of plan.media.segments.entries()) {
      const bytes = await loadBytes(s.location, { policy, ...(s.byteRange ? { byteRange: s.byteRange } : {}) });
      expect(Buffer.from(bytes).equals(parts[i] as Buffer)).toBe(true);
    }
  });
});

describe('4.3.2.3 EXT-X-DISCONTINUITY and 4.3.3.3 EXT-X-DISCONTINUITY-SEQUENCE', () => {
  it('carries discontinuities and numbers them from the DISCONTINUITY-SEQUENCE', async () => {
    const file = await inputFolder(
      media(
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.678Z\n#EXTINF:1,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1,\nb.ts\n#EXTINF:1,\nc.ts',
        '#EXT-X-TARGETDURATION:1\n#EXT-X-DISCONTINUITY-SEQUENCE:4',
      ),
      { 'a.ts': TS_SEG, 'b.ts': TS_SEG, 'c.ts': TS_SEG },
    );
    const { media: m } = await readSourcePlan(file);
    expect(m.discontinuitySequence).toBe(4);
    expect(m.segments.map((s) => [s.discontinuity, s.discontinuitySequence])).toEqual([
      [false, 4],
      [true, 5],
      [false, 5],
    ]);
    expect(m.segments[0]?.programDateTime?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });
});

describe('4.3.2.4 EXT-X-KEY', () => {
  it('encrypted segments are refused (they cannot be decoded here)', async () => {
    const file = await inputFolder(media('#EXT-X-KEY:METHOD=AES-128,URI="k.bin"\n#EXTINF:1,\na.ts'), { 'a.ts': TS_SEG });
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(/a\.ts .* is encrypted \(EXT-X-KEY METHOD=AES-128\)/);
  });
});

describe('4.3.2.5 EXT-X-MAP and the container', () => {
  it('fMP4 fixture: EXT-X-MAP resolved, container fmp4', async () => {
    const plan = await readSourcePlan(path.join(FIXTURES, 'fmp4/index.m3u8'));
    expect(plan.media.container).toBe('fmp4');
    expect(plan.media.segments).toHaveLength(3);
    for (const s of plan.media.segments) {
      expect(s.map?.uri).toBe('init.mp4');
      expect(s.map?.location).toEqual({ kind: 'file', path: path.join(FIXTURES, 'fmp4/96x64/init.mp4') });
    }
  });

  it('MPEG-TS fixture: no map, container ts', async () => {
    const plan = await readSourcePlan(path.join(FIXTURES, 'ts/96x64/media.m3u8'));
    expect(plan.media.container).toBe('ts');
    expect(plan.media.segments.every((s) => s.map === undefined)).toBe(true);
    expect(plan.media).toMatchObject({ targetDuration: 1, playlistType: 'VOD', endList: true, independentSegments: true });
  });

  it('without a telling extension or EXT-X-MAP, sniffs the first segment', async () => {
    const ts = await inputFolder(media('#EXTINF:1,\nchunk0'), { chunk0: TS_SEG });
    expect((await readSourcePlan(ts)).media.container).toBe('ts');
    const mp4 = await inputFolder(media('#EXTINF:1,\nchunk0'), { chunk0: M4S_SEG });
    expect((await readSourcePlan(mp4)).media.container).toBe('fmp4');
    const junk = await inputFolder(media('#EXTINF:1,\nchunk0'), { chunk0: path.join(FIXTURES, 'README.md') });
    expect(await badInputMessage(() => readSourcePlan(junk))).toMatch(/segment chunk0 .* is neither MPEG-TS nor fragmented MP4/);
  });

  it('sniffContainer knows the TS sync byte and ISO BMFF boxes', async () => {
    expect(sniffContainer(new Uint8Array(await readFile(TS_SEG)).subarray(0, 400))).toBe('ts');
    expect(sniffContainer(new Uint8Array(await readFile(M4S_SEG)).subarray(0, 400))).toBe('fmp4');
    expect(sniffContainer(new TextEncoder().encode('#EXTM3U\n'))).toBeUndefined();
  });

  it('a rendition mixing .ts and .m4s segments is rejected', async () => {
    const file = await inputFolder(media('#EXTINF:1,\na.ts\n#EXTINF:1,\nb.m4s'), { 'a.ts': TS_SEG, 'b.m4s': M4S_SEG });
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(/mixes MPEG-TS and fMP4 segments/);
  });
});

describe('4.3.4.2 EXT-X-STREAM-INF: choosing the variant', () => {
  const multivariant = path.join(FIXTURES, 'ts/index.m3u8');

  it('chooses the highest BANDWIDTH variant unless told otherwise', async () => {
    const plan = await readSourcePlan(multivariant);
    expect(plan.multivariant?.variants.map((v) => v.uri)).toEqual(['48x32/media.m3u8', '96x64/media.m3u8']);
    expect(plan.chosen?.uri).toBe('96x64/media.m3u8');
    expect(plan.chosen?.resolution).toEqual({ width: 96, height: 64 });
    expect(plan.chosen?.codecs).toBe('avc1.64000b,mp4a.40.2');
    expect(plan.chosen?.frameRate).toBe(10);
    expect(plan.media.uri).toBe('96x64/media.m3u8');
    expect(plan.media.segments[0]?.location).toEqual({ kind: 'file', path: path.join(FIXTURES, 'ts/96x64/seg_000.ts') });
    // The multivariant as parsed (once): its variants in playlist order.
    expect(plan.multivariant?.playlist.variants.map((v) => v.uri)).toEqual(['48x32/media.m3u8', '96x64/media.m3u8']);
  });

  it('takes a variant by index, URI or resolution', async () => {
    expect((await readSourcePlan(multivariant, { variant: 0 })).chosen?.uri).toBe('48x32/media.m3u8');
    expect((await readSourcePlan(multivariant, { variant: '48x32/media.m3u8' })).chosen?.uri).toBe('48x32/media.m3u8');
    expect((await readSourcePlan(multivariant, { variant: '48x32' })).media.segments[0]?.uri).toBe('seg_000.ts');
  });

  it('an unknown variant is rejected listing the ones there are', async () => {
    expect(await badInputMessage(() => readSourcePlan(multivariant, { variant: 5 }))).toBe(
      `variant 5 does not exist in ${multivariant}: give 0..1 (0: 48x32/media.m3u8 48x32; 1: 96x64/media.m3u8 96x64)`,
    );
    expect(await badInputMessage(() => readSourcePlan(multivariant, { variant: '640x360' }))).toMatch(
      /variant "640x360" matches no variant/,
    );
  });

  it('keeps AUDIO groups of the source variants', async () => {
    const dir = path.dirname(await inputFolder(media('#EXTINF:1,\na.ts'), { 'a.ts': TS_SEG, 'audio/en.m3u8': TS_SEG }));
    const index = path.join(dir, 'index.m3u8');
    await writeFile(
      index,
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",DEFAULT=YES,URI="audio/en.m3u8"\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aac"\nmedia.m3u8\n',
    );
    const plan = await readSourcePlan(index);
    expect(plan.chosen?.audioGroup).toBe('aac');
  });
});

describe('11 Security Considerations: URIs in untrusted playlists', () => {
  it('a segment URI escaping the input folder with ../ is rejected, naming it', async () => {
    const file = await inputFolder(media('#EXTINF:1,\n../../secret.ts'));
    await copyFile(TS_SEG, path.join(path.dirname(file), '../../secret.ts'));
    const msg = await badInputMessage(() => readSourcePlan(file));
    expect(msg).toContain('URI ../../secret.ts');
    expect(msg).toContain(`outside the input folder ${path.dirname(file)}`);
  });

  it('a percent-encoded ../ is no way around it', async () => {
    const file = await inputFolder(media('#EXTINF:1,\n%2e%2e/%2E%2E/secret.ts'));
    expect(await badInputMessage(() => readSourcePlan(file))).toMatch(
      /URI %2e%2e\/%2E%2E\/secret\.ts resolves to .* outside the input folder/,
    );
  });

  it('an absolute path elsewhere is rejected, also as a file: URI', async () => {
    const abs = await inputFolder(media('#EXTINF:1,\n/etc/passwd'));
    expect(await badInputMessage(() => readSourcePlan(abs))).toMatch(
      /^URI \/etc\/passwd resolves to \/etc\/passwd, outside the input folder/,
    );
    const url = await inputFolder(media('#EXTINF:1,\nfile:///etc/passwd'));
    expect(await badInputMessage(() => readSourcePlan(url))).toMatch(/^URI file:\/\/\/etc\/passwd resolves to \/etc\/passwd, outside/);
  });

  it('an absolute path inside the input folder is accepted', async () => {
    const file = await inputFolder('');
    const dir = path.dirname(file);
    await copyFile(TS_SEG, path.join(dir, 'a.ts'));
    await writeFile(file, media(`#EXTINF:1,\n${path.join(dir, 'a.ts')}`));
    expect((await readSourcePlan(file)).media.segments[0]?.location).toEqual({ kind: 'file', path: path.join(dir, 'a.ts') });
  });

  it('a symbolic link inside the folder that points outside it is rejected', async () => {
    const file = await inputFolder(media('#EXTINF:1,\nlink.ts'));
    const outside = path.join(path.dirname(file), '..', 'outside.ts');
    await copyFile(TS_SEG, outside);
    await symlink(outside, path.join(path.dirname(file), 'link.ts'));
    const msg = await badInputMessage(() => readSourcePlan(file));
    expect(msg).toBe(`URI link.ts is a symbolic link to ${path.resolve(outside)}, outside the input folder ${path.dirname(file)}`);
  });

  it('an input folder reached through a symbolic link is still read (only escapes are refused)', async () => {
    const linked = path.join(tmp, `linked${n++}`);
    await symlink(path.join(FIXTURES, 'fmp4'), linked);
    const plan = await readSourcePlan(path.join(linked, 'index.m3u8'));
    expect(plan.media.segments.map((s) => s.location)).toEqual(
      [0, 1, 2].map((i) => ({ kind: 'file', path: path.join(linked, `96x64/seg_00${i}.m4s`) })),
    );
  });

  it('another host or scheme named by a local playlist is rejected', async () => {
    const remote = await inputFolder(media('#EXTINF:1,\nhttp://169.254.169.254/latest/meta-data'));
    expect(await badInputMessage(() => readSourcePlan(remote))).toBe(
      "URI http://169.254.169.254/latest/meta-data names host 169.254.169.254, which is not the input's host nor on the allowed hosts (none)",
    );
    const data = await inputFolder(media('#EXTINF:1,\ndata:video/mp2t;base64,AAAA'));
    expect(await badInputMessage(() => readSourcePlan(data))).toMatch(/^URI data:video\/mp2t;base64,AAAA .* uses scheme data:/);
  });
});

describe('http(s) inputs on a loopback server', () => {
  let server: LoopbackServer;
  beforeAll(async () => {
    server = await startLoopbackServer(FIXTURES);
  });
  afterAll(async () => {
    await server.close();
  });

  it('reads a multivariant playlist over http, every segment resolved against its playlist URL', async () => {
    const plan = await readSourcePlan(`${server.origin}/fmp4/index.m3u8`);
    expect(plan.chosen?.location).toEqual({ kind: 'http', url: `${server.origin}/fmp4/96x64/media.m3u8` });
    expect(plan.media.container).toBe('fmp4');
    expect(plan.media.segments.map((s) => s.location)).toEqual(
      [0, 1, 2].map((i) => ({ kind: 'http', url: `${server.origin}/fmp4/96x64/seg_00${i}.m4s` })),
    );
    expect(plan.media.segments[0]?.map?.location).toEqual({ kind: 'http', url: `${server.origin}/fmp4/96x64/init.mp4` });
  });

  it('a segment on another host is rejected unless the job allows that host', async () => {
    const port = new URL(server.origin).port;
    const other = `http://localhost:${port}/ts/96x64/seg_000.ts`;
    server.route('/other.m3u8', (_req, res) => res.end(media(`#EXTINF:1,\n${other}`)));
    expect(await badInputMessage(() => readSourcePlan(`${server.origin}/other.m3u8`))).toBe(
      `URI ${other} names host localhost:${port}, which is not the input's host nor on the allowed hosts (127.0.0.1:${port})`,
    );
    const plan = await readSourcePlan(`${server.origin}/other.m3u8`, { allowedHosts: ['localhost'] });
    expect(plan.media.segments[0]?.location).toEqual({ kind: 'http', url: other });
  });

  it('a local file named by a remote playlist is rejected', async () => {
    server.route('/local.m3u8', (_req, res) => res.end(media('#EXTINF:1,\nfile:///etc/passwd')));
    expect(await badInputMessage(() => readSourcePlan(`${server.origin}/local.m3u8`))).toMatch(
      /^URI file:\/\/\/etc\/passwd in playlist .* uses scheme file:, which a http playlist may not name/,
    );
  });

  it('a playlist answering 404 is bad input naming the URL', async () => {
    expect(await badInputMessage(() => readSourcePlan(`${server.origin}/missing/index.m3u8`))).toBe(
      `GET ${server.origin}/missing/index.m3u8 answered HTTP 404 Not Found`,
    );
  });
});
