// Monitoring: alarms on failed jobs (dead-letter queues) and on stuck work (age of the oldest
// job), plus one dashboard with the queue, the workers and the router.
import { badInput } from '../../src/errors.js';
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../src/cloud/metrics.js';

export interface MonitoringProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly routerFailureQueue: sqs.IQueue;
  readonly router: lambda.IFunction;
  readonly cluster: ecs.ICluster;
  readonly service: ecs.BaseService;
  readonly workerLogGroup: logs.ILogGroup;
  /** Queued plus in-flight jobs. */
  readonly backlog: cloudwatch.IMetric;
  /**
   * Alarm when the oldest job has waited this long.
   * @default Duration.minutes(15)
   */
  readonly maxJobAge?: Duration;
  /**
   * Alarm when more than this share of live segments (0..1) was published as a plain upscale
   * over 5 minutes: restores fail or fall behind the live latency budget.
   * @default 0.1
   */
  readonly maxFallbackShare?: number;
  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

export class Monitoring extends Construct {
  public readonly alarmTopic: sns.Topic;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  public readonly routerFailureAlarm: cloudwatch.Alarm;
  public readonly oldestJobAlarm: cloudwatch.Alarm;
  public readonly fallbackAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const maxJobAge = props.maxJobAge ?? Duration.minutes(15);
    const maxFallbackShare = props.maxFallbackShare ?? 0.1;
    if (!(maxFallbackShare > 0 && maxFallbackShare < 1)) {
      throw badInput(`maxFallbackShare is ${maxFallbackShare}; it must lie strictly between 0 and 1`);
    }

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'SwiftVR alarms', enforceSSL: true });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry no media or user data; CloudWatch cannot publish to a topic under the AWS managed key and a customer key bills every idle month.',
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new cwactions.SnsAction(this.alarmTopic);

    const fiveMinutes = Duration.minutes(5);
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'SwiftVR: a job failed every attempt and sits in the dead-letter queue',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.routerFailureAlarm = new cloudwatch.Alarm(this, 'RouterFailureAlarm', {
      alarmDescription: 'SwiftVR: an S3 event could not be turned into a job',
      metric: props.routerFailureQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.oldestJobAlarm = new cloudwatch.Alarm(this, 'OldestJobAlarm', {
      alarmDescription: `SwiftVR: the oldest job has waited more than ${maxJobAge.toMinutes()} minutes (workers missing or stuck)`,
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: maxJobAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Fallback is 1 for a live segment published as a plain upscale, 0 for a restored one: its
    // average is the plain share (src/cloud/metrics.ts).
    this.fallbackAlarm = new cloudwatch.Alarm(this, 'FallbackAlarm', {
      alarmDescription: `SwiftVR: more than ${Math.round(maxFallbackShare * 100)} % of live segments were published as plain upscales in 5 minutes (restores failing or behind the latency budget)`,
      metric: new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'Fallback', period: fiveMinutes, statistic: 'Average' }),
      threshold: maxFallbackShare,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarmList = [this.deadLetterAlarm, this.routerFailureAlarm, this.oldestJobAlarm, this.fallbackAlarm];
    for (const alarm of alarmList) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    const minute = Duration.minutes(1);
    const insights = (metricName: string, label: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: { ClusterName: props.cluster.clusterName, ServiceName: props.service.serviceName },
        period: minute,
        statistic: 'Average',
        label,
      });

    const segmentMetric = (metricName: string, statistic: string, label: string): cloudwatch.Metric =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, period: minute, statistic, label });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Jobs',
            width: 12,
            left: [
              props.queue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum', label: 'waiting' }),
              props.queue.metricApproximateNumberOfMessagesNotVisible({ period: minute, statistic: 'Maximum', label: 'in flight' }),
              props.queue.metricNumberOfMessagesDeleted({ period: minute, statistic: 'Sum', label: 'done' }),
            ],
            right: [props.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: 'Maximum', label: 'oldest (s)' })],
          }),
          new cloudwatch.GraphWidget({
            title: 'Workers',
            width: 12,
            left: [insights('RunningTaskCount', 'running tasks'), insights('DesiredTaskCount', 'desired tasks')],
            right: [props.backlog],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Worker CPU and memory (%)',
            width: 12,
            left: [
              props.service.metricCpuUtilization({ period: minute, label: 'CPU' }),
              props.service.metricMemoryUtilization({ period: minute, label: 'memory' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Failures',
            width: 12,
            left: [
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
                period: minute,
                statistic: 'Maximum',
                label: 'dead-letter jobs',
              }),
              props.routerFailureQueue.metricApproximateNumberOfMessagesVisible({
                period: minute,
                statistic: 'Maximum',
                label: 'router failures',
              }),
              props.router.metricErrors({ period: minute, label: 'router errors' }),
            ],
            right: [props.router.metricInvocations({ period: minute, label: 'router invocations' })],
          }),
        ],
        [
          // Embedded-metric-format lines of the worker, one per restored segment (src/cloud/metrics.ts).
          new cloudwatch.GraphWidget({
            title: 'Segments: speed',
            width: 12,
            left: [segmentMetric('Fps', 'Average', 'frames per second')],
            right: [segmentMetric('ProcessingSeconds', 'p90', 'processing p90 (s)')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Segments: waiting and live lag (s)',
            width: 12,
            left: [segmentMetric('QueueWaitSeconds', 'p90', 'queue wait p90'), segmentMetric('LagSeconds', 'Maximum', 'live lag max')],
            right: [segmentMetric('Frames', 'Sum', 'frames restored'), segmentMetric('Fallback', 'Average', 'plain-upscale share')],
          }),
        ],
        [
          new cloudwatch.LogQueryWidget({
            title: 'Worker errors (latest 50)',
            width: 24,
            logGroupNames: [props.workerLogGroup.logGroupName],
            // The worker logs one JSON object per line (src/cloud/worker.ts).
            queryLines: [
              'fields @timestamp, event, job, sn, message',
              'filter event like /error/ or @message like /(?i)unhandled|fatal/',
              'sort @timestamp desc',
              'limit 50',
            ],
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: alarmList })],
      ],
    });
  }
}
