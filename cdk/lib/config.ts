// Deployment configuration, read once from CDK context (`-c swiftvr:KEY=VALUE` or cdk.json)
// into a frozen, validated object. Every key is optional; the defaults deploy a working
// pipeline into any account and region.
import { badInput } from '../../src/errors.js';

/** Where the GPU worker tasks run. */
export type CapacityKind =
  /** ECS Managed Instances: AWS launches, patches and retires the GPU instances. */
  | 'managed-instances'
  /** A classic Auto Scaling group on the GPU-optimised ECS AMI, managed by an ECS capacity provider. */
  | 'asg';

export interface SwiftvrConfig {
  readonly capacity: CapacityKind;
  /** EC2 instance families the GPU instances may come from (Managed Instances), e.g. g5, g6. */
  readonly instanceFamilies: readonly string[];
  /** Instance type of the Auto Scaling group (capacity `asg`). */
  readonly instanceType: string;
  /** Use Spot capacity (Managed Instances only). */
  readonly spot: boolean;
  /** Upper bound of worker tasks (one GPU each). */
  readonly maxTasks: number;
  /** CPU units (1024 = 1 vCPU) and memory per worker task. */
  readonly taskCpu: number;
  readonly taskMemoryMiB: number;
  /** Model the worker loads: a path inside the worker image (its `.json` sidecar beside it). */
  readonly modelPath: string;
  /** Minutes with an empty queue before the workers scale back to zero. */
  readonly idleMinutes: number;
  readonly logRetentionDays: number;
  /** Days a state checkpoint is kept after it was written. */
  readonly checkpointRetentionDays: number;
  /** Key prefix of the source playlists in the media bucket ('' = the whole bucket but the output). */
  readonly sourcePrefix: string;
  /** Key prefix of the restored output in the media bucket; CloudFront serves only this. */
  readonly outputPrefix: string;
  /** Existing media bucket to use instead of creating one (EventBridge notifications on). */
  readonly bucketName?: string;
  /** NAT gateways; 0 (default) puts the workers in public subnets with no inbound rule, so idle costs nothing. */
  readonly natGateways: number;
  /** Address that gets the alarm notifications. */
  readonly alarmEmail?: string;
  /**
   * Live: seconds from a source segment appearing to its restored one being listed; a segment
   * that would be later is published as a plain upscale. Unset: the stream's target duration.
   */
  readonly liveLatencyBudgetSeconds?: number;
  /** Alarm when more than this share of live segments (0..1) in 5 minutes were plain upscales. */
  readonly maxFallbackShare: number;
  /** Where the job events go: an event bus of the stack's own, or the account's default bus. */
  readonly eventBus: 'stack' | 'default';
  /** Address mailed on each job's COMPLETE and ERROR event (an SNS topic and an EventBridge rule). */
  readonly notifyEmail?: string;
}

export const DEFAULT_CONFIG: SwiftvrConfig = Object.freeze({
  capacity: 'managed-instances',
  instanceFamilies: Object.freeze(['g5', 'g6']),
  instanceType: 'g5.xlarge',
  spot: false,
  maxTasks: 4,
  taskCpu: 4096,
  taskMemoryMiB: 14336,
  modelPath: '/app/models/swiftvr-x2.onnx',
  idleMinutes: 10,
  logRetentionDays: 30,
  checkpointRetentionDays: 7,
  sourcePrefix: 'input/',
  outputPrefix: 'output/',
  natGateways: 0,
  maxFallbackShare: 0.1,
  eventBus: 'stack',
});

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export const CONTEXT_PREFIX = 'swiftvr:';

type ContextReader = (key: string) => unknown;

/** Reads the `swiftvr:*` context keys through `get` (e.g. `app.node.tryGetContext`). */
export function readConfig(get: ContextReader): SwiftvrConfig {
  const raw = (key: string): unknown => get(CONTEXT_PREFIX + key);
  const d = DEFAULT_CONFIG;

  const capacity = str(raw, 'capacity') ?? d.capacity;
  if (capacity !== 'managed-instances' && capacity !== 'asg') {
    throw badInput(`${CONTEXT_PREFIX}capacity is '${capacity}'; it must be 'managed-instances' or 'asg'`);
  }
  const instanceFamilies = list(raw, 'instanceFamilies') ?? d.instanceFamilies;
  if (instanceFamilies.length === 0) {
    throw badInput(`${CONTEXT_PREFIX}instanceFamilies is empty; name at least one family, e.g. g5`);
  }
  for (const f of instanceFamilies) {
    if (!/^[a-z][a-z0-9-]*$/.test(f)) {
      throw badInput(`${CONTEXT_PREFIX}instanceFamilies entry '${f}' is not an instance family name like g5 or g6`);
    }
  }
  const instanceType = str(raw, 'instanceType') ?? d.instanceType;
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) {
    throw badInput(`${CONTEXT_PREFIX}instanceType '${instanceType}' is not an instance type like g5.xlarge`);
  }
  const modelPath = str(raw, 'modelPath') ?? d.modelPath;
  if (!modelPath.startsWith('/') || !modelPath.endsWith('.onnx')) {
    throw badInput(`${CONTEXT_PREFIX}modelPath '${modelPath}' must be an absolute path inside the worker image ending in .onnx`);
  }
  const logRetentionDays = int(raw, 'logRetentionDays', 1, 3653) ?? d.logRetentionDays;
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw badInput(
      `${CONTEXT_PREFIX}logRetentionDays is ${logRetentionDays}; CloudWatch Logs accepts only ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  }
  const taskCpu = int(raw, 'taskCpu', 256, 196_608) ?? d.taskCpu;
  if (taskCpu % 256 !== 0) {
    throw badInput(`${CONTEXT_PREFIX}taskCpu is ${taskCpu}; it must be a multiple of 256 CPU units`);
  }
  const spot = bool(raw, 'spot') ?? d.spot;
  if (spot && capacity !== 'managed-instances') {
    throw badInput(`${CONTEXT_PREFIX}spot is true but capacity is '${capacity}'; Spot is offered for 'managed-instances' only`);
  }
  const sourcePrefix = prefix(raw, 'sourcePrefix') ?? d.sourcePrefix;
  const outputPrefix = prefix(raw, 'outputPrefix') ?? d.outputPrefix;
  if (outputPrefix === '') throw badInput(`${CONTEXT_PREFIX}outputPrefix is empty; the output needs its own prefix, e.g. output/`);
  if (sourcePrefix !== '' && (sourcePrefix.startsWith(outputPrefix) || outputPrefix.startsWith(sourcePrefix))) {
    throw badInput(
      `${CONTEXT_PREFIX}sourcePrefix '${sourcePrefix}' and outputPrefix '${outputPrefix}' overlap; the router would take the workers' output for new sources`,
    );
  }
  const config: SwiftvrConfig = {
    capacity,
    instanceFamilies: Object.freeze([...instanceFamilies]),
    instanceType,
    spot,
    maxTasks: int(raw, 'maxTasks', 1, 1000) ?? d.maxTasks,
    taskCpu,
    taskMemoryMiB: int(raw, 'taskMemoryMiB', 1024, 2_000_000) ?? d.taskMemoryMiB,
    modelPath,
    idleMinutes: int(raw, 'idleMinutes', 1, 1440) ?? d.idleMinutes,
    logRetentionDays,
    checkpointRetentionDays: int(raw, 'checkpointRetentionDays', 1, 3650) ?? d.checkpointRetentionDays,
    sourcePrefix,
    outputPrefix,
    bucketName: bucketName(raw, 'bucket'),
    natGateways: int(raw, 'natGateways', 0, 3) ?? d.natGateways,
    alarmEmail: email(raw, 'alarmEmail'),
    liveLatencyBudgetSeconds: num(raw, 'liveLatencyBudgetSeconds', 0.5, 600),
    maxFallbackShare: num(raw, 'maxFallbackShare', 0.01, 0.99) ?? d.maxFallbackShare,
    eventBus: eventBusKind(raw) ?? d.eventBus,
    notifyEmail: email(raw, 'notifyEmail'),
  };
  return Object.freeze(config);
}

type Raw = (key: string) => unknown;

function eventBusKind(raw: Raw): 'stack' | 'default' | undefined {
  const v = str(raw, 'eventBus');
  if (v === undefined) return undefined;
  if (v !== 'stack' && v !== 'default')
    throw badInput(`${CONTEXT_PREFIX}eventBus is '${v}'; it must be 'stack' (a bus of the stack's own) or 'default'`);
  return v;
}

function str(raw: Raw, key: string): string | undefined {
  const v = raw(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    throw badInput(`${CONTEXT_PREFIX}${key} is ${JSON.stringify(v)}; it must be a non-empty string`);
  }
  return v.trim();
}

function list(raw: Raw, key: string): string[] | undefined {
  const v = raw(key);
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v) && v.every((e) => typeof e === 'string')) return v.map((e: string) => e.trim());
  if (typeof v === 'string')
    return v
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
  throw badInput(`${CONTEXT_PREFIX}${key} is ${JSON.stringify(v)}; it must be a comma-separated string or a list of strings`);
}

function int(raw: Raw, key: string, min: number, max: number): number | undefined {
  const v = raw(key);
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw badInput(`${CONTEXT_PREFIX}${key} is ${JSON.stringify(v)}; it must be an integer from ${min} to ${max}`);
  }
  return n;
}

function num(raw: Raw, key: string, min: number, max: number): number | undefined {
  const v = raw(key);
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw badInput(`${CONTEXT_PREFIX}${key} is ${JSON.stringify(v)}; it must be a number from ${min} to ${max}`);
  }
  return n;
}

function bool(raw: Raw, key: string): boolean | undefined {
  const v = raw(key);
  if (v === undefined || v === null) return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badInput(`${CONTEXT_PREFIX}${key} is ${JSON.stringify(v)}; it must be true or false`);
}

function bucketName(raw: Raw, key: string): string | undefined {
  const v = str(raw, key);
  if (v === undefined) return undefined;
  // S3 naming rules: 3-63 characters, lower case, digits, dots and hyphens, starting and ending alphanumeric.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v)) {
    throw badInput(`${CONTEXT_PREFIX}${key} '${v}' is not a valid S3 bucket name (3-63 lower-case letters, digits, '.', '-')`);
  }
  return v;
}

function prefix(raw: Raw, key: string): string | undefined {
  const v = raw(key);
  if (v === undefined || v === null || v === '') return v === '' ? '' : undefined;
  const p = str(raw, key)!;
  if (p.startsWith('/') || !/^[A-Za-z0-9._\-/]+$/.test(p) || p.split('/').some((part) => part === '.' || part === '..')) {
    throw badInput(`${CONTEXT_PREFIX}${key} '${p}' must be a relative key prefix of letters, digits and . _ - / with no . or .. parts`);
  }
  return p.endsWith('/') ? p : `${p}/`;
}

function email(raw: Raw, key: string): string | undefined {
  const v = str(raw, key);
  if (v === undefined) return undefined;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) {
    throw badInput(`${CONTEXT_PREFIX}${key} '${v}' is not an e-mail address`);
  }
  return v;
}
