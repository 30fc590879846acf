// The atomic write every published file goes through.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeFileAtomic } from '../../src/util/atomic-write.js';

describe('writeFileAtomic (a playlist is replaced whole, never half-written)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'swiftvr-publish-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, replaces and leaves no temp file', async () => {
    const file = path.join(dir, 'sub', 'media.m3u8');
    await writeFileAtomic(file, 'one\n');
    await writeFileAtomic(file, new TextEncoder().encode('two\n'));
    expect(await readFile(file, 'utf8')).toBe('two\n');
    expect(await readdir(path.dirname(file))).toEqual(['media.m3u8']);
  });

  it('on failure the target is untouched and the temp file removed', async () => {
    const target = path.join(dir, 'busy');
    await mkdir(path.join(target, 'inner'), { recursive: true }); // rename over a non-empty folder fails
    await writeFile(path.join(target, 'inner', 'x'), 'keep');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(await readFile(path.join(target, 'inner', 'x'), 'utf8')).toBe('keep');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
