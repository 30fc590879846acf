// `swiftvr restore <input> --out <dir> [...]`: flags are read once into a frozen, validated
// object, then the pipeline runs with progress reported as the user asked.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ExecutionProvider, ReportMode } from '../types.js';
import { SwiftvrError, usageError } from '../errors.js';
import { restore } from '../pipeline/restore.js';
import type { EncoderChoice } from '../pipeline/segment-step.js';
import { DEFAULT_CRF } from '../media/encoder.js';
import { createProgressReporter } from '../report/progress.js';
import { jsonLinesSink } from '../events/job-events.js';
import type { CliIo, Command } from './command.js';
import { intFlag, parseFailure } from './flags.js';
import { defaultModelPath } from './package-root.js';

export const RESTORE_USAGE = `usage: swiftvr restore <input> --out <dir> [options]

  <input>              HLS playlist (multivariant or media; a path or an http(s) URL)
                       or a plain video file (mp4, mkv, mov, ts), cut into HLS first
  --out <dir>          output folder: restored rendition, multivariant playlist, compare.html
  --model <onnx>       model file with its JSON sidecar (default: models/swiftvr-x2.onnx)
  --ep cpu|cuda        onnxruntime execution provider (default: cuda when present, else cpu)
  --chunk-frames <N>   frames per model call, 1..t_max of the model (default: t_max)
  --variant <V>        which variant of a multivariant input to restore: a 0-based index in
                       playlist order, its URI or its resolution WxH (default: highest BANDWIDTH)
  --encoder <name>     libx264, h264_nvenc or auto (default: auto: h264_nvenc when present);
                       HDR sources (PQ, HLG) are always encoded with libx265 as HEVC Main 10
  --crf <N>            output quality, 0..51: libx264 CRF or h264_nvenc CQ, lower is better
                       (default: ${DEFAULT_CRF}); 0 with libx264 is lossless (High 4:4:4 profile)
  --fallback-plain     a segment whose restore fails (other than for bad input) is published as a
                       plain bicubic upscale, marked in --json, instead of failing the job
  --allow-host <host>  also accept segment URIs on this host (repeatable)
  --quiet              print errors only
  --json               print the job's events as JSON lines (docs/events.md): SUBMITTED,
                       PROGRESSING at each segment (with the segment: sn, frames, fps, fallback,
                       changed, boundaryFlicker, picture) and between segments, COMPLETE or ERROR
  --progress-every <s> with --json, PROGRESSING between segments at most every <s> seconds
                       (default 5)
  -h, --help           show this help`;

export interface RestoreConfig {
  readonly input: string;
  readonly out: string;
  readonly model: string;
  readonly ep: ExecutionProvider | 'auto';
  readonly chunkFrames?: number;
  readonly variant?: number | string;
  readonly encoder: EncoderChoice;
  readonly quality?: number;
  readonly fallbackPlain: boolean;
  readonly allowedHosts: readonly string[];
  readonly report: ReportMode;
  readonly progressEveryMs?: number;
}

/** Parses and validates the flags; throws a usage error naming the flag and the rule. */
export function parseRestoreArgs(argv: readonly string[]): RestoreConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        model: { type: 'string' },
        ep: { type: 'string' },
        'chunk-frames': { type: 'string' },
        variant: { type: 'string' },
        encoder: { type: 'string' },
        crf: { type: 'string' },
        'fallback-plain': { type: 'boolean' },
        'allow-host': { type: 'string', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        json: { type: 'boolean' },
        'progress-every': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw parseFailure(e, RESTORE_USAGE);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (parsed.positionals.length !== 1) {
    throw usageError(
      `restore takes exactly one <input>; got ${parsed.positionals.length}${parsed.positionals.length > 1 ? ` (${parsed.positionals.join(' ')})` : ''}\n\n${RESTORE_USAGE}`,
    );
  }
  if (v.out === undefined || v.out === '') throw usageError(`--out <dir> is required\n\n${RESTORE_USAGE}`);
  const ep = v.ep ?? 'auto';
  if (ep !== 'cpu' && ep !== 'cuda' && ep !== 'auto') throw usageError(`--ep is ${JSON.stringify(ep)}; it must be cpu or cuda`);
  const encoder = v.encoder ?? 'auto';
  if (encoder !== 'libx264' && encoder !== 'h264_nvenc' && encoder !== 'auto') {
    throw usageError(`--encoder is ${JSON.stringify(encoder)}; it must be libx264, h264_nvenc or auto`);
  }
  if (v.quiet === true && v.json === true) throw usageError('--quiet and --json cannot be used together; pick one');
  const chunkFrames = intFlag('chunk-frames', v['chunk-frames'], 1);
  const quality = intFlag('crf', v.crf, 0);
  if (quality !== undefined && quality > 51) throw usageError(`--crf is ${quality}; it must be an integer from 0 to 51`);
  const every = v['progress-every'];
  if (every !== undefined && !(/^\d+(\.\d+)?$/.test(every) && Number(every) > 0 && Number(every) <= 3600)) {
    throw usageError(`--progress-every is ${JSON.stringify(every)}; it must be a number of seconds above 0 and at most 3600`);
  }
  if (every !== undefined && v.json !== true) throw usageError('--progress-every needs --json (it paces the JSON events)');
  const variant = v.variant === undefined ? undefined : /^\d+$/.test(v.variant) ? Number(v.variant) : v.variant;
  if (variant === '') throw usageError('--variant is ""; it must be an index, a URI or WxH');
  const model = v.model ?? defaultModelPath();
  if (!existsSync(model)) {
    throw new SwiftvrError(
      v.model === undefined ? 'missing-dependency' : 'bad-input',
      v.model === undefined
        ? `the default model ${model} does not exist yet; train and export it (see models/README.md) or pass --model <onnx>`
        : `--model ${model} does not exist`,
    );
  }
  return Object.freeze({
    input: parsed.positionals[0]!,
    out: v.out,
    model,
    ep,
    encoder,
    fallbackPlain: v['fallback-plain'] === true,
    allowedHosts: Object.freeze([...(v['allow-host'] ?? [])]),
    report: v.json === true ? 'json' : v.quiet === true ? 'quiet' : 'bar',
    ...(chunkFrames !== undefined ? { chunkFrames } : {}),
    ...(quality !== undefined ? { quality } : {}),
    ...(variant !== undefined ? { variant } : {}),
    ...(every !== undefined ? { progressEveryMs: Number(every) * 1000 } : {}),
  });
}

export const restoreCommand: Command = {
  usage: RESTORE_USAGE,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const config = parseRestoreArgs(argv);
    if (config === 'help') {
      io.stdout.write(RESTORE_USAGE + '\n');
      return 0;
    }
    const progress = createProgressReporter(config.report, { out: io.stdout, err: io.stderr });
    try {
      const summary = await restore({
        input: config.input,
        outDir: config.out,
        modelPath: config.model,
        ep: config.ep,
        encoder: config.encoder,
        allowedHosts: config.allowedHosts,
        signal: io.signal,
        progress,
        ...(config.chunkFrames !== undefined ? { chunkFrames: config.chunkFrames } : {}),
        ...(config.quality !== undefined ? { quality: config.quality } : {}),
        fallbackPlain: config.fallbackPlain,
        ...(config.variant !== undefined ? { variant: config.variant } : {}),
        ...(config.report === 'json' ? { events: jsonLinesSink(io.stdout) } : {}),
        ...(config.progressEveryMs !== undefined ? { progressEveryMs: config.progressEveryMs } : {}),
      });
      progress.stop();
      if (config.report === 'bar') {
        const fps = summary.seconds > 0 ? summary.frames / summary.seconds : 0;
        io.stderr.write(
          `restored ${summary.segments.length} segments, ${summary.frames} frames in ${summary.seconds.toFixed(1)} s ` +
            `(${fps.toFixed(1)} fps, ${summary.provider})\n` +
            `  playlist: ${summary.multivariantPath}\n  compare:  ${summary.comparePagePath}\n  report:   ${summary.reportPath}\n`,
        );
      }
      return 0;
    } finally {
      progress.stop();
    }
  },
};
