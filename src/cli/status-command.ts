// `swiftvr status <job>`: segments done, fps, lag and errors, read from the store.
import { CLOUD_OPTIONS_HELP, openStore, readCloudConfig } from '../cloud/config.js';
import { formatStatus, readJobStatus } from '../cloud/status.js';
import { usageError } from '../errors.js';
import { explainCloudError } from '../cloud/aws-errors.js';
import { parseCloudArgs, whereOf } from './cloud-args.js';
import type { CliIo, Command } from './command.js';

export const STATUS_USAGE = `usage: swiftvr status <job> [--json] [options]

<job> is the id \`swiftvr submit\` printed: the source playlist key without the source prefix
and .m3u8.

  --json                    print the status as one JSON object
${CLOUD_OPTIONS_HELP}
  -h, --help                show this help`;

export const statusCommand: Command = {
  usage: STATUS_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const args = parseCloudArgs(argv, STATUS_USAGE, ['json']);
    if (args.flags.help) {
      io.stdout.write(`${STATUS_USAGE}\n`);
      return 0;
    }
    if (args.positionals.length !== 1)
      throw usageError(`status takes exactly one <job>; got ${args.positionals.length}\n\n${STATUS_USAGE}`);
    const config = readCloudConfig(args.values, process.env);
    const status = await readJobStatus(openStore(config), config.outputPrefix, args.positionals[0]!).catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
    io.stdout.write(args.flags.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    return 0;
  },
};
