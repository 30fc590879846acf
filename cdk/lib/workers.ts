// Workers: the GPU containers that drain the job queue. One task = one GPU = one `swiftvr worker`.
// Capacity is ECS Managed Instances by default (AWS launches, patches and retires the GPU
// instances as tasks need them) or an Auto Scaling group on the GPU-optimised ECS AMI. The
// task count follows the queue backlog: from zero on the first message, back to zero when idle.
import * as fs from 'node:fs';
import { Aws, Duration, IgnoreMode, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources, grantObjects } from './grants.js';
import { DOCKERIGNORE, REPO_ROOT } from './paths.js';

/** Where the GPU tasks run; a fixed tag keeps each option's settings apart. */
export type WorkerCapacity =
  | {
      readonly kind: 'managed-instances';
      /** Instance families to choose from, e.g. ['g5', 'g6']. */
      readonly instanceFamilies: readonly string[];
      /** @default false */
      readonly spot?: boolean;
    }
  | {
      readonly kind: 'asg';
      /** e.g. 'g5.xlarge'. */
      readonly instanceType: string;
    };

export interface WorkersProps {
  readonly capacity: WorkerCapacity;
  readonly queue: sqs.IQueue;
  /** Media bucket: sources under sourcePrefix, restored output under outputPrefix. */
  readonly bucket: s3.IBucket;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  /** Model path inside the image; its sidecar (`.json` instead of `.onnx`) must sit beside it. */
  readonly modelPath: string;
  /** @default 4 */
  readonly maxTasks?: number;
  /** @default 4096 */
  readonly taskCpu?: number;
  /** @default 14336 */
  readonly taskMemoryMiB?: number;
  /**
   * Minutes with an empty queue (nothing visible, nothing in flight) before scaling to zero.
   * @default 10
   */
  readonly idleMinutes?: number;
  /**
   * Queued segments per worker used to size the scale-out steps.
   * @default 10
   */
  readonly backlogPerTask?: number;
  readonly logRetention: logs.RetentionDays;
  /**
   * NAT gateways. 0 places the workers in public subnets (public IP, no inbound rule) so that
   * nothing is billed while idle; more places them in private subnets behind NAT.
   * @default 0
   */
  readonly natGateways?: number;
  /**
   * Bucket for VPC flow logs.
   * @default - flow logs to CloudWatch Logs
   */
  readonly flowLogBucket?: s3.IBucket;
  /**
   * Worker image.
   * @default - built from containers/Dockerfile with the repository root as context
   */
  readonly image?: ecs.ContainerImage;
}

/** Liveness file of the worker inside the container (/tmp is writable by the image's non-root user). */
export const HEARTBEAT_FILE = '/tmp/swiftvr-worker.heartbeat';

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
  if (!Number.isInteger(maxTasks) || maxTasks < 1) throw new Error(`maxTasks is ${maxTasks}; it must be an integer >= 1`);
  if (!Number.isInteger(backlogPerTask) || backlogPerTask < 2) {
    throw new Error(`backlogPerTask is ${backlogPerTask}; it must be an integer >= 2`);
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

/** The visibility timeout a queue was created with, in seconds (SQS default 30). */
function visibilitySeconds(queue: sqs.Queue): number {
  const v = (queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout;
  return typeof v === 'number' ? v : 30;
}

/** Reads containers/Dockerfile.dockerignore so the CDK asset hash sees what `docker build` sees. */
export function dockerIgnorePatterns(file = DOCKERIGNORE): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export class Workers extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.TaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.BaseService;
  public readonly logGroup: logs.LogGroup;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly capacityProviderName: string;
  public readonly scalableTarget: appscaling.ScalableTarget;
  /** Queued plus in-flight messages: what the workers still have to do. */
  public readonly backlog: cloudwatch.IMetric;
  public readonly scaleOutAlarm: cloudwatch.Alarm;
  public readonly scaleInAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WorkersProps) {
    super(scope, id);
    const maxTasks = props.maxTasks ?? 4;
    const taskCpu = props.taskCpu ?? 4096;
    const taskMemoryMiB = props.taskMemoryMiB ?? 14336;
    const natGateways = props.natGateways ?? 0;
    const publicWorkers = natGateways === 0;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 3,
      natGateways,
      subnetConfiguration: publicWorkers
        ? [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }]
        : [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
          ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        all: props.flowLogBucket
          ? { destination: ec2.FlowLogDestination.toS3(props.flowLogBucket, 'vpc-flow/'), trafficType: ec2.FlowLogTrafficType.REJECT }
          : { trafficType: ec2.FlowLogTrafficType.REJECT },
      },
    });
    const subnets = this.vpc.selectSubnets({
      subnetType: publicWorkers ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
    });

    // Workers only call out (S3, SQS, ECR, logs); nothing calls in.
    this.securityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc: this.vpc,
      description: 'SwiftVR GPU workers: outbound only',
      allowAllOutbound: true,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.capacityProviderName =
      props.capacity.kind === 'managed-instances'
        ? this.addManagedInstances(props.capacity, subnets.subnets, taskCpu, taskMemoryMiB)
        : this.addAutoScalingGroup(props.capacity, subnets, publicWorkers, maxTasks);

    this.logGroup = new logs.LogGroup(this, 'WorkerLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    // Host networking: a task owns its instance's GPU anyway, and with no awsvpc ENI the task
    // reaches AWS through the instance's public IP (no NAT gateway billed while idle).
    this.taskDefinition = new ecs.TaskDefinition(this, 'WorkerTask', {
      compatibility:
        props.capacity.kind === 'managed-instances'
          ? ecs.Compatibility.EC2_AND_MANAGED_INSTANCES
          : ecs.Compatibility.EC2,
      networkMode: ecs.NetworkMode.HOST,
      cpu: String(taskCpu),
      memoryMiB: String(taskMemoryMiB),
    });

    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'containers/Dockerfile',
        exclude: dockerIgnorePatterns(),
        ignoreMode: IgnoreMode.DOCKER,
        platform: ecrAssets.Platform.LINUX_AMD64,
      });

    this.container = this.taskDefinition.addContainer('worker', {
      image,
      essential: true,
      gpuCount: 1,
      // Worker configuration (see docs/deploy.md). Resource names only: no secrets in the environment.
      environment: {
        SWIFTVR_QUEUE_URL: props.queue.queueUrl,
        SWIFTVR_BUCKET: props.bucket.bucketName,
        SWIFTVR_SOURCE_PREFIX: props.sourcePrefix,
        SWIFTVR_OUTPUT_PREFIX: props.outputPrefix,
        SWIFTVR_MODEL: props.modelPath,
        SWIFTVR_EP: 'cuda',
        // NVENC when the driver exposes it (NVIDIA_DRIVER_CAPABILITIES=video), else libx264.
        SWIFTVR_ENCODER: 'auto',
        // One segment at a time: the task holds one GPU.
        SWIFTVR_CONCURRENCY: '1',
        // The queue's own visibility timeout; the worker's heartbeat extends it while it works.
        SWIFTVR_VISIBILITY_TIMEOUT: String(props.queue instanceof sqs.Queue ? visibilitySeconds(props.queue) : 300),
        AWS_REGION: Aws.REGION,
        // The worker touches this file every 15 s while its event loop runs; the health check
        // (containers/healthcheck.mjs) fails when it is older than the limit.
        SWIFTVR_HEARTBEAT_FILE: HEARTBEAT_FILE,
        SWIFTVR_HEARTBEAT_MAX_AGE_S: '120',
      },
      // An init process as PID 1 forwards SIGTERM to the worker and reaps ffmpeg children.
      linuxParameters: new ecs.LinuxParameters(this, 'WorkerLinux', { initProcessEnabled: true }),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker' }),
      // SIGTERM drains: the in-flight segment finishes (or its message is released) before exit.
      stopTimeout: Duration.seconds(120),
      healthCheck: {
        command: ['CMD', 'node', '/app/containers/healthcheck.mjs'],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(10),
        retries: 3,
        startPeriod: Duration.seconds(120),
      },
    });

    this.grantWorkerPermissions(props);
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds resource names and settings only (queue URL, bucket, prefixes, model path); there are no secrets.',
    });
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permission; image pulls are limited to the asset repository.',
    });

    const serviceProps = {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      // Nothing runs until the first message arrives: the backlog alarm scales up from zero.
      desiredCount: 0,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      capacityProviderStrategies: [{ capacityProvider: this.capacityProviderName, weight: 1 }],
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      circuitBreaker: { enable: true, rollback: true },
    };
    if (props.capacity.kind === 'managed-instances') {
      // aws-cdk-lib places Managed Instances services through FargateService, which always
      // renders an awsvpc NetworkConfiguration; a host-network task must have none.
      this.service = new ecs.FargateService(this, 'Service', { ...serviceProps, securityGroups: [this.securityGroup] });
      (this.service.node.defaultChild as ecs.CfnService).addPropertyDeletionOverride('NetworkConfiguration');
    } else {
      this.service = new ecs.Ec2Service(this, 'Service', serviceProps);
    }
    // The cluster must know the capacity provider before the service names it.
    this.service.node.addDependency(this.cluster);

    // Backlog = visible + in flight; in-flight messages keep the worker that holds them alive.
    this.backlog = new cloudwatch.MathExpression({
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
      this,
      'ScalingRole',
      Stack.of(this).formatArn({
        region: '',
        service: 'iam',
        resource: 'role/aws-service-role/ecs.application-autoscaling.amazonaws.com',
        resourceName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
      }),
    );
    this.scalableTarget = new appscaling.ScalableTarget(this, 'TaskCount', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: 0,
      maxCapacity: maxTasks,
      role: scalingRole,
    });

    const steps = backlogSteps(maxTasks, props.backlogPerTask ?? 10);
    const scaleOut = new appscaling.StepScalingAction(this, 'ScaleOut', {
      scalingTarget: this.scalableTarget,
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
    this.scaleOutAlarm = new cloudwatch.Alarm(this, 'BacklogAlarm', {
      alarmDescription: 'SwiftVR: jobs waiting or in flight; scales the workers up (from zero)',
      metric: this.backlog,
      threshold: BACKLOG_THRESHOLD,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.scaleOutAlarm.addAlarmAction(new cwactions.ApplicationScalingAction(scaleOut));

    const scaleIn = new appscaling.StepScalingAction(this, 'ScaleIn', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.minutes(1),
    });
    scaleIn.addAdjustment({ adjustment: 0, upperBound: 0 });
    this.scaleInAlarm = new cloudwatch.Alarm(this, 'IdleAlarm', {
      alarmDescription: `SwiftVR: queue empty for ${props.idleMinutes ?? 10} minutes; scales the workers to zero`,
      metric: this.backlog,
      threshold: BACKLOG_THRESHOLD,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: props.idleMinutes ?? 10,
      // SQS stops publishing metrics for a queue that stays empty: no data means idle.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.scaleInAlarm.addAlarmAction(new cwactions.ApplicationScalingAction(scaleIn));
  }

  private addManagedInstances(
    capacity: Extract<WorkerCapacity, { kind: 'managed-instances' }>,
    subnets: ec2.ISubnet[],
    taskCpu: number,
    taskMemoryMiB: number,
  ): string {
    const provider = new ecs.ManagedInstancesCapacityProvider(this, 'ManagedInstances', {
      subnets,
      securityGroups: [this.securityGroup],
      capacityOptionType: capacity.spot ? ecs.CapacityOptionType.SPOT : ecs.CapacityOptionType.ON_DEMAND,
      propagateTags: ecs.PropagateManagedInstancesTags.CAPACITY_PROVIDER,
      taskVolumeStorage: Size.gibibytes(100),
      instanceRequirements: {
        // One NVIDIA GPU per instance: a task reserves one GPU, a bigger box would idle the rest.
        acceleratorManufacturers: [ec2.AcceleratorManufacturer.NVIDIA],
        acceleratorTypes: [ec2.AcceleratorType.GPU],
        acceleratorCountMin: 1,
        acceleratorCountMax: 1,
        allowedInstanceTypes: capacity.instanceFamilies.map((f) => `${f}.*`),
        vCpuCountMin: Math.ceil(taskCpu / 1024),
        // Room for the task plus the ECS agent and the OS.
        memoryMin: Size.gibibytes(Math.ceil((taskMemoryMiB + 1024) / 1024)),
      },
    });
    this.cluster.addManagedInstancesCapacityProvider(provider);
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForManagedInstances]',
      reason: 'The AWS managed infrastructure policy is what ECS Managed Instances is designed around: ECS launches, patches and retires the instances with it.',
    });
    // aws-cdk-lib's scoped-down default instance policy (ECS agent registration and polling).
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecs:DiscoverPollEndpoint supports no resource-level permission.',
    });
    acknowledgeWildcardResources(
      provider,
      [Stack.of(this).formatArn({ service: 'ecs', resource: 'container-instance', resourceName: '*' })],
      'Container instance ids are assigned when ECS launches an instance; the agent polls and reports for its own.',
    );
    return provider.capacityProviderName;
  }

  private addAutoScalingGroup(
    capacity: Extract<WorkerCapacity, { kind: 'asg' }>,
    subnets: ec2.SubnetSelection,
    publicWorkers: boolean,
    maxTasks: number,
  ): string {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'SwiftVR GPU container instances (ECS agent)',
    });
    const launchTemplate = new ec2.LaunchTemplate(this, 'GpuLaunchTemplate', {
      // Resolved from the public SSM parameter at deploy time: no AMI lookup at synth time.
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      instanceType: new ec2.InstanceType(capacity.instanceType),
      securityGroup: this.securityGroup,
      role,
      userData: ec2.UserData.forLinux(),
      requireImdsv2: true,
      associatePublicIpAddress: publicWorkers,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });
    const group = new autoscaling.AutoScalingGroup(this, 'GpuAutoScalingGroup', {
      vpc: this.vpc,
      vpcSubnets: subnets,
      launchTemplate,
      minCapacity: 0,
      maxCapacity: maxTasks,
    });
    const provider = new ecs.AsgCapacityProvider(this, 'AsgCapacityProvider', {
      autoScalingGroup: group,
      // ECS adds instances while tasks wait for a GPU and removes empty ones: zero tasks -> zero instances.
      enableManagedScaling: true,
      targetCapacityPercent: 100,
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
    });
    this.cluster.addAsgCapacityProvider(provider);
    // aws-cdk-lib's standard ECS agent statements on the instance role.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::ecs:Submit*]',
      reason: 'aws-cdk-lib grants the ECS agent its state-change calls (SubmitTaskStateChange and siblings) on the cluster only.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecs:DiscoverPollEndpoint and the ECR token call support no resource-level permission.',
    });
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'ECS managed scaling drives this group (zero instances when idle); its activity shows in the ECS service events and the dashboard.',
    });
    return provider.capacityProviderName;
  }

  private grantWorkerPermissions(props: WorkersProps): void {
    const taskRole = this.taskDefinition.taskRole;
    props.queue.grantConsumeMessages(taskRole);
    // A VOD job message fans out into per-segment messages on the same queue.
    props.queue.grantSendMessages(taskRole);
    // Read sources; write segments, playlists, records and (tagged) checkpoints under the output prefix.
    const sources = grantObjects(taskRole, props.bucket, props.sourcePrefix, ['read']);
    const outputs = grantObjects(taskRole, props.bucket, props.outputPrefix, ['read', 'write', 'tag']);
    // Task scale-in protection: the ECS agent endpoint ($ECS_AGENT_URI/task-protection/v1/state)
    // calls UpdateTaskProtection / GetTaskProtection with the task role's credentials.
    const tasks = Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` });
    iam.Grant.addToPrincipal({
      grantee: taskRole,
      actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
      resourceArns: [tasks],
    });
    acknowledgeWildcardResources(
      taskRole,
      [sources, outputs, tasks],
      'Object keys under the source/output prefixes are named by the streams, and task ids are assigned at run time; the prefix and the cluster are the narrowest fixed scopes.',
    );
  }
}
