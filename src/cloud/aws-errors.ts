// AWS failures that mean the deployment's configuration is wrong (no credentials, a queue or
// bucket that does not exist, an endpoint that does not answer), turned into one line that names
// what is missing and how to provide it. Anything else passes through unchanged.
import { SwiftvrError } from '../errors.js';

export interface CloudWhere {
  readonly queueUrl?: string;
  readonly bucket?: string;
  readonly endpoint?: string;
  readonly region?: string;
}

const CREDENTIALS =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run where a role provides them (an ECS task role); ' +
  'a local endpoint such as moto accepts any dummy pair';

/** The error's AWS name or Node.js system error code, also looked up on its causes. */
function codesOf(e: unknown): string[] {
  const out: string[] = [];
  for (let x: unknown = e, depth = 0; x !== null && typeof x === 'object' && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const o = x as { name?: unknown; code?: unknown; Code?: unknown; errors?: unknown };
    for (const v of [o.name, o.code, o.Code]) if (typeof v === 'string') out.push(v);
    // AggregateError from a connection tried on several addresses.
    if (Array.isArray(o.errors)) for (const inner of o.errors) out.push(...codesOf(inner));
  }
  return out;
}

export function explainCloudError(e: unknown, where: CloudWhere): unknown {
  // Store and queue errors arrive wrapped (a SwiftvrError naming the operation); the AWS error is
  // their cause. Errors of the program's own kinds pass through.
  if (e instanceof SwiftvrError && (e.cause === undefined || e.kind === 'config' || e.kind === 'bad-input' || e.kind === 'usage')) return e;
  const codes = codesOf(e instanceof SwiftvrError ? e.cause : e);
  const has = (...names: string[]): boolean => names.some((n) => codes.includes(n));
  const inner = e instanceof SwiftvrError ? e.cause : e;
  const message = inner instanceof Error ? inner.message : String(inner);
  const at = where.endpoint !== undefined ? ` at ${where.endpoint}` : where.region !== undefined ? ` in ${where.region}` : '';
  const config = (text: string): SwiftvrError => new SwiftvrError('config', text, { cause: e });
  if (has('CredentialsProviderError') || /Could not load credentials/.test(message)) {
    return config(`no AWS credentials found: ${CREDENTIALS}`);
  }
  if (
    has(
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'InvalidClientTokenId',
      'UnrecognizedClientException',
      'ExpiredToken',
      'ExpiredTokenException',
    )
  ) {
    return config(`AWS refused the credentials${at} (${codes[0]}: ${message}); ${CREDENTIALS}`);
  }
  if (has('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue')) {
    return config(
      `queue ${where.queueUrl ?? '(unnamed)'} does not exist${at}; check --queue-url (SWIFTVR_QUEUE_URL) and --region (AWS_REGION)`,
    );
  }
  if (has('NoSuchBucket')) {
    return config(`bucket ${where.bucket ?? '(unnamed)'} does not exist${at}; check --bucket (SWIFTVR_BUCKET) and --region (AWS_REGION)`);
  }
  if (has('AccessDenied', 'AccessDeniedException', 'AWS.SimpleQueueService.AccessDenied')) {
    return config(`AWS denied access${at} (${message}); the credentials' role needs the worker's permissions (docs/deploy.md)`);
  }
  if (has('ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNRESET')) {
    const code = codes.find((c) => /^E[A-Z_]+$/.test(c));
    return config(
      `cannot reach ${where.endpoint ?? `AWS in ${where.region ?? 'the configured region'}`} (${code}); check --endpoint (SWIFTVR_ENDPOINT) and --region (AWS_REGION)`,
    );
  }
  return e;
}
