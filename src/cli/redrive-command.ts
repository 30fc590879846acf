// `swiftvr redrive <job>`: sends a job's dead-lettered messages back to the job queue once their
// source reads again; refuses (and leaves them) while it does not, unless --gap.
import { explainCloudError } from '../cloud/aws-errors.js';
import { CLOUD_OPTIONS_HELP, openStore, readCloudConfig } from '../cloud/config.js';
import type { JobMessage } from '../cloud/jobs.js';
import { makeSqsClient, SqsQueue } from '../cloud/queue/sqs-queue.js';
import { redrive } from '../cloud/redrive.js';
import { SwiftvrError, usageError } from '../errors.js';
import { parseCloudArgs, whereOf } from './cloud-args.js';
import type { CliIo, Command } from './command.js';

export const REDRIVE_USAGE = `usage: swiftvr redrive <job> --queue-url <url> [--gap] [options]

Run after fixing the source of a job whose messages went to the dead-letter queue (\`swiftvr
status <job>\` lists them). Each of the job's dead-lettered messages goes back to the job queue
if its source now reads and decodes; one that still fails is left where it is and named, and the
command exits 2. Messages of other jobs are not touched.

  --gap                     VOD: publish a segment whose source is still bad as an EXT-X-GAP
                            entry (players skip it) instead of leaving it; the rendition is then
                            published without it
${CLOUD_OPTIONS_HELP}
  -h, --help                show this help`;

export const redriveCommand: Command = {
  usage: REDRIVE_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const args = parseCloudArgs(argv, REDRIVE_USAGE, ['gap']);
    if (args.flags.help) {
      io.stdout.write(`${REDRIVE_USAGE}\n`);
      return 0;
    }
    if (args.positionals.length !== 1)
      throw usageError(`redrive takes exactly one <job>; got ${args.positionals.length}\n\n${REDRIVE_USAGE}`);
    const config = readCloudConfig(args.values, process.env);
    if (config.queue.kind !== 'sqs') throw usageError('redrive needs the job queue: give --queue-url <SQS FIFO URL> (SWIFTVR_QUEUE_URL)');
    const sqs = makeSqsClient({ region: config.region, ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }) });
    const job = args.positionals[0]!;
    const result = await redrive({
      sqs,
      queue: new SqsQueue<JobMessage>({ client: sqs, queueUrl: config.queue.url }),
      store: openStore(config),
      job,
      gap: args.flags.gap,
      log: (line) => io.stdout.write(`${line}\n`),
      signal: io.signal,
    }).catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
    const sent = result.redriven.length + result.gaps.length;
    if (result.stillBad.length > 0) {
      throw new SwiftvrError(
        'bad-input',
        `${result.stillBad.length} dead-lettered message(s) of ${job} still fail and stay in the dead-letter queue (${sent} sent back); ` +
          `fix the source and run again${args.flags.gap ? '' : ', or add --gap to publish a VOD segment without it'}`,
      );
    }
    io.stdout.write(sent === 0 ? `no dead-lettered messages of ${job}\n` : `${sent} message(s) of ${job} sent back to the job queue\n`);
    return 0;
  },
};
