// Locating the ffmpeg/ffprobe system binaries and running them as child processes.
import { fork, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { SwiftvrError } from '../errors.js';
import type { ErrorContext } from '../errors.js';
import type { LaunchedExit, LaunchRequest, LauncherMessage } from './tool-launcher.js';

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
  /** Keep stdout as a pipe (read it as a stream, or straight into a reader's buffers); otherwise it is ignored. */
  readonly stdout?: boolean | StdoutReader;
  /** How much of stderr to keep, in bytes. @default 8192 */
  readonly stderrBytes?: number;
}

/**
 * Reads a tool's stdout straight into the caller's buffers: each read of the pipe lands in
 * `buffer()` (the kernel copies into it; no chunk is allocated or copied on this side), then
 * `got(bytes)` says how much came. Returning false stops reading until the stream's `resume()`.
 */
export interface StdoutReader {
  buffer(): Uint8Array;
  got(bytes: number): boolean;
}

/**
 * The pipe Node received as `received`, read into `reader`'s buffers from now on (Node's `onread`).
 * Runs in the tick the pipe arrived in, before its socket has read anything. Where the socket has
 * no handle to re-wrap, the chunks it reads are copied into the reader's buffers instead.
 */
export function readInto(received: Socket, reader: StdoutReader): Socket {
  const handle = (received as unknown as { _handle?: object | null })._handle;
  if (handle != null) {
    const onread: OnReadOpts = { buffer: () => reader.buffer(), callback: (bytes) => reader.got(bytes) };
    return new Socket({ handle, readable: true, writable: false, onread } as SocketConstructorOpts);
  }
  received.on('data', (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length;) {
      const into = reader.buffer();
      const n = Math.min(into.length, chunk.length - offset);
      into.set(chunk.subarray(offset, offset + n));
      offset += n;
      if (!reader.got(n)) received.pause();
    }
  });
  return received;
}

/** A running ffmpeg/ffprobe process. */
export interface ToolProcess {
  /** The tool's stdin and stdout pipes, when asked for. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Resolves (never rejects) when the process has ended. */
  readonly exit: Promise<ToolExit>;
  /** Kills the process (SIGKILL) if it is still running. */
  kill(): void;
}

interface Launched {
  /** The launcher process that started it. */
  readonly via: ChildProcess;
  readonly pipes: { stdin?: Socket; stdout?: Socket };
  /** Where stdout is read into, when the caller reads it so. */
  readonly reader?: StdoutReader;
  pid?: number;
  readonly started: () => void;
  readonly exited: (exit: LaunchedExit) => void;
}

const signalTool = (pid: number | undefined): void => {
  try {
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
};

/**
 * The main process's side of the tool launcher (src/media/tool-launcher.ts): forks it on first use
 * (again if it died), keeps the event loop alive only while a tool runs.
 */
class LauncherClient {
  private child: ChildProcess | undefined;
  private readonly tools = new Map<number, Launched>();
  private nextId = 0;

  private launcher(): ChildProcess {
    if (this.child !== undefined && this.child.connected) return this.child;
    const fromSource = import.meta.url.endsWith('.ts');
    const child = fork(fileURLToPath(new URL(`./tool-launcher.${fromSource ? 'ts' : 'js'}`, import.meta.url)), [], {
      // Not the parent's flags (profilers, preloads): only what the launcher needs to load.
      execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (m: LauncherMessage, handle?: Socket) => {
      const t = this.tools.get(m.id);
      if (t === undefined) return;
      if ('pipe' in m) {
        if (handle !== undefined) t.pipes[m.pipe] = m.pipe === 'stdout' && t.reader !== undefined ? readInto(handle, t.reader) : handle;
        return;
      }
      if ('pid' in m) {
        t.pid = m.pid;
        t.started();
        return;
      }
      this.tools.delete(m.id);
      this.release();
      t.started();
      t.exited(m.exit);
    });
    // The launcher died (killed, out of memory) or could not start: its tools are stopped here; the
    // next spawn forks a new one.
    child.on('exit', (code, signal) => this.lost(child, signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`));
    child.on('error', (e) => this.lost(child, `failed: ${e.message}`));
    this.child = child;
    return child;
  }

  private lost(launcher: ChildProcess, how: string): void {
    if (this.child === launcher) this.child = undefined;
    for (const [id, t] of this.tools) {
      if (t.via !== launcher) continue;
      this.tools.delete(id);
      signalTool(t.pid);
      t.started();
      t.exited({ code: null, signal: 'SIGKILL', stderr: `the tool launcher ${how}` });
    }
    this.release();
  }

  /** While no tool runs, the launcher does not keep the process alive. */
  private release(): void {
    if (this.tools.size > 0 || this.child === undefined) return;
    this.child.unref();
    this.child.channel?.unref();
  }

  async spawn(
    request: Omit<LaunchRequest, 'op' | 'id'>,
    reader?: StdoutReader,
  ): Promise<{ pipes: Launched['pipes']; exit: Promise<LaunchedExit>; kill: () => void }> {
    const child = this.launcher();
    child.ref();
    child.channel?.ref();
    const id = this.nextId++;
    const pipes: Launched['pipes'] = {};
    let exited!: (exit: LaunchedExit) => void;
    const exit = new Promise<LaunchedExit>((resolve) => {
      exited = resolve;
    });
    let started!: () => void;
    const ready = new Promise<void>((resolve) => {
      started = resolve;
    });
    const tool: Launched = { via: child, pipes, started, exited, ...(reader === undefined ? {} : { reader }) };
    this.tools.set(id, tool);
    child.send({ op: 'spawn', id, ...request } satisfies LaunchRequest, (e) => {
      if (e !== null) this.lost(child, `could not take the request: ${e.message}`);
    });
    await ready;
    return {
      pipes,
      exit,
      kill: () => {
        if (this.tools.has(id)) signalTool(tool.pid);
      },
    };
  }
}

const launcherClient = new LauncherClient();

/**
 * Starts `tool` with `args` (through the tool launcher, so the cost of starting it does not grow
 * with this process's memory); the AbortSignal kills it.
 */
export async function spawnTool(tool: MediaTool, args: readonly string[], options: SpawnOptions = {}): Promise<ToolProcess> {
  return start(tool, args, options, options.stdout === undefined || options.stdout === false ? 'ignore' : 'pipe').then(({ proc }) => proc);
}

async function start(
  tool: MediaTool,
  args: readonly string[],
  options: SpawnOptions,
  stdout: LaunchRequest['stdout'],
): Promise<{ proc: ToolProcess; collected: Promise<Buffer> }> {
  const bin = await locateTool(tool);
  const launched = await launcherClient.spawn(
    {
      bin,
      args,
      env: process.env,
      stdin: options.stdin === true,
      stdout,
      stderrBytes: options.stderrBytes ?? 8192,
    },
    typeof options.stdout === 'object' ? options.stdout : undefined,
  );
  const { stdin, stdout: out } = launched.pipes;
  // Writes after the process died surface as EPIPE here; the exit status tells the story.
  stdin?.on('error', () => undefined);
  out?.on('error', () => undefined);
  // The pipes are this process's file descriptors: stdin closes once the tool has ended; stdout
  // once it is read to its end, or when the tool is killed (its reader has given up on it).
  const kill = (): void => {
    launched.kill();
    stdin?.destroy();
    out?.destroy();
  };
  let aborted = false;
  // An abort only stops the tool: its reader then sees the end of stdout and the aborted exit.
  const onAbort = (): void => {
    aborted = true;
    launched.kill();
  };
  if (options.signal?.aborted === true) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const raw = launched.exit.then((e) => {
    options.signal?.removeEventListener('abort', onAbort);
    stdin?.destroy();
    return e;
  });
  const exit = raw.then(({ code, signal, stderr }): ToolExit => ({ code, signal, aborted, stderr }));
  return {
    proc: { stdin: stdin ?? null, stdout: out ?? null, exit, kill },
    collected: raw.then((e) => Buffer.from(e.stdout ?? new Uint8Array(0))),
  };
}

/** Runs `tool` to completion and returns its stdout; the caller judges the exit status. */
export async function runTool(
  tool: MediaTool,
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdin' | 'stdout'> = {},
): Promise<ToolExit & { readonly stdout: Buffer }> {
  const { proc, collected } = await start(tool, args, options, 'collect');
  const exit = await proc.exit;
  return { ...exit, stdout: await collected };
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
