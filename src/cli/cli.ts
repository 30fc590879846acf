// The `swiftvr` command line: a dispatch table of subcommands and the mapping of errors to
// exit codes (0 done, 2 bad input or usage, 130 stopped by a signal, 1 anything else).
import { isSwiftvrError } from '../errors.js';
import type { CliIo, Command } from './command.js';

interface CommandEntry {
  /** One line for the top-level help. */
  readonly summary: string;
  /**
   * The command's module, loaded when it runs: `restore` does not load the AWS SDK, which would
   * more than double the JavaScript heap a restore's garbage collections walk (6.7 -> 16.1 MB).
   */
  readonly load: () => Promise<Command>;
}

/** Subcommands: the local restore and the cloud side's worker / submit / status / cancel / redrive. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = Object.freeze({
  restore: {
    summary: 'restore and upscale an HLS stream or video file into a new rendition',
    load: async () => (await import('./restore-command.js')).restoreCommand,
  },
  estimate: {
    summary: 'say before a job runs its length, output size, and time and cost per instance type',
    load: async () => (await import('./estimate-command.js')).estimateCommand,
  },
  worker: {
    summary: 'run a cloud worker on an SQS FIFO queue (S3 or local store)',
    load: async () => (await import('./worker-command.js')).workerCommand,
  },
  submit: {
    summary: 'queue a VOD or live restore job for a playlist in S3',
    load: async () => (await import('./submit-command.js')).submitCommand,
  },
  status: {
    summary: 'show a cloud job: segments done, fps, lag, errors',
    load: async () => (await import('./status-command.js')).statusCommand,
  },
  jobs: {
    summary: 'list recent cloud jobs: state, progress, worker time and cost so far',
    load: async () => (await import('./jobs-command.js')).jobsCommand,
  },
  cancel: {
    summary: 'stop a cloud job: queued work dropped, in-flight segments stopped, a live rendition ended',
    load: async () => (await import('./cancel-command.js')).cancelCommand,
  },
  redrive: {
    summary: "send a job's dead-lettered messages back to the queue once its source is fixed",
    load: async () => (await import('./redrive-command.js')).redriveCommand,
  },
});

export function topUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: swiftvr <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nswiftvr <command> --help shows a command's options`;
}

/** Runs one CLI invocation; never throws: errors become a message on stderr and an exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(topUsage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.stderr.write(
      `swiftvr: unknown command ${JSON.stringify(name)}; it must be one of ${Object.keys(COMMANDS).join(', ')}\n\n${topUsage()}\n`,
    );
    return 2;
  }
  try {
    return await (await entry.load()).run(rest, io);
  } catch (e) {
    if (isSwiftvrError(e)) {
      if (e.kind === 'aborted' || io.signal.aborted) {
        io.stderr.write('swiftvr: stopped; nothing was published\n');
        return 130;
      }
      io.stderr.write(`swiftvr: ${e.message}\n`);
      return e.exitCode;
    }
    if (io.signal.aborted) {
      io.stderr.write('swiftvr: stopped; nothing was published\n');
      return 130;
    }
    io.stderr.write(`swiftvr: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
