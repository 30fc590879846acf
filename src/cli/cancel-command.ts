// `swiftvr cancel <job>`: stops a cloud job (src/cloud/cancel.ts says what stops and what stays).
import { explainCloudError } from '../cloud/aws-errors.js';
import { cancelJob } from '../cloud/cancel.js';
import { CLOUD_OPTIONS_HELP, openStore, readCloudConfig } from '../cloud/config.js';
import { EventBridgeSink, makeEventBridgeClient, StoreEventSink } from '../cloud/events.js';
import { usageError } from '../errors.js';
import { parseCloudArgs, whereOf } from './cloud-args.js';
import type { CliIo, Command } from './command.js';

export const CANCEL_USAGE = `usage: swiftvr cancel <job> [--by <name>] [--reason <text>] [options]

Stops a job: queued messages of it are dropped as workers receive them, a segment in flight stops
at its next frame (nothing of it is stored), a live rendition ends with EXT-X-ENDLIST. A VOD job
publishes no playlist once cancelled (its playlists are written only when every segment is
stored). The job's cancel record and its CANCELED event say who and when.

  --by <name>               who cancels (default: $USER)
  --reason <text>           why, one line (default: "cancelled by <name>")
${CLOUD_OPTIONS_HELP}
  -h, --help                show this help`;

export const cancelCommand: Command = {
  usage: CANCEL_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    // --by and --reason are this command's own; the rest are the cloud flags.
    const own: Record<string, string> = {};
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      const m = /^--(by|reason)(?:=(.*))?$/.exec(a);
      if (m === null) {
        rest.push(a);
        continue;
      }
      const value = m[2] ?? argv[++i];
      if (value === undefined || value.trim() === '') throw usageError(`--${m[1]} needs a value\n\n${CANCEL_USAGE}`);
      if (/[\r\n]/.test(value) || value.length > (m[1] === 'by' ? 200 : 1000)) {
        throw usageError(
          `--${m[1]} is ${JSON.stringify(value.slice(0, 60))}; it must be one line of at most ${m[1] === 'by' ? 200 : 1000} characters`,
        );
      }
      own[m[1]!] = value.trim();
    }
    const args = parseCloudArgs(rest, CANCEL_USAGE);
    if (args.flags.help) {
      io.stdout.write(`${CANCEL_USAGE}\n`);
      return 0;
    }
    if (args.positionals.length !== 1)
      throw usageError(`cancel takes exactly one <job>; got ${args.positionals.length}\n\n${CANCEL_USAGE}`);
    const config = readCloudConfig(args.values, process.env);
    const store = openStore(config);
    const by = own['by'] ?? process.env.USER ?? 'unknown';
    const bus =
      config.eventBus === undefined
        ? undefined
        : new EventBridgeSink(
            makeEventBridgeClient({ region: config.region, ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }) }),
            config.eventBus,
          );
    const job = args.positionals[0]!;
    const { result, record } = await cancelJob({
      store,
      outputPrefix: config.outputPrefix,
      job,
      by,
      reason: own['reason'] ?? `cancelled by ${by}`,
      events: new StoreEventSink(store, config.outputPrefix, bus, (line) => {
        if (line.event === 'job-event-failed') io.stderr.write(`swiftvr: the CANCELED event was not sent: ${String(line.message)}\n`);
      }),
    }).catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
    io.stdout.write(
      result === 'cancelled'
        ? `cancelled ${job} (by ${record.by} at ${record.at}): ${record.reason}\n`
        : `${job} was cancelled before (by ${record.by} at ${record.at}): ${record.reason}\n`,
    );
    return 0;
  },
};
