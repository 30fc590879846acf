import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, segmentMetricsLine } from '../../src/cloud/metrics.js';
import { Monitoring } from '../lib/monitoring.js';
import { type Json, newApp, only, removeScratch } from './helpers.js';

let template: Template;

beforeAll(() => {
  const stack = new Stack(newApp(), 'Monitoring');
  const queue = new sqs.Queue(stack, 'Jobs', { fifo: true });
  const dlq = new sqs.Queue(stack, 'Dlq', { fifo: true });
  const routerFailures = new sqs.Queue(stack, 'RouterFailures');
  const router = new lambda.Function(stack, 'Router', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc', { natGateways: 0 }) });
  cluster.addCapacity('Capacity', { instanceType: new ec2.InstanceType('g5.xlarge'), minCapacity: 0 });
  const task = new ecs.Ec2TaskDefinition(stack, 'Task');
  task.addContainer('worker', { image: ecs.ContainerImage.fromRegistry('busybox'), memoryLimitMiB: 512 });
  const service = new ecs.Ec2Service(stack, 'Service', { cluster, taskDefinition: task, desiredCount: 0 });
  new Monitoring(stack, 'Monitoring', {
    queue,
    deadLetterQueue: dlq,
    routerFailureQueue: routerFailures,
    router,
    cluster,
    service,
    workerLogGroup: new logs.LogGroup(stack, 'WorkerLogs'),
    backlog: new cloudwatch.MathExpression({
      expression: 'a + b',
      usingMetrics: { a: queue.metricApproximateNumberOfMessagesVisible(), b: queue.metricApproximateNumberOfMessagesNotVisible() },
    }),
    alarmEmail: 'ops@example.com',
  });
  template = Template.fromStack(stack);
});

afterAll(removeScratch);

const alarms = (): Json[] => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as Json).Properties as Json);
const alarmOn = (metricName: string, queueId: RegExp): Json | undefined =>
  alarms().find((a) => a.MetricName === metricName && JSON.stringify((a.Dimensions as Json[] | undefined) ?? []).match(queueId) !== null);

describe('Monitoring', () => {
  it('alarms as soon as one job sits in the dead-letter queue or one event failed to route', () => {
    for (const q of [/Dlq/, /RouterFailures/]) {
      const a = alarmOn('ApproximateNumberOfMessagesVisible', q);
      expect(a, String(q)).toMatchObject({
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Statistic: 'Maximum',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms when the oldest job has waited 15 minutes', () => {
    expect(alarmOn('ApproximateAgeOfOldestMessage', /Jobs/)).toMatchObject({ Threshold: 900, EvaluationPeriods: 3, Period: 60 });
  });

  it('alarms when more than 10 % of live segments in 5 minutes were published as plain upscales', () => {
    expect(alarms().find((a) => a.MetricName === 'Fallback')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Statistic: 'Average',
      Period: 300,
      Threshold: 0.1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    // The worker's EMF line carries the dimensionless Fallback metric the alarm reads.
    const line = segmentMetricsLine({
      job: 'cam/index',
      sn: 3,
      frames: 50,
      fps: 30,
      processingSeconds: 1.2,
      queueWaitSeconds: 0,
      lagSeconds: 1.5,
      bytes: 1000,
      duration: 2,
      codecs: { video: 'avc1.64001f', audio: [] },
      width: 1280,
      height: 720,
      frameRate: { num: 25, den: 1 },
      fallback: true,
      attempt: 1,
      worker: 'w',
      at: '2026-01-01T00:00:00.000Z',
    });
    const emf = line._aws.CloudWatchMetrics[0]!;
    expect(emf.Metrics.map((m) => m.Name)).toContain('Fallback');
    expect(emf.Dimensions).toContainEqual([]);
    expect(line.Fallback).toBe(1);
  });

  it('notifies the alarm topic (TLS only) on alarm and on recovery, and subscribes the given address', () => {
    const topic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('MonitoringAlarmTopic'))!;
    for (const a of alarms()) {
      expect(a.AlarmActions).toEqual([{ Ref: topic }]);
      expect(a.OKActions).toEqual([{ Ref: topic }]);
    }
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const policy = (Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Json[])
      .map((p) => p.Properties as Json)
      .find((p) => JSON.stringify(p.Topics).includes(topic))!.PolicyDocument as Json;
    expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
  });

  it('draws jobs, workers, per-segment speed, failures and worker errors on one dashboard', () => {
    const body = JSON.stringify(only(template, 'AWS::CloudWatch::Dashboard').props.DashboardBody);
    for (const needle of [
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateAgeOfOldestMessage',
      'ECS/ContainerInsights',
      'RunningTaskCount',
      'CPUUtilization',
      `\\"${METRICS_NAMESPACE}\\",\\"Fps\\"`,
      'ProcessingSeconds',
      'LagSeconds',
      'AWS/Lambda',
      'filter event like /error/',
    ]) {
      expect(body, needle).toContain(needle);
    }
  });
});
