// Task count follows the queue backlog (visible + in flight): from zero on the first message, in
// doubling steps as the backlog grows, back to zero after a quiet spell.
import { badInput } from '../../../src/errors.js';
import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** Backlog alarms fire above / below half a message: at least one message, or none at all. */
const BACKLOG_THRESHOLD = 0.5;

/** One step of the scale-out policy: at least `backlog` queued messages -> exactly `tasks` tasks. */
export interface BacklogStep {
  readonly backlog: number;
  readonly tasks: number;
}

/**
 * Scale-out steps: 1 task from the first message, then the task count doubles each time the
 * backlog passes what the current tasks handle (tasks x backlogPerTask), capped at maxTasks;
 * at most 12 steps.
 */
export function backlogSteps(maxTasks: number, backlogPerTask: number): BacklogStep[] {
  if (!Number.isInteger(maxTasks) || maxTasks < 1) throw badInput(`maxTasks is ${maxTasks}; it must be an integer >= 1`);
  if (!Number.isInteger(backlogPerTask) || backlogPerTask < 2) {
    throw badInput(`backlogPerTask is ${backlogPerTask}; it must be an integer >= 2`);
  }
  const steps: BacklogStep[] = [{ backlog: 1, tasks: 1 }];
  let tasks = 1;
  while (tasks < maxTasks && steps.length < 12) {
    // Next step when the backlog exceeds what the current tasks handle.
    steps.push({ backlog: tasks * backlogPerTask, tasks: Math.min(maxTasks, tasks * 2) });
    tasks = Math.min(maxTasks, tasks * 2);
  }
  const last = steps[steps.length - 1]!;
  if (last.tasks < maxTasks) steps[steps.length - 1] = { backlog: last.backlog, tasks: maxTasks };
  return steps;
}

export interface BacklogScalingProps {
  readonly queue: sqs.IQueue;
  readonly cluster: ecs.ICluster;
  readonly service: ecs.BaseService;
  readonly maxTasks: number;
  readonly backlogPerTask: number;
  readonly idleMinutes: number;
}

export interface BacklogScaling {
  /** Queued plus in-flight messages: what the workers still have to do. */
  readonly backlog: cloudwatch.IMetric;
  readonly scalableTarget: appscaling.ScalableTarget;
  readonly scaleOutAlarm: cloudwatch.Alarm;
  readonly scaleInAlarm: cloudwatch.Alarm;
}

export function addBacklogScaling(scope: Construct, props: BacklogScalingProps): BacklogScaling {
  // Backlog = visible + in flight; in-flight messages keep the worker that holds them alive.
  const backlog = new cloudwatch.MathExpression({
    expression: 'visible + inflight',
    label: 'Backlog (visible + in flight)',
    period: Duration.minutes(1),
    usingMetrics: {
      visible: props.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      inflight: props.queue.metricApproximateNumberOfMessagesNotVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
    },
  });

  // The service-linked role that Application Auto Scaling uses for ECS services.
  const scalingRole = iam.Role.fromRoleArn(
    scope,
    'ScalingRole',
    Stack.of(scope).formatArn({
      region: '',
      service: 'iam',
      resource: 'role/aws-service-role/ecs.application-autoscaling.amazonaws.com',
      resourceName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
    }),
  );
  const scalableTarget = new appscaling.ScalableTarget(scope, 'TaskCount', {
    serviceNamespace: appscaling.ServiceNamespace.ECS,
    scalableDimension: 'ecs:service:DesiredCount',
    resourceId: `service/${props.cluster.clusterName}/${props.service.serviceName}`,
    minCapacity: 0,
    maxCapacity: props.maxTasks,
    role: scalingRole,
  });

  const steps = backlogSteps(props.maxTasks, props.backlogPerTask);
  const scaleOut = new appscaling.StepScalingAction(scope, 'ScaleOut', {
    scalingTarget: scalableTarget,
    adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
    metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    cooldown: Duration.minutes(1),
  });
  // Step bounds are relative to the alarm threshold. The threshold sits between whole message
  // counts (0.5) so that no backlog lands on a bound, where inclusive/exclusive would decide.
  steps.forEach((s, i) => {
    const next = steps[i + 1];
    scaleOut.addAdjustment({
      adjustment: s.tasks,
      lowerBound: s.backlog - 1,
      ...(next ? { upperBound: next.backlog - 1 } : {}),
    });
  });
  const scaleOutAlarm = new cloudwatch.Alarm(scope, 'BacklogAlarm', {
    alarmDescription: 'SwiftVR: jobs waiting or in flight; scales the workers up (from zero)',
    metric: backlog,
    threshold: BACKLOG_THRESHOLD,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  scaleOutAlarm.addAlarmAction(new cwactions.ApplicationScalingAction(scaleOut));

  const scaleIn = new appscaling.StepScalingAction(scope, 'ScaleIn', {
    scalingTarget: scalableTarget,
    adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
    metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    cooldown: Duration.minutes(1),
  });
  scaleIn.addAdjustment({ adjustment: 0, upperBound: 0 });
  const scaleInAlarm = new cloudwatch.Alarm(scope, 'IdleAlarm', {
    alarmDescription: `SwiftVR: queue empty for ${props.idleMinutes} minutes; scales the workers to zero`,
    metric: backlog,
    threshold: BACKLOG_THRESHOLD,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: props.idleMinutes,
    // SQS stops publishing metrics for a queue that stays empty: no data means idle.
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  scaleInAlarm.addAlarmAction(new cwactions.ApplicationScalingAction(scaleIn));
  return { backlog, scalableTarget, scaleOutAlarm, scaleInAlarm };
}
