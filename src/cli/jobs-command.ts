// `swiftvr jobs`: the recent cloud jobs with their state, progress and worker time so far.
import { explainCloudError } from '../cloud/aws-errors.js';
import { readCancel } from '../cloud/cancel.js';
import { CLOUD_OPTIONS_HELP, openStore, readCloudConfig } from '../cloud/config.js';
import { JobLayout, parseJobRecord } from '../cloud/jobs.js';
import { bytesToText, type ObjectStore } from '../cloud/object-store/object-store.js';
import { jobTotals, listIndexedJobs, type JobIndexEntry } from '../cloud/progress.js';
import { usageError } from '../errors.js';
import { parseCloudArgs, whereOf } from './cloud-args.js';
import type { CliIo, Command } from './command.js';

export const JOBS_USAGE = `usage: swiftvr jobs [--json] [options]

The most recent jobs (newest first, at most 50) with their state (SUBMITTED, PROGRESSING,
COMPLETE, ERROR, CANCELED: the newest of the job's events), segments and frames done, frames/s
since the job started, the worker seconds spent on it so far and what they cost at the price of
the workers' instance type (their SWIFTVR_INSTANCE_TYPE in the price table; - when unpriced),
beside the cost its estimate gave for that instance type (as the workers recorded it, else
--instance-type) when the job was created.

  --json                    print one JSON object per job, a line each
${CLOUD_OPTIONS_HELP}
  -h, --help                show this help`;

export interface JobLine {
  readonly job: string;
  readonly mode: 'vod' | 'live';
  readonly state: string;
  readonly segmentsDone: number;
  readonly segmentsTotal: number | null;
  readonly frames: number;
  readonly fps: number;
  readonly workerSeconds: number;
  /** What the worker seconds cost at their instance type's price; null when unpriced. */
  readonly costUsd: number | null;
  /** The estimate's cost for the workers' instance type (made when the job was created); null when none. */
  readonly estimatedCostUsd: number | null;
  readonly createdAt: string;
}

/** The state a job's stored events say it is in: the last of them in the order a job goes. */
const ORDER = ['SUBMITTED', 'PROGRESSING', 'ERROR', 'COMPLETE', 'CANCELED'] as const;

async function jobLine(store: ObjectStore, outputPrefix: string, instanceType: string, e: JobIndexEntry): Promise<JobLine> {
  const layout = new JobLayout(outputPrefix, e.job);
  const got = await store.get(layout.record);
  const record = got === undefined ? undefined : parseJobRecord(JSON.parse(bytesToText(got.body)), layout.record);
  const t = await jobTotals(store, layout, record?.shards ?? 1);
  const names = (await store.list(layout.eventsPrefix)).map((o) => o.key.slice(layout.eventsPrefix.length));
  let state = 'SUBMITTED';
  for (const s of ORDER) if (names.some((n) => n === `${s}.json` || n.startsWith(`${s}_`))) state = s;
  if ((await readCancel(store, layout)) !== undefined) state = 'CANCELED';
  const seconds = Math.max(0, (Date.now() - Date.parse(e.createdAt)) / 1000);
  return {
    job: e.job,
    mode: e.mode,
    state,
    segmentsDone: t.segments,
    segmentsTotal: record?.segments?.length ?? null,
    frames: t.frames,
    fps: state === 'COMPLETE' || seconds === 0 ? 0 : Math.round((t.frames / seconds) * 100) / 100,
    workerSeconds: Math.round(t.seconds * 10) / 10,
    costUsd: t.costUsd === undefined ? null : Math.round(t.costUsd * 10000) / 10000,
    estimatedCostUsd: record?.estimate?.instances.find((i) => i.instanceType === (t.instanceType ?? instanceType))?.costUsd ?? null,
    createdAt: e.createdAt,
  };
}

export const jobsCommand: Command = {
  usage: JOBS_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const args = parseCloudArgs(argv, JOBS_USAGE, ['json']);
    if (args.flags.help) {
      io.stdout.write(`${JOBS_USAGE}\n`);
      return 0;
    }
    if (args.positionals.length !== 0)
      throw usageError(`jobs takes no positional arguments; got ${args.positionals.join(' ')}\n\n${JOBS_USAGE}`);
    const config = readCloudConfig(args.values, process.env);
    const store = openStore(config);
    const lines = await (async () => {
      const entries = (await listIndexedJobs(store, config.outputPrefix)).slice(0, 50);
      return Promise.all(entries.map((e) => jobLine(store, config.outputPrefix, config.instanceType, e)));
    })().catch((e: unknown) => {
      throw explainCloudError(e, whereOf(config));
    });
    if (args.flags.json) {
      for (const l of lines) io.stdout.write(`${JSON.stringify(l)}\n`);
      return 0;
    }
    if (lines.length === 0) {
      io.stdout.write(`no jobs under ${store.name}/${config.outputPrefix}\n`);
      return 0;
    }
    const usd = (v: number | null): string => (v === null ? '-' : `$${v.toFixed(v < 1 ? 4 : 2)}`);
    const rows = [['job', 'mode', 'state', 'segments', 'frames', 'fps', 'worker s', 'cost', 'estimated', 'created']];
    for (const l of lines) {
      rows.push([
        l.job,
        l.mode,
        l.state,
        `${l.segmentsDone}${l.segmentsTotal === null ? '' : `/${l.segmentsTotal}`}`,
        String(l.frames),
        l.fps === 0 ? '-' : l.fps.toFixed(1),
        l.workerSeconds.toFixed(1),
        usd(l.costUsd),
        usd(l.estimatedCostUsd),
        l.createdAt,
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      io.stdout.write(
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    return 0;
  },
};
