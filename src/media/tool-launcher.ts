// The tool launcher: a small process, forked once by src/media/ffmpeg.ts, that starts ffmpeg and
// ffprobe on the main process's behalf and hands it their pipes (the pipe sockets travel over the
// IPC channel; the data then flows between the main process and the tool directly).
// Why: starting a process from Node forks the caller, and a fork copies its page tables, so a
// spawn from a process that holds a loaded model and 4K frame buffers costs time in proportion to
// its memory (Node 24, 2-core AMD EPYC: 1.4 ms at 50 MB resident, 8 ms at 250 MB, 27 ms at 650 MB,
// 50 ms at 1.25 GB). This process stays at its start-up size, so its spawns stay cheap.
// Protocol (IPC, advanced serialization), one tool per id:
//   -> LaunchRequest                      start a tool
//   <- { id, pipe: 'stdin' | 'stdout' }   with the pipe's socket as the message's handle
//   <- { id, pid }                        the tool runs (after its pipes)
//   <- { id, exit: LaunchedExit }         once the tool has ended and its output is read
// The main process stops a tool by signalling its pid itself, so it can do so even when this
// launcher is gone. When the channel closes or the launcher is re-parented (the main process ended,
// however it ended) every tool still running is killed and the launcher exits.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

export interface LaunchRequest {
  readonly op: 'spawn';
  readonly id: number;
  readonly bin: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: boolean;
  /** 'pipe': hand the stdout pipe over; 'collect': read it here and send it with the exit; 'ignore'. */
  readonly stdout: 'pipe' | 'collect' | 'ignore';
  /** How much of stderr to keep, in bytes. */
  readonly stderrBytes: number;
}
export interface LaunchedExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout?: Uint8Array;
}
export type LauncherMessage =
  | { readonly id: number; readonly pipe: 'stdin' | 'stdout' }
  | { readonly id: number; readonly pid: number }
  | { readonly id: number; readonly exit: LaunchedExit };

function launch(m: LaunchRequest, children: Map<number, ChildProcess>): void {
  const send = (msg: LauncherMessage, handle?: Socket): void => {
    if (process.connected) process.send!(msg, handle, { keepOpen: false });
  };
  const child = spawn(m.bin, m.args, {
    env: m.env,
    stdio: [m.stdin ? 'pipe' : 'ignore', m.stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'],
  });
  children.set(m.id, child);
  let stderr = '';
  const chunks: Buffer[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-m.stderrBytes);
  });
  if (m.stdout === 'collect') child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  // The exit is reported once the process has ended and the output kept here is read to its end.
  const ended: Promise<unknown>[] = [
    new Promise((resolve) => child.stderr!.once('close', resolve)),
    ...(m.stdout === 'collect' ? [new Promise((resolve) => child.stdout!.once('close', resolve))] : []),
  ];
  let spawnError: Error | undefined;
  child.once('spawn', () => {
    if (m.stdin) send({ id: m.id, pipe: 'stdin' }, child.stdin as unknown as Socket);
    if (m.stdout === 'pipe') send({ id: m.id, pipe: 'stdout' }, child.stdout as unknown as Socket);
    send({ id: m.id, pid: child.pid! });
  });
  child.once('error', (e) => {
    spawnError = e;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A process that never started emits 'error' and 'close' but no 'exit'.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  void Promise.all([exited, ...ended]).then(([status]) => {
    children.delete(m.id);
    const { code, signal } = status as { code: number | null; signal: NodeJS.Signals | null };
    const tail = spawnError === undefined ? stderr : `${stderr}\n${spawnError.message}`;
    send({ id: m.id, exit: { code, signal, stderr: tail.trim(), ...(m.stdout === 'collect' ? { stdout: Buffer.concat(chunks) } : {}) } });
  });
}

/** Serves LaunchRequests on this process's IPC channel until it closes. */
function serve(): void {
  const children = new Map<number, ChildProcess>();
  const shutdown = (): void => {
    for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.exit(0);
  };
  process.on('message', (m: LaunchRequest) => launch(m, children));
  process.on('disconnect', shutdown);
  // A second watch on the main process, should its channel's end not be noticed: once it is gone,
  // this process is re-parented.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown();
  }, 1000).unref();
}

if (process.send !== undefined) serve();
