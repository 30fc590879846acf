// Bad inputs are rejected with a bad-input error that names the value and the rule, and
// nothing is published: no playlist, no segment, no staging folder.
import { existsSync } from 'node:fs';
import { cp, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SwiftvrError } from '../../src/errors.js';
import { restore } from '../../src/pipeline/restore.js';
import { FIXTURE_MODEL } from '../inference/fixture-model.js';
import { tempDirs } from './temp-dirs.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/hls/', import.meta.url));
const temp = tempDirs('swiftvr-bad-');

/** A writable copy of the 96x64 MPEG-TS rendition. */
async function tsCopy(): Promise<string> {
  const dir = await temp();
  await cp(join(FIXTURES, 'ts', '96x64'), dir, { recursive: true });
  return dir;
}

async function restoreError(input: string, out: string): Promise<SwiftvrError> {
  try {
    await restore({ input, outDir: out, modelPath: FIXTURE_MODEL, ep: 'cpu', encoder: 'libx264' });
  } catch (e) {
    expect(e).toBeInstanceOf(SwiftvrError);
    return e as SwiftvrError;
  }
  throw new Error(`restore(${input}) succeeded; it should have failed`);
}

/** Nothing was published: the output folder is absent or empty. */
async function expectNothingPublished(out: string): Promise<void> {
  if (!existsSync(out)) return;
  expect(await readdir(out, { recursive: true })).toEqual([]);
}

const outDir = async (): Promise<string> => join(await temp(), 'out');

describe('restore() rejects bad inputs and publishes nothing', () => {
  it('a missing playlist', async () => {
    const out = await outDir();
    const e = await restoreError('/nonexistent/dir/index.m3u8', out);
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/\/nonexistent\/dir\/index\.m3u8/);
    await expectNothingPublished(out);
  });

  it('a malformed playlist', async () => {
    const dir = await tsCopy();
    await writeFile(join(dir, 'media.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:abc,\nseg_000.ts\n');
    const out = await outDir();
    const e = await restoreError(join(dir, 'media.m3u8'), out);
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/media\.m3u8/);
    await expectNothingPublished(out);
  });

  it('a text file that is not a playlist', async () => {
    const dir = await tsCopy();
    await writeFile(join(dir, 'list.m3u8'), 'hello\n');
    const e = await restoreError(join(dir, 'list.m3u8'), await outDir());
    expect(e.message).toMatch(/first line must be #EXTM3U/);
  });

  it.each([
    ['escapes the input folder', '../outside.ts'],
    ['names another host', 'http://other.example/seg_001.ts'],
  ])('a segment URI that %s', async (_what, uri) => {
    const dir = await tsCopy();
    const text = (await readFile(join(dir, 'media.m3u8'), 'utf8')).replace('seg_001.ts', uri);
    await writeFile(join(dir, 'media.m3u8'), text);
    const out = await outDir();
    const e = await restoreError(join(dir, 'media.m3u8'), out);
    expect(e.kind).toBe('bad-input');
    expect(e.message).toContain(uri.startsWith('http') ? 'other.example' : '../outside.ts');
    await expectNothingPublished(out);
  });

  it.each([
    ['truncated', async (p: string) => truncate(p, 1500)],
    [
      'corrupt',
      async (p: string) => {
        const b = await readFile(p);
        // Garbage over the payload of the packets after the first few (headers kept).
        for (let i = 188 * 4; i < b.length; i += 188) b.fill(0x5a, i + 8, i + 188);
        await writeFile(p, b);
      },
    ],
  ])('a %s segment: the error names its sn and URI', async (_what, damage) => {
    const dir = await tsCopy();
    await damage(join(dir, 'seg_002.ts'));
    const out = await outDir();
    const e = await restoreError(join(dir, 'media.m3u8'), out);
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/segment sn=2 \(seg_002\.ts\)/);
    expect(e.context.sn).toBe(2);
    // Segments 0 and 1 were restored, but nothing is published.
    await expectNothingPublished(out);
  });

  it('a file that is not video', async () => {
    const dir = await temp();
    await writeFile(join(dir, 'clip.mp4'), 'this is not a video file\n'.repeat(50));
    const out = await outDir();
    const e = await restoreError(join(dir, 'clip.mp4'), out);
    expect(e.kind).toBe('bad-input');
    expect(e.message).toMatch(/clip\.mp4/);
    await expectNothingPublished(out);
  });
});
