// `swiftvr worker`: consume the SQS FIFO queue until SIGTERM / SIGINT, then drain and exit.
import { once } from 'node:events';
import { utimes, writeFile } from 'node:fs/promises';
import { CLOUD_OPTIONS_HELP, HEARTBEAT_ENV, openQueue, openStore, readWorkerConfig, WORKER_OPTIONS_HELP } from '../cloud/config.js';
import { usageError } from '../errors.js';
import { explainCloudError } from '../cloud/aws-errors.js';
import { parseCloudArgs, whereOf, workerOf } from './cloud-args.js';
import { resolveInstanceType } from '../cloud/instance-type.js';
import type { CliIo, Command } from './command.js';

export const WORKER_USAGE = `usage: swiftvr worker [options]

Takes vod, live and segment jobs from an SQS FIFO queue and publishes restored segments and
playlists to the store. SIGTERM stops taking messages and drains the ones in flight; a live
follow hands off at the next segment boundary (a fresh live message for another worker).
With SWIFTVR_HEARTBEAT_FILE set, that file is touched every 15 s (container health check);
ECS_AGENT_URI (set by ECS) turns on task scale-in protection while a message is in flight.
Every option can also come from the environment variable in brackets.

${CLOUD_OPTIONS_HELP}
${WORKER_OPTIONS_HELP}
  -h, --help                show this help`;

export const workerCommand: Command = {
  usage: WORKER_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const args = parseCloudArgs(argv, WORKER_USAGE);
    if (args.flags.help) {
      io.stdout.write(`${WORKER_USAGE}\n`);
      return 0;
    }
    if (args.positionals.length > 0)
      throw usageError(`worker takes no positional arguments; got ${args.positionals.join(' ')}\n\n${WORKER_USAGE}`);
    const configured = readWorkerConfig(args.values, process.env, { requireQueue: true });
    const { instanceType, note } = await resolveInstanceType(configured.instanceType);
    if (note !== undefined) io.stdout.write(`${JSON.stringify({ event: 'instance-type-unknown', message: note })}\n`);
    const config = { ...configured, instanceType };
    const worker = workerOf(config, {
      store: openStore(config),
      queue: openQueue(config),
      log: (line) => io.stdout.write(`${JSON.stringify(line)}\n`),
    });
    // A worker that cannot start (no credentials, no such queue or bucket) fails at once with one
    // line; start() has already released the restorers and the scratch folder.
    await worker.start().catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
    // Liveness for the container health check: touched while the event loop runs.
    const heartbeatFile = process.env[HEARTBEAT_ENV.file];
    const touch = async (): Promise<void> => {
      if (heartbeatFile === undefined || heartbeatFile === '') return;
      const now = new Date();
      await utimes(heartbeatFile, now, now).catch(() => writeFile(heartbeatFile, ''));
    };
    await touch();
    const beat = setInterval(() => void touch().catch(() => undefined), 15_000);
    try {
      if (!io.signal.aborted) await once(io.signal, 'abort');
    } finally {
      clearInterval(beat);
    }
    io.stderr.write('swiftvr worker: stopping; draining messages in flight (live follows hand off)\n');
    await worker.stop();
    return 0;
  },
};
