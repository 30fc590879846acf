// Locating the ffmpeg/ffprobe system binaries and running them as child processes.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

import { SwiftvrError } from '../errors.js';
import type { ErrorContext } from '../errors.js';

export type MediaTool = 'ffmpeg' | 'ffprobe';

const ENV_OVERRIDE: Record<MediaTool, string> = {
  ffmpeg: 'SWIFTVR_FFMPEG',
  ffprobe: 'SWIFTVR_FFPROBE',
};

const located = new Map<string, Promise<string>>();

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missingTool(tool: MediaTool, detail: string): SwiftvrError {
  return new SwiftvrError(
    'missing-dependency',
    `${tool} ${detail}; install it (Debian/Ubuntu: apt-get install ffmpeg) ` +
      `or set ${ENV_OVERRIDE[tool]} to the path of the ${tool} binary`,
  );
}

async function locate(tool: MediaTool, env: NodeJS.ProcessEnv): Promise<string> {
  const override = env[ENV_OVERRIDE[tool]];
  if (override !== undefined && override !== '') {
    if (await isExecutable(override)) return override;
    throw missingTool(tool, `is not an executable file at ${ENV_OVERRIDE[tool]}=${override}`);
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, tool);
    if (await isExecutable(candidate)) return candidate;
  }
  throw missingTool(tool, 'was not found on PATH');
}

/**
 * Absolute path of `ffmpeg` or `ffprobe`: `SWIFTVR_FFMPEG` / `SWIFTVR_FFPROBE` when set, else the
 * first executable on PATH. Throws a `missing-dependency` SwiftvrError that says how to install it.
 * Results are cached per tool and environment value.
 */
export function locateTool(tool: MediaTool, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const key = `${tool}\0${env[ENV_OVERRIDE[tool]] ?? ''}\0${env.PATH ?? ''}`;
  let found = located.get(key);
  if (found === undefined) {
    found = locate(tool, env);
    located.set(key, found);
    // A failed lookup is not cached: the user may install ffmpeg and retry in the same process.
    found.catch(() => located.delete(key));
  }
  return found;
}

/** How a tool process ended. */
export interface ToolExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the process was killed because the AbortSignal fired. */
  readonly aborted: boolean;
  /** The last few KiB of stderr, for error messages. */
  readonly stderr: string;
}

export interface SpawnOptions {
  readonly signal?: AbortSignal;
  /** Pipe stdin (for raw frames) instead of ignoring it. */
  readonly stdin?: boolean;
  /** Keep stdout as a pipe; otherwise it is ignored. */
  readonly stdout?: boolean;
  /** How much of stderr to keep, in bytes. @default 8192 */
  readonly stderrBytes?: number;
}

/** A running ffmpeg/ffprobe process. */
export interface ToolProcess {
  readonly child: ChildProcess;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Resolves (never rejects) when the process has ended. */
  readonly exit: Promise<ToolExit>;
  /** Kills the process (SIGKILL) if it is still running. */
  kill(): void;
}

/** Starts `tool` with `args`; the AbortSignal kills it. */
export async function spawnTool(
  tool: MediaTool,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<ToolProcess> {
  const bin = await locateTool(tool);
  const limit = options.stderrBytes ?? 8192;
  const child = spawn(bin, args, {
    stdio: [options.stdin === true ? 'pipe' : 'ignore', options.stdout === true ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-limit);
  });
  let aborted = false;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onAbort = (): void => {
    aborted = true;
    kill();
  };
  if (options.signal?.aborted === true) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const exit = new Promise<ToolExit>((resolve) => {
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      const tail = spawnError === undefined ? stderr : `${stderr}\n${spawnError.message}`;
      resolve({ code, signal, aborted, stderr: tail.trim() });
    });
  });
  // Writes after the process died surface as EPIPE here; the exit status tells the story.
  child.stdin?.on('error', () => undefined);
  return { child, stdin: child.stdin, stdout: child.stdout, exit, kill };
}

/** Runs `tool` to completion and returns its stdout; the caller judges the exit status. */
export async function runTool(
  tool: MediaTool,
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdin' | 'stdout'> = {},
): Promise<ToolExit & { readonly stdout: Buffer }> {
  const proc = await spawnTool(tool, args, { ...options, stdout: true });
  const chunks: Buffer[] = [];
  proc.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exit = await proc.exit;
  return { ...exit, stdout: Buffer.concat(chunks) };
}

/** The error for work stopped by an AbortSignal. */
export function abortedError(what: string, context?: ErrorContext): SwiftvrError {
  return new SwiftvrError('aborted', `${what} was aborted`, { context });
}

/** Last line(s) of a tool's stderr, shortened for an error message. */
export function stderrSummary(exit: ToolExit, maxChars = 600): string {
  const text = exit.stderr.length > maxChars ? `...${exit.stderr.slice(-maxChars)}` : exit.stderr;
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
  return text === '' ? how : `${how}: ${text}`;
}
