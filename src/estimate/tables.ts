// The two tables an estimate is made from, both schema-checked when read:
// - measured.json: frames/s of `swiftvr restore` per instance type (and the local CPU), each row a
//   measurement with its hardware, date and command; and the output bits per pixel measured per
//   CRF. Nothing in it is guessed: an instance type without a row is "not measured".
// - prices.json: the price of an instance-hour per instance type (configuration: a deployment
//   replaces it with its own region's and contract's prices through --prices or SWIFTVR_PRICES).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { badInput, SwiftvrError } from '../errors.js';
import { describeIssues } from '../util/zod-issues.js';
import shippedMeasured from './measured.json' with { type: 'json' };
import shippedPrices from './prices.json' with { type: 'json' };

/** The instance type name of a run on the machine the CLI runs on (CPU provider). */
export const LOCAL = 'local';

const text = z.string().min(1, 'must be a non-empty string');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

const throughputRow = z.object({
  /** An EC2 instance type, or `local` for the CPU of the machine measured. */
  instanceType: text,
  /** What ran it: CPU model and cores, or GPU; execution provider. */
  hardware: text,
  provider: z.enum(['cpu', 'cuda']),
  /** The model's name (its sidecar's `name`): figures hold for that model only. */
  model: text,
  /** Output picture size of the measurement. */
  outputWidth: z.number().int().min(2),
  outputHeight: z.number().int().min(2),
  /** Frames per second once running (the slope of wall seconds over frames). */
  fps: z.number().gt(0),
  /** Seconds before the first frame: start, model load, planning (the intercept). */
  startupSeconds: z.number().min(0),
  date: day,
  command: text,
});

const outputBitsRow = z.object({
  crf: z.number().int().min(0).max(51),
  bitsPerPixel: z
    .object({ low: z.number().gt(0), median: z.number().gt(0), high: z.number().gt(0) })
    .refine((b) => b.low <= b.median && b.median <= b.high, { message: 'must hold low <= median <= high' }),
  clips: text,
  hardware: text,
  date: day,
  command: text,
});

const measuredSchema = z.object({ throughput: z.array(throughputRow), outputBits: z.array(outputBitsRow) });

const pricesSchema = z.object({
  currency: text,
  basis: text,
  asOf: text,
  instances: z.record(
    z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an instance type like g5.xlarge'),
    z.object({ gpu: text, perHour: z.number().min(0) }),
  ),
});

export type ThroughputRow = Readonly<z.infer<typeof throughputRow>>;
export type OutputBitsRow = Readonly<z.infer<typeof outputBitsRow>>;
export type MeasuredTable = Readonly<z.infer<typeof measuredSchema>>;
export type PriceTable = Readonly<z.infer<typeof pricesSchema>>;

function check<T>(schema: z.ZodType<T>, json: unknown, where: string, kind: 'bad-input' | 'internal'): T {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  throw new SwiftvrError(kind, `${where} is not a valid table: ${describeIssues(r.error)}`);
}

/** The shipped measurements (checked: a malformed row is a packaging fault). */
export const measuredTable = (): MeasuredTable => check(measuredSchema, shippedMeasured, 'src/estimate/measured.json', 'internal');

/** The price table: the file given (--prices / SWIFTVR_PRICES), else the shipped one. */
export function priceTable(path?: string): PriceTable {
  if (path === undefined || path === '') return check(pricesSchema, shippedPrices, 'src/estimate/prices.json', 'internal');
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    throw badInput(`price table ${path} cannot be read; give a JSON file like src/estimate/prices.json`);
  }
  if (raw.length > 1_000_000) throw badInput(`price table ${path} is ${raw.length} bytes; it must be under 1 MB`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw badInput(`price table ${path} is not JSON (${(e as Error).message})`);
  }
  return check(pricesSchema, json, `price table ${path}`, 'bad-input');
}
