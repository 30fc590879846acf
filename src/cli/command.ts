// What a subcommand of the `swiftvr` CLI is: the dispatch table in cli.ts maps names (with their
// one-line summaries) to loaders of these.
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborted on SIGINT / SIGTERM: commands stop cleanly and return. */
  readonly signal: AbortSignal;
}

export interface Command {
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}
