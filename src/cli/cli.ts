// The `swiftvr` command line: a dispatch table of subcommands and the mapping of errors to
// exit codes (0 done, 2 bad input or usage, 130 stopped by a signal, 1 anything else).
import { isSwiftvrError } from '../errors.js';
import type { CliIo, Command } from './command.js';
import { restoreCommand } from './restore-command.js';
import { redriveCommand } from './redrive-command.js';
import { statusCommand } from './status-command.js';
import { submitCommand } from './submit-command.js';
import { workerCommand } from './worker-command.js';

/** Subcommands; the cloud side adds worker / submit / status here. */
export const COMMANDS: Readonly<Record<string, Command>> = Object.freeze({
  restore: restoreCommand,
  worker: workerCommand,
  submit: submitCommand,
  status: statusCommand,
  redrive: redriveCommand,
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
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`swiftvr: unknown command ${JSON.stringify(name)}; it must be one of ${Object.keys(COMMANDS).join(', ')}\n\n${topUsage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
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
