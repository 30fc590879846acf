// `swiftvr submit <s3://bucket/key.m3u8> [--live] [--shards N]`: queue a job. Without a queue URL
// the job runs here and now (embedded: in-process queue and worker, local or S3 store).
import { CLOUD_OPTIONS_HELP, openQueue, openStore, readCloudConfig, readWorkerConfig, WORKER_OPTIONS_HELP } from '../cloud/config.js';
import { readJobStatus, formatStatus } from '../cloud/status.js';
import { jobMessageOf, parseS3Input, submitJob } from '../cloud/submit.js';
import { isSwiftvrError, usageError } from '../errors.js';
import type { MemoryQueue } from '../cloud/queue/memory-queue.js';
import type { JobMessage } from '../cloud/jobs.js';
import { explainCloudError } from '../cloud/aws-errors.js';
import { parseCloudArgs, whereOf, workerOf } from './cloud-args.js';
import { estimateInput } from './estimate-command.js';
import { formatEstimate } from '../estimate/estimate.js';
import { DEFAULT_CRF } from '../media/encoder.js';
import { defaultModelPath } from './package-root.js';
import type { CliIo, Command } from './command.js';

export const SUBMIT_USAGE = `usage: swiftvr submit <s3://bucket/key.m3u8> [--live] [--shards N] [options]

Queues a job that restores the stream at the playlist (multivariant or media). Prints the job's
estimate (as \`swiftvr estimate\`; on stderr, kept in the job record) and the job id for
\`swiftvr status\`. Without --queue-url the job runs in this process (embedded mode; then the
worker options apply, --model first) and the command returns when it is done.

  --live                    follow a growing live playlist until EXT-X-ENDLIST
  --shards <N>              VOD: split into N contiguous shards restored in parallel (default: 1)
  --json                    print the job (and, embedded, its final status) as JSON
${CLOUD_OPTIONS_HELP}
${WORKER_OPTIONS_HELP}
  -h, --help                show this help`;

export const submitCommand: Command = {
  usage: SUBMIT_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const args = parseCloudArgs(argv, SUBMIT_USAGE, ['live', 'shards', 'json']);
    if (args.flags.help) {
      io.stdout.write(`${SUBMIT_USAGE}\n`);
      return 0;
    }
    if (args.positionals.length !== 1) {
      throw usageError(`submit takes exactly one <s3://bucket/key.m3u8>; got ${args.positionals.length}\n\n${SUBMIT_USAGE}`);
    }
    const input = args.positionals[0]!;
    const { bucket } = parseS3Input(input);
    const shardsText = args.flags.shards ?? '1';
    if (!/^\d+$/.test(shardsText) || Number(shardsText) < 1)
      throw usageError(`--shards is ${JSON.stringify(shardsText)}; it must be an integer >= 1`);
    const cloud = readCloudConfig(args.values, process.env, { bucketFromInput: bucket });
    const shards = Number(shardsText);
    jobMessageOf({ input, live: args.flags.live, shards }, cloud.sourcePrefix); // checks the request before the estimate reads the source
    // The estimate, printed before the work and kept in the job record; a job is submitted without one
    // when it cannot be made (the worker then makes its own).
    const estimate = await estimateInput({
      input,
      model: args.values.model ?? process.env.SWIFTVR_MODEL ?? defaultModelPath(),
      crf: DEFAULT_CRF,
      shards,
      allowedHosts: [],
      ...(cloud.prices === undefined ? {} : { prices: cloud.prices }),
      cloud: args.values,
      signal: io.signal,
    }).catch((e: unknown) => {
      // A configuration fault (credentials, bucket, endpoint) would stop the submit too: said once, by it.
      if (isSwiftvrError(e) && e.kind === 'config') throw e;
      io.stderr.write(`swiftvr: no estimate: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
      return undefined;
    });
    if (estimate !== undefined && !args.flags.json) io.stderr.write(`${formatEstimate(estimate)}\n\n`);
    const message = jobMessageOf(
      { input, live: args.flags.live, shards, ...(estimate === undefined ? {} : { estimate }) },
      cloud.sourcePrefix,
    );
    const job = message.type === 'segment' ? '' : message.job;
    if (cloud.queue.kind === 'sqs') {
      await submitJob(openQueue(cloud), message).catch((e: unknown) => {
        throw explainCloudError(e, whereOf(cloud));
      });
      io.stdout.write(args.flags.json ? `${JSON.stringify({ job, message })}\n` : `${job}\n`);
      return 0;
    }
    // Embedded: an in-process queue and worker, run to completion.
    const config = readWorkerConfig(args.values, process.env, { requireQueue: false, bucketFromInput: bucket });
    const store = openStore(config);
    const queue = openQueue(config) as MemoryQueue<JobMessage>;
    const worker = workerOf(config, {
      store,
      queue,
      consume: { ...config.consume, waitTimeSeconds: 0 },
      log: args.flags.json ? (line) => io.stderr.write(`${JSON.stringify(line)}\n`) : () => undefined,
    });
    await worker.start().catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
    try {
      await submitJob(queue, message);
      while (queue.depth > 0 && !io.signal.aborted) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await worker.stop();
    }
    const status = await readJobStatus(store, config.outputPrefix, job);
    io.stdout.write(args.flags.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    return queue.deadLetters.length > 0 || status.errors.some((e) => e.final) ? 1 : 0;
  },
};
