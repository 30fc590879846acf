// Finding ffmpeg/ffprobe, the missing-dependency error, and stopping a run with an AbortSignal.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { locateTool, runTool } from '../../src/media/ffmpeg.js';
import { removeTempDirs, tempDir } from './media-fixtures.js';

afterAll(removeTempDirs);

describe('locateTool', () => {
  it('finds ffmpeg and ffprobe on PATH', async () => {
    expect(path.basename(await locateTool('ffmpeg'))).toBe('ffmpeg');
    expect(path.basename(await locateTool('ffprobe'))).toBe('ffprobe');
  });

  it('prefers SWIFTVR_FFMPEG over PATH', async () => {
    const dir = await tempDir('bin');
    const fake = path.join(dir, 'my-ffmpeg');
    await writeFile(fake, '#!/bin/sh\nexit 0\n');
    await chmod(fake, 0o755);
    expect(await locateTool('ffmpeg', { PATH: process.env.PATH, SWIFTVR_FFMPEG: fake })).toBe(fake);
  });

  it('says how to install ffmpeg when it is missing', async () => {
    const dir = await tempDir('empty');
    const e: unknown = await locateTool('ffprobe', { PATH: dir }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SwiftvrError);
    expect((e as SwiftvrError).kind).toBe('missing-dependency');
    expect((e as SwiftvrError).message).toBe(
      'ffprobe was not found on PATH; install it (Debian/Ubuntu: apt-get install ffmpeg) or set SWIFTVR_FFPROBE to the path of the ffprobe binary',
    );
    expect((e as SwiftvrError).exitCode).toBe(1);
  });

  it('names the bad override path', async () => {
    const e: unknown = await locateTool('ffmpeg', { PATH: '', SWIFTVR_FFMPEG: '/nonexistent/ffmpeg' }).catch((err: unknown) => err);
    expect((e as SwiftvrError).message).toMatch(/^ffmpeg is not an executable file at SWIFTVR_FFMPEG=\/nonexistent\/ffmpeg/);
  });
});

describe('runTool', () => {
  it('kills ffmpeg when the AbortSignal fires', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const run = runTool(
      'ffmpeg',
      ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=60', '-f', 'null', '-'],
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 300);
    const exit = await run;
    expect(exit.aborted).toBe(true);
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keeps the tail of stderr for error messages', async () => {
    const exit = await runTool('ffprobe', ['-v', 'error', '/nonexistent/segment.ts']);
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toContain('/nonexistent/segment.ts: No such file or directory');
  });
});
