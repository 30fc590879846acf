import { readFileSync, readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_ENV } from '../../src/cloud/config.js';
import { backlogSteps, Workers, type WorkerCapacity } from '../lib/workers.js';
import { REPO_ROOT } from '../lib/paths.js';
import { actionsOf, type Json, newApp, only, policyStatements, removeScratch } from './helpers.js';

let mi: Template;
let asg: Template;
let outdir: string;

beforeAll(() => {
  const app = newApp();
  const make = (id: string, capacity: WorkerCapacity): Stack => {
    const stack = new Stack(app, id);
    const deadLetterQueue = new sqs.Queue(stack, 'DeadLetters', { fifo: true });
    const queue = new sqs.Queue(stack, 'Jobs', {
      fifo: true,
      visibilityTimeout: Duration.seconds(30),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
    });
    const bucket = new s3.Bucket(stack, 'Media');
    new Workers(stack, 'Workers', {
      capacity,
      queue,
      deadLetterQueue,
      bucket,
      sourcePrefix: 'input/',
      outputPrefix: 'output/',
      modelPath: '/app/models/swiftvr-x2.onnx',
      maxTasks: 6,
      idleMinutes: 15,
      logRetention: logs.RetentionDays.TWO_WEEKS,
    });
    return stack;
  };
  const a = make('ManagedInstances', { kind: 'managed-instances', instanceFamilies: ['g5', 'g6'] });
  const b = make('Asg', { kind: 'asg', instanceType: 'g5.xlarge' });
  mi = Template.fromStack(a);
  asg = Template.fromStack(b);
  outdir = app.outdir;
});

afterAll(removeScratch);

const container = (t: Template): Json => (only(t, 'AWS::ECS::TaskDefinition').props.ContainerDefinitions as Json[])[0]!;

describe('Workers: capacity', () => {
  it('defaults to ECS Managed Instances with one NVIDIA GPU per instance from the chosen families', () => {
    const cp = only(mi, 'AWS::ECS::CapacityProvider').props;
    const req = ((cp.ManagedInstancesProvider as Json).InstanceLaunchTemplate as Json).InstanceRequirements as Json;
    expect(req).toMatchObject({
      AcceleratorManufacturers: ['nvidia'],
      AcceleratorTypes: ['gpu'],
      AcceleratorCount: { Min: 1, Max: 1 },
      AllowedInstanceTypes: ['g5.*', 'g6.*'],
      VCpuCount: { Min: 4 },
      MemoryMiB: { Min: 15 * 1024 },
    });
    mi.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
    // A Managed Instances provider belongs to its cluster directly, in the cluster's public subnets.
    expect(cp.ClusterName).toEqual({ Ref: expect.stringMatching(/Cluster/) });
    const subnets = (((cp.ManagedInstancesProvider as Json).InstanceLaunchTemplate as Json).NetworkConfiguration as Json).Subnets as Json[];
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    for (const s of subnets) expect(JSON.stringify(s)).toMatch(/publicSubnet/);
  });

  it('offers an Auto Scaling group on the GPU-optimised ECS AMI, resolved from SSM at deploy time, starting at zero', () => {
    asg.resourceCountIs('AWS::ECS::CapacityProvider', 1);
    asg.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: Match.arrayWith([{ Ref: Match.stringLikeRegexp('AsgCapacityProvider') }]),
    });
    const provider = only(asg, 'AWS::ECS::CapacityProvider').props.AutoScalingGroupProvider as Json;
    expect(provider).toMatchObject({
      ManagedScaling: { Status: 'ENABLED', TargetCapacity: 100 },
      ManagedTerminationProtection: 'ENABLED',
    });
    expect(only(asg, 'AWS::AutoScaling::AutoScalingGroup').props).toMatchObject({ MinSize: '0', MaxSize: '6' });
    const params = asg.toJSON().Parameters as Json;
    const ami = Object.values(params).find((p) => String((p as Json).Default).includes('/gpu/'));
    expect(ami).toEqual({
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      Default: '/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id',
    });
    const lt = only(asg, 'AWS::EC2::LaunchTemplate').props.LaunchTemplateData as Json;
    expect(lt).toMatchObject({
      InstanceType: 'g5.xlarge',
      MetadataOptions: { HttpTokens: 'required' },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 100, VolumeType: 'gp3' } }],
      NetworkInterfaces: [expect.objectContaining({ AssociatePublicIpAddress: true })],
      UserData: { 'Fn::Base64': { 'Fn::Join': ['', ['#!/bin/bash\necho ECS_CLUSTER=', expect.anything(), ' >> /etc/ecs/ecs.config']] } },
    });
  });
});

describe('Workers: task', () => {
  it('reserves one GPU per task and runs with host networking (no NAT, no inbound)', () => {
    for (const t of [mi, asg]) {
      expect(container(t).ResourceRequirements).toEqual([{ Type: 'GPU', Value: '1' }]);
      expect(only(t, 'AWS::ECS::TaskDefinition').props).toMatchObject({ NetworkMode: 'host', Cpu: '4096', Memory: '14336' });
      t.resourceCountIs('AWS::EC2::NatGateway', 0);
      const sg = only(t, 'AWS::EC2::SecurityGroup').props;
      expect(sg.SecurityGroupIngress).toBeUndefined();
    }
    expect(only(mi, 'AWS::ECS::TaskDefinition').props.RequiresCompatibilities).toEqual(['EC2', 'MANAGED_INSTANCES']);
    expect(only(asg, 'AWS::ECS::TaskDefinition').props.RequiresCompatibilities).toEqual(['EC2']);
  });

  it('configures the worker with variables `swiftvr worker` reads (src/cloud/config.ts)', () => {
    const env = Object.fromEntries((container(mi).Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    // Flags' variables, plus the heartbeat file (worker-command.ts) and its age limit (the health check).
    const readers = [path.join(REPO_ROOT, 'src', 'cli', 'worker-command.ts'), path.join(REPO_ROOT, 'containers', 'healthcheck.mjs')]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const name of Object.keys(env)) {
      const known = (Object.values(CLOUD_ENV) as string[]).includes(name) || readers.includes(`process.env.${name}`);
      expect(known, `${name} is not read by the worker or its health check`).toBe(true);
    }
    expect(env).toMatchObject({
      SWIFTVR_QUEUE_URL: { Ref: expect.stringMatching(/^Jobs/) },
      SWIFTVR_BUCKET: { Ref: expect.stringMatching(/^Media/) },
      SWIFTVR_SOURCE_PREFIX: 'input/',
      SWIFTVR_OUTPUT_PREFIX: 'output/',
      SWIFTVR_MODEL: '/app/models/swiftvr-x2.onnx',
      SWIFTVR_EP: 'cuda',
      SWIFTVR_CONCURRENCY: '1',
      SWIFTVR_VISIBILITY_TIMEOUT: '30',
      AWS_REGION: { Ref: 'AWS::Region' },
      SWIFTVR_HEARTBEAT_FILE: '/tmp/swiftvr-worker.heartbeat',
      SWIFTVR_HEARTBEAT_MAX_AGE_S: '120',
    });
  });

  it('drains on SIGTERM under an init process, checks its health, and logs with retention', () => {
    const c = container(mi);
    expect(c.StopTimeout).toBe(120);
    expect(c.LinuxParameters).toMatchObject({ InitProcessEnabled: true });
    expect(c.HealthCheck).toMatchObject({ Command: ['CMD', 'node', '/app/containers/healthcheck.mjs'], StartPeriod: 120 });
    expect((c.LogConfiguration as Json).LogDriver).toBe('awslogs');
    mi.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it('builds the image from containers/Dockerfile with the repository root as context, sending only the allowlist', () => {
    const assets = JSON.parse(readFileSync(path.join(outdir, 'ManagedInstances.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform?: string } }>;
    };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: 'containers/Dockerfile', platform: 'linux/amd64' });
    const staged = path.join(outdir, images[0]!.source.directory);
    const top = readdirSync(staged).sort();
    expect(top).toEqual(expect.arrayContaining(['containers', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']));
    for (const never of ['node_modules', '.venv', 'cdk', 'test', '.git', 'docs', 'out']) expect(top).not.toContain(never);
    expect(readdirSync(path.join(staged, 'containers'))).toEqual(['healthcheck.mjs']);
    expect(existsSync(path.join(staged, 'src', 'cli', 'main.ts'))).toBe(true);
  });
});

describe('Workers: permissions', () => {
  it('grants exact actions: consume and fan out on the queue, dead-letter bad input, read sources, write output, protect its own tasks', () => {
    const statements = policyStatements(mi)
      .filter((s) => s.owner.includes('TaskRole'))
      .map((s) => s.statement);
    for (const s of statements) for (const a of actionsOf(s)) expect(a).not.toContain('*');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
            'sqs:SendMessage',
          ],
        }),
        expect.objectContaining({
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DeadLetters/), 'Arn'] },
        }),
        expect.objectContaining({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [expect.anything(), '/input/*']] } }),
        expect.objectContaining({
          Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
          Resource: { 'Fn::Join': ['', [expect.anything(), '/output/*']] },
        }),
        expect.objectContaining({
          Action: ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':ecs:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':task/',
                { Ref: expect.stringMatching(/Cluster/) },
                '/*',
              ],
            ],
          },
        }),
      ]),
    );
    // Nothing may delete media.
    expect(statements.flatMap(actionsOf)).not.toContain('s3:DeleteObject');
  });
});

describe('Workers: scaling on the queue backlog', () => {
  it('starts with no task and lets Application Auto Scaling move between 0 and maxTasks', () => {
    expect(only(mi, 'AWS::ECS::Service').props).toMatchObject({
      DesiredCount: 0,
      CapacityProviderStrategy: [{ CapacityProvider: { Ref: expect.stringMatching(/ManagedInstances/) }, Weight: 1 }],
    });
    // Host networking: the Managed Instances service carries no awsvpc configuration.
    expect(only(mi, 'AWS::ECS::Service').props.NetworkConfiguration).toBeUndefined();
    expect(only(mi, 'AWS::ApplicationAutoScaling::ScalableTarget').props).toMatchObject({
      MinCapacity: 0,
      MaxCapacity: 6,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
  });

  it('scales out from zero on the first visible or in-flight message, in exact steps', () => {
    const alarms = mi.findResources('AWS::CloudWatch::Alarm');
    const out = Object.values(alarms).find((a) => ((a as Json).Properties as Json).ComparisonOperator === 'GreaterThanThreshold') as Json;
    const props = out.Properties as Json;
    expect(props).toMatchObject({ Threshold: 0.5, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const metrics = props.Metrics as Json[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('visible + inflight');
    expect(
      metrics
        .filter((m) => m.MetricStat)
        .map((m) => ((m.MetricStat as Json).Metric as Json).MetricName)
        .sort(),
    ).toEqual(['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible']);
    const policies = Object.values(mi.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')).map(
      (p) => (p as Json).Properties as Json,
    );
    const steps = policies.map((p) => p.StepScalingPolicyConfiguration as Json).find((c) => (c.StepAdjustments as Json[]).length > 1)!;
    expect(steps.AdjustmentType).toBe('ExactCapacity');
    // Bounds are relative to the threshold (0.5): backlog 1-9 -> 1 task, 10-19 -> 2, 20-39 -> 4, 40+ -> 6.
    const tasksFor = (backlog: number): number => {
      const diff = backlog - 0.5;
      const step = (steps.StepAdjustments as Json[]).find(
        (a) =>
          diff >= (a.MetricIntervalLowerBound as number) &&
          (a.MetricIntervalUpperBound === undefined || diff < (a.MetricIntervalUpperBound as number)),
      );
      return step!.ScalingAdjustment as number;
    };
    expect([1, 9, 10, 19, 20, 39, 40, 500].map(tasksFor)).toEqual([1, 1, 2, 2, 4, 4, 6, 6]);
    expect(steps.StepAdjustments).toEqual([
      { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 9, ScalingAdjustment: 1 },
      { MetricIntervalLowerBound: 9, MetricIntervalUpperBound: 19, ScalingAdjustment: 2 },
      { MetricIntervalLowerBound: 19, MetricIntervalUpperBound: 39, ScalingAdjustment: 4 },
      { MetricIntervalLowerBound: 39, ScalingAdjustment: 6 },
    ]);
  });

  it('returns to zero after idleMinutes with nothing queued or in flight (missing SQS data counts as idle)', () => {
    const alarms = Object.values(mi.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as Json).Properties as Json);
    const idle = alarms.find((a) => a.ComparisonOperator === 'LessThanThreshold')!;
    expect(idle).toMatchObject({ Threshold: 0.5, EvaluationPeriods: 15, TreatMissingData: 'breaching' });
    const policies = Object.values(mi.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')).map(
      (p) => (p as Json).Properties as Json,
    );
    const scaleIn = policies.map((p) => p.StepScalingPolicyConfiguration as Json).find((c) => (c.StepAdjustments as Json[]).length === 1)!;
    expect(scaleIn).toMatchObject({
      AdjustmentType: 'ExactCapacity',
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
    });
  });

  it('computes doubling steps capped at maxTasks', () => {
    expect(backlogSteps(1, 10)).toEqual([{ backlog: 1, tasks: 1 }]);
    expect(backlogSteps(4, 10)).toEqual([
      { backlog: 1, tasks: 1 },
      { backlog: 10, tasks: 2 },
      { backlog: 20, tasks: 4 },
    ]);
    const big = backlogSteps(1000, 5);
    expect(big.length).toBeLessThanOrEqual(12);
    expect(big.at(-1)!.tasks).toBe(1000);
    for (let i = 1; i < big.length; i++) {
      expect(big[i]!.backlog).toBeGreaterThan(big[i - 1]!.backlog);
      expect(big[i]!.tasks).toBeGreaterThan(big[i - 1]!.tasks);
    }
    expect(() => backlogSteps(0, 10)).toThrow('maxTasks is 0; it must be an integer >= 1');
    expect(() => backlogSteps(4, 1)).toThrow('backlogPerTask is 1; it must be an integer >= 2');
  });
});
