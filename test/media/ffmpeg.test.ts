// Finding ffmpeg/ffprobe, the missing-dependency error, stopping a run with an AbortSignal, and the
// tool launcher that starts the tools (its pipes, its death, the tools dying with their caller), and
// reading a pipe into the caller's buffers where its socket cannot be re-wrapped.
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { SwiftvrError } from '../../src/errors.js';
import { locateTool, readInto, runTool, spawnTool } from '../../src/media/ffmpeg.js';
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

/** Pids of this process's children whose command line contains `needle`. */
function childrenMatching(parent: number, needle: string): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)], { encoding: 'utf8' }).trim();
  return out === ''
    ? []
    : out
        .split('\n')
        .filter((l) => l.includes(needle))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the tool launcher', () => {
  it('hands over stdin and stdout pipes that carry data both ways', async () => {
    const proc = await spawnTool(
      'ffmpeg',
      [
        '-nostdin',
        '-v',
        'error',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'gray',
        '-s',
        '4x4',
        '-i',
        'pipe:0',
        '-vf',
        'negate',
        '-f',
        'rawvideo',
        'pipe:1',
      ],
      { stdin: true, stdout: true },
    );
    const chunks: Buffer[] = [];
    proc.stdout!.on('data', (c: Buffer) => chunks.push(c));
    proc.stdin!.end(Buffer.alloc(32, 10));
    const exit = await proc.exit;
    expect(exit.code).toBe(0);
    expect([...Buffer.concat(chunks)]).toEqual(Array(32).fill(245));
  });

  it('reports its tools as killed when it dies, and a new one starts for the next tool', async () => {
    const proc = await spawnTool('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=64x64:r=25:d=60',
      '-f',
      'null',
      '-',
    ]);
    const launchers = childrenMatching(process.pid, 'tool-launcher');
    expect(launchers).toHaveLength(1);
    const tools = childrenMatching(launchers[0]!, 'ffmpeg');
    expect(tools).toHaveLength(1);
    process.kill(launchers[0]!, 'SIGKILL');
    const exit = await proc.exit;
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.stderr).toBe('the tool launcher was killed by SIGKILL');
    await expect.poll(() => alive(tools[0]!), { timeout: 10_000 }).toBe(false);
    const next = await runTool('ffprobe', ['-version']);
    expect(next.code).toBe(0);
    expect(next.stdout.toString('utf8')).toMatch(/^ffprobe version/);
  });

  it('stops the running tools when the process that asked for them exits, and lets it exit', async () => {
    const script = [
      `import { spawnTool } from ${JSON.stringify(new URL('../../src/media/ffmpeg.ts', import.meta.url).href)};`,
      "const p = await spawnTool('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=60', '-f', 'null', '-']);",
      "const { execFileSync } = await import('node:child_process');",
      "const launcher = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\\n').find((l) => l.includes('tool-launcher'));",
      "const tool = execFileSync('ps', ['-o', 'pid=', '--ppid', launcher.trim().split(' ')[0]], { encoding: 'utf8' }).trim();",
      'console.log(tool);',
      'p.kill(); await p.exit;',
      // A second tool is left running on purpose: the exit must take it down.
      "const q = await spawnTool('ffmpeg', ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=60', '-f', 'null', '-']);",
      "console.log(execFileSync('ps', ['-o', 'pid=', '--ppid', launcher.trim().split(' ')[0]], { encoding: 'utf8' }).trim());",
      'process.exit(0);',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    const [first, second] = stdout.trim().split('\n').map(Number);
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(0);
    await expect.poll(() => alive(second!), { timeout: 10_000 }).toBe(false);
    expect(alive(first!)).toBe(false);
  });

  it('leaves no pipe open once a tool has ended, been read to its end or been given up on', async () => {
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    await runTool('ffprobe', ['-version']);
    const before = openFds();
    for (let i = 0; i < 5; i++) {
      const abandoned = await spawnTool(
        'ffmpeg',
        ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=60', '-f', 'rawvideo', 'pipe:1'],
        { stdout: true },
      );
      for await (const chunk of abandoned.stdout!) if ((chunk as Buffer).length > 0) break;
      abandoned.kill();
      await abandoned.exit;
      const fed = await spawnTool(
        'ffmpeg',
        ['-v', 'error', '-f', 'rawvideo', '-s', '4x4', '-pix_fmt', 'gray', '-i', 'pipe:0', '-f', 'null', '-'],
        { stdin: true },
      );
      fed.stdin!.end(Buffer.alloc(16));
      expect((await fed.exit).code).toBe(0);
      const read = await spawnTool(
        'ffmpeg',
        ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=1', '-f', 'rawvideo', 'pipe:1'],
        { stdout: true },
      );
      let bytes = 0;
      for await (const chunk of read.stdout!) bytes += (chunk as Buffer).length;
      expect(bytes).toBe(25 * 64 * 64 * 1.5);
      await read.exit;
    }
    await expect.poll(openFds, { timeout: 5_000 }).toBe(before);
  });

  it('does not keep an idle process alive', async () => {
    const script = [
      `import { runTool } from ${JSON.stringify(new URL('../../src/media/ffmpeg.ts', import.meta.url).href)};`,
      "const r = await runTool('ffprobe', ['-version']);",
      'console.log(r.code);',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe('0');
  });
});

describe('readInto', () => {
  it("copies a socket's chunks into the reader's buffers where there is no handle to re-wrap, pausing when told", () => {
    const socket = new Socket();
    const into = new Uint8Array(4);
    const seen: number[][] = [];
    let room = 3;
    const out = readInto(socket, {
      buffer: () => into,
      got: (n) => {
        seen.push([...into.subarray(0, n)]);
        return --room > 0;
      },
    });
    expect(out).toBe(socket);
    socket.emit('data', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(seen).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ]);
    expect(socket.isPaused()).toBe(true);
  });
});
