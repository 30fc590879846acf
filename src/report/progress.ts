// Progress reporting for `swiftvr restore`: a progress bar on a terminal, plain lines when
// stderr is not a terminal, nothing but errors with --quiet or --json (whose output is the job's
// events, src/events/job-events.ts).
import cliProgress from 'cli-progress';
import { segmentSummary } from '../events/job-events.js';
import type { ReportMode, SegmentResult } from '../types.js';

export interface ProgressReporter {
  /** The job is planned: how many segments and how many seconds of video. */
  start(job: { readonly segments: number; readonly durationSeconds: number }): void;
  /** The source frame rate is known (first segment probed): the bar can count frames. */
  frameRate(fps: number): void;
  /** `n` more frames were restored. */
  frames(n: number): void;
  /** One segment is encoded and staged. */
  segment(result: SegmentResult): void;
  /** Informational line (not shown with --quiet or --json). */
  info(line: string): void;
  /** Always shown, on stderr. */
  error(line: string): void;
  stop(): void;
}

export interface ProgressStreams {
  /** Where the job events go with --json (written by the restore, not by the reporter). */
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
}

export { segmentSummary };

export function createProgressReporter(
  mode: ReportMode,
  streams: ProgressStreams = { out: process.stdout, err: process.stderr },
): ProgressReporter {
  // stdout (`streams.out`) is the job events' with --json; the reporter writes to stderr only.
  const { err } = streams;
  const errorLine = (line: string): void => void err.write(line + '\n');
  // --json: the job's events are the output (src/events/job-events.ts); like --quiet, the reporter prints errors only.
  if (mode === 'quiet' || mode === 'json') {
    return { start() {}, frameRate() {}, frames() {}, segment() {}, info() {}, error: errorLine, stop() {} };
  }
  if (err.isTTY !== true) return lineReporter(err);
  return barReporter(err);
}

/** Non-terminal fallback for the bar mode: one human line per segment on stderr. */
function lineReporter(err: NodeJS.WritableStream): ProgressReporter {
  let segments = 0;
  let done = 0;
  return {
    start: (job) => {
      segments = job.segments;
    },
    frameRate() {},
    frames() {},
    segment: (r) => {
      done++;
      err.write(`segment ${r.sn} (${done}/${segments}): ${r.frames} frames in ${r.seconds.toFixed(2)} s, ${r.fps.toFixed(1)} fps\n`);
    },
    info: (line) => void err.write(line + '\n'),
    error: (line) => void err.write(line + '\n'),
    stop() {},
  };
}

function barReporter(err: NodeJS.WritableStream): ProgressReporter {
  const bar = new cliProgress.SingleBar(
    {
      stream: err,
      format: 'restore |{bar}| {segs} segments | {value}/{total} frames | {rate} fps | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let segments = 0;
  let segsDone = 0;
  let duration = 0;
  let framesDone = 0;
  let started = 0;
  let running = false;
  const payload = () => ({
    segs: `${segsDone}/${segments}`,
    rate: framesDone > 0 ? (framesDone / ((Date.now() - started) / 1000)).toFixed(1) : '-',
  });
  return {
    start: (job) => {
      segments = job.segments;
      duration = job.durationSeconds;
      started = Date.now();
      // Until the frame rate is known the total is a placeholder of one frame per segment.
      bar.start(Math.max(1, segments), 0, payload());
      running = true;
    },
    frameRate: (fps) => {
      if (running) bar.setTotal(Math.max(1, Math.round(duration * fps)));
    },
    frames: (n) => {
      framesDone += n;
      if (running) bar.update(framesDone, payload());
    },
    segment: () => {
      segsDone++;
      if (running) bar.update(framesDone, payload());
    },
    info: (line) => {
      if (running) bar.stop();
      running = false;
      err.write(line + '\n');
    },
    error: (line) => {
      if (running) bar.stop();
      running = false;
      err.write(line + '\n');
    },
    stop: () => {
      if (running) {
        bar.setTotal(Math.max(framesDone, 1));
        bar.update(framesDone, payload());
        bar.stop();
      }
      running = false;
    },
  };
}
