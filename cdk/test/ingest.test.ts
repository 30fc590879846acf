import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMoto } from '../../test/cloud/moto-server.js';
import { createFifoQueues } from '../../test/cloud/sqs-setup.js';
import { Ingest } from '../lib/ingest.js';
import { actionsOf, type Json, newApp, only, policyStatements, removeScratch, scratchDir } from './helpers.js';

let template: Template;
let outdir: string;

beforeAll(() => {
  const app = newApp();
  const stack = new Stack(app, 'Ingest');
  const bucket = new s3.Bucket(stack, 'Media');
  new Ingest(stack, 'Ingest', { bucket, sourcePrefix: 'input/', outputPrefix: 'output/', logRetention: logs.RetentionDays.ONE_MONTH });
  template = Template.fromStack(stack);
  outdir = app.outdir;
});

afterAll(removeScratch);

/** The esbuild output of the router in the cloud assembly. */
function routerBundle(): string {
  const key = ((only(template, 'AWS::Lambda::Function').props.Code as Json).S3Key as string).replace(/\.zip$/, '');
  return path.join(outdir, `asset.${key}`, 'index.mjs');
}

const queues = (): [string, Json][] => Object.entries(template.findResources('AWS::SQS::Queue')) as [string, Json][];

describe('Ingest', () => {
  it('has a FIFO job queue deduplicated per stream, encrypted, whose failures go to a FIFO DLQ after 5 receives', () => {
    const fifo = queues().filter(([, q]) => (q.Properties as Json).FifoQueue === true);
    expect(fifo).toHaveLength(2);
    const job = fifo.find(([, q]) => (q.Properties as Json).RedrivePolicy !== undefined);
    const dlq = fifo.find(([, q]) => (q.Properties as Json).RedrivePolicy === undefined);
    expect(job && dlq).toBeTruthy();
    expect(job![1].Properties).toMatchObject({
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 30,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq![0], 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(dlq![1].Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('refuses non-TLS access to every queue', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as Json[];
    expect(policies).toHaveLength(queues().length);
    for (const p of policies) {
      expect(((p.Properties as Json).PolicyDocument as Json).Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      );
    }
  });

  it('routes only playlist writes under the source prefix of this bucket to the router, with retries and a DLQ', () => {
    const rule = only(template, 'AWS::Events::Rule');
    expect(rule.props.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [{ Ref: expect.stringMatching(/^Media/) }] }, object: { key: [{ wildcard: 'input/*.m3u8' }] } },
    });
    const target = (rule.props.Targets as Json[])[0]!;
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 7200, MaximumRetryAttempts: 8 });
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.stringMatching(/RouterFailureQueue/), 'Arn'] } });
  });

  it('runs the router from src/cloud/router-lambda.ts with the environment its header names', () => {
    const fn = only(template, 'AWS::Lambda::Function');
    expect(fn.props).toMatchObject({
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: { QUEUE_URL: { Ref: expect.stringMatching(/JobQueue/) }, SOURCE_PREFIX: 'input/', OUTPUT_PREFIX: 'output/' },
      },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [expect.stringMatching(/RouterFailureQueue/), 'Arn'] } },
      LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/RouterLogs/) } },
    });
    const header = readFileSync(path.resolve(__dirname, '../../src/cloud/router-lambda.ts'), 'utf8').split('*/')[0]!;
    for (const name of ['QUEUE_URL', 'SOURCE_PREFIX', 'OUTPUT_PREFIX']) expect(header).toContain(`\`${name}\``);
  });

  it('bundles the router locally with esbuild into an ES module that exports handler', () => {
    const bundle = routerBundle();
    expect(existsSync(bundle)).toBe(true);
    const code = readFileSync(bundle, 'utf8');
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // Self-contained: it loads from a folder with no node_modules anywhere above it.
    const alone = scratchDir('swiftvr-router-');
    copyFileSync(bundle, path.join(alone, 'index.mjs'));
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const m = await import("./index.mjs"); console.log(typeof m.handler, m.readRouterEnv(process.env).queueUrl);',
      ],
      {
        cwd: alone,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/jobs.fifo',
          SOURCE_PREFIX: 'input/',
          OUTPUT_PREFIX: 'output/',
          AWS_REGION: 'eu-west-1',
        },
      },
    );
    expect(probe.stderr).toBe('');
    expect(probe.stdout).toBe('function https://sqs.eu-west-1.amazonaws.com/1/jobs.fifo\n');
  });

  it('runs as the Lambda would (bundle alone, environment from the template) and queues a playlist event on an AWS-protocol server', async () => {
    const moto = await startMoto();
    try {
      const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
      const sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.endpoint });
      await s3.send(new CreateBucketCommand({ Bucket: 'media' }));
      const { queueUrl } = await createFifoQueues(sqs, 'jobs', 5, 30);
      for (const sn of [0, 1]) {
        await s3.send(new PutObjectCommand({ Bucket: 'media', Key: `input/show/seg_${sn}.ts`, Body: new Uint8Array(188) }));
      }
      const playlist =
        '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:4.0,\nseg_0.ts\n#EXTINF:4.0,\nseg_1.ts\n#EXT-X-ENDLIST\n';
      await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'input/show/index.m3u8', Body: playlist }));

      const vars = (only(template, 'AWS::Lambda::Function').props.Environment as Json).Variables as Json;
      const alone = scratchDir('swiftvr-router-run-');
      copyFileSync(routerBundle(), path.join(alone, 'index.mjs'));
      const event = {
        source: 'aws.s3',
        'detail-type': 'Object Created',
        detail: { bucket: { name: 'media' }, object: { key: 'input/show/index.m3u8', etag: 'e1' } },
      };
      const run = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import("./index.mjs"); console.log(JSON.stringify(await m.handler(${JSON.stringify(event)})));`,
        ],
        {
          cwd: alone,
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            PATH: process.env.PATH ?? '',
            ...moto.env,
            SWIFTVR_ENDPOINT: moto.endpoint,
            QUEUE_URL: queueUrl,
            SOURCE_PREFIX: vars.SOURCE_PREFIX as string,
            OUTPUT_PREFIX: vars.OUTPUT_PREFIX as string,
          },
        },
      );
      expect(run.status, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Json;
      expect(result).toEqual({ action: 'queued', key: 'input/show/index.m3u8', job: 'show/index', sns: [0, 1] });
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      expect(got.Messages?.map((m) => m.Attributes?.MessageGroupId)).toEqual(['show/index', 'show/index']);
      expect(got.Messages?.map((m) => (JSON.parse(m.Body!) as { segment: { sn: number } }).segment.sn)).toEqual([0, 1]);
    } finally {
      await moto.stop();
    }
  });

  it('gives the router exact actions only: send to the job queue, read sources, read and write the output prefix', () => {
    const statements = policyStatements(template).filter((s) => s.owner.includes('RouterRole'));
    for (const { statement } of statements) for (const a of actionsOf(statement)) expect(a).not.toContain('*');
    const s3 = statements.map((s) => s.statement).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [expect.anything(), '/input/*']] } }),
        expect.objectContaining({
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: { 'Fn::Join': ['', [expect.anything(), '/output/*']] },
        }),
        expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['input/*'] } } }),
      ]),
    );
    expect(s3.some((s) => JSON.stringify(s.Resource).endsWith('/*"]]}') && !/\/(input|output)\/\*/.test(JSON.stringify(s.Resource)))).toBe(
      false,
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
          Match.objectLike({ Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'] }),
        ]),
      },
    });
    // No AWS managed policy on the router's role.
    expect((only(template, 'AWS::IAM::Role').props.ManagedPolicyArns as unknown[] | undefined) ?? []).toEqual([]);
  });

  it('keeps router logs for the configured retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});
