// Starts moto in server mode on a free loopback port for one test file, and stops it after.
// moto speaks the real S3 and SQS wire protocols, so the AWS SDK runs unmodified against it.

import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { makeS3Client, S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { makeSqsClient } from '../../src/cloud/queue/sqs-queue.js';

export const MOTO_BIN = path.resolve(import.meta.dirname, '../../.venv/bin/moto_server');

export interface Moto {
  readonly endpoint: string;
  /** Environment for child processes that talk to this moto. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<Moto> {
  if (!existsSync(MOTO_BIN)) {
    throw new Error(`${MOTO_BIN} is missing: run .ci/setup --dev (it installs moto[server] from test/requirements.txt)`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
  Object.assign(process.env, env);
  const child: ChildProcess = spawn(MOTO_BIN, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${endpoint}/moto-api/data.json`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    env: { ...env, SWIFTVR_AWS_ENDPOINT: endpoint },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface MotoBucket {
  readonly moto: Moto;
  readonly store: S3ObjectStore;
  readonly sqs: SQSClient;
}

/** moto with one bucket, its object store and an SQS client: the set-up of every cloud test file. */
export async function startMotoWithBucket(bucket: string): Promise<MotoBucket> {
  const moto = await startMoto();
  const s3 = makeS3Client({ region: 'us-east-1', endpoint: moto.endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { moto, store: new S3ObjectStore({ bucket, client: s3 }), sqs: makeSqsClient({ region: 'us-east-1', endpoint: moto.endpoint }) };
}
