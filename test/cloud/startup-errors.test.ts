// A cloud command that cannot reach what its configuration names (no credentials, no such queue
// or bucket, nothing listening at the endpoint) fails at once: exit code 2, one line naming what is
// missing and how to provide it, no stack trace, and a worker leaves no scratch folder behind.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../src/cloud/object-store/s3-object-store.js';
import { makeSqsClient } from '../../src/cloud/queue/sqs-queue.js';
import { FIXTURE_MODEL, REPO } from './cloud-harness.js';
import { startMoto, type Moto } from './moto-server.js';
import { createFifoQueues } from './sqs-setup.js';

let moto: Moto;
let scratch: string;
let queueUrl: string;

beforeAll(async () => {
  moto = await startMoto();
  scratch = await mkdtemp(path.join(tmpdir(), 'swiftvr-startup-'));
  await makeS3Client({ region: 'us-east-1', endpoint: moto.endpoint }).send(new CreateBucketCommand({ Bucket: 'media' }));
  ({ queueUrl } = await createFifoQueues(makeSqsClient({ region: 'us-east-1', endpoint: moto.endpoint }), 'startup', 3, 30));
}, 60_000);
afterAll(async () => {
  await moto?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Runs `swiftvr <args>` as a process; its TMPDIR is a fresh folder, so leftovers show. */
async function swiftvr(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; err: string; seconds: number; leftovers: string[] }> {
  const tmp = await mkdtemp(path.join(scratch, 'tmp-'));
  const started = Date.now();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('SWIFTVR_')));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), ...args], {
    cwd: REPO,
    env: {
      ...base,
      TMPDIR: tmp,
      // No instance metadata service to wait for, no credentials file from the machine.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'none'),
      AWS_CONFIG_FILE: path.join(tmp, 'none'),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  // The AWS SDK's Node.js version notice is the runtime's, not ours.
  err = err.replace(/\(node:\d+\) (Warning: )?NodeVersionSupportWarning[\s\S]*?--trace-warnings[^\n]*\n/, '');
  return { code, err, seconds: (Date.now() - started) / 1000, leftovers: (await readdir(tmp)).filter((f) => f.startsWith('swiftvr-')) };
}

const DUMMY = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const worker = (queue: string, bucket = 'media'): string[] => [
  'worker',
  '--queue-url',
  queue,
  '--bucket',
  bucket,
  '--endpoint',
  moto.endpoint,
  '--region',
  'us-east-1',
  '--model',
  FIXTURE_MODEL,
  '--ep',
  'cpu',
  '--threads',
  '1',
];

function expectOneLine(r: { code: number | null; err: string; seconds: number }, text: string): void {
  expect(r.code, r.err).toBe(2);
  expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
  expect(r.err).toContain(text);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  expect(r.seconds).toBeLessThan(20);
}

describe('start-up failures exit at once with one line', () => {
  it('a worker on a queue that does not exist exits and removes its scratch folder', async () => {
    const missing = queueUrl.replace(/startup[^/]*$/, 'missing.fifo');
    const r = await swiftvr(worker(missing), DUMMY);
    expectOneLine(r, `swiftvr: queue ${missing} does not exist at ${moto.endpoint}; check --queue-url (SWIFTVR_QUEUE_URL)`);
    expect(r.leftovers).toEqual([]);
  });

  it('a worker on a bucket that does not exist', async () => {
    const r = await swiftvr(worker(queueUrl, 'no-such-bucket'), DUMMY);
    expectOneLine(r, `swiftvr: bucket no-such-bucket does not exist at ${moto.endpoint}; check --bucket (SWIFTVR_BUCKET)`);
    expect(r.leftovers).toEqual([]);
  });

  it('worker, submit and status without AWS credentials say how to provide them', async () => {
    for (const args of [
      worker(queueUrl),
      ['submit', 's3://media/input/a/index.m3u8', '--queue-url', queueUrl, '--endpoint', moto.endpoint],
      ['status', 'a/index', '--bucket', 'media', '--endpoint', moto.endpoint],
    ]) {
      const r = await swiftvr(args, {});
      expectOneLine(r, 'swiftvr: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
      expect(r.err).toContain('a local endpoint such as moto accepts any dummy pair');
      expect(r.leftovers).toEqual([]);
    }
  });

  it('nothing listening at the endpoint', async () => {
    const r = await swiftvr(['status', 'a/index', '--bucket', 'media', '--endpoint', 'http://127.0.0.1:9'], DUMMY);
    expectOneLine(r, 'swiftvr: cannot reach http://127.0.0.1:9 (ECONNREFUSED); check --endpoint (SWIFTVR_ENDPOINT)');
  });
});
