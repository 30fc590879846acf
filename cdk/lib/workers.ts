// Workers: the GPU containers that drain the job queue. One task = one GPU = one `swiftvr worker`.
// The construct wires its concerns, each in its own file under workers/: the network, the GPU
// capacity (ECS Managed Instances or an Auto Scaling group), the service (task definition, container,
// permissions) and the backlog scaling (from zero on the first message, back to zero when idle).
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { addBacklogScaling } from './workers/backlog-scaling.js';
import { addGpuCapacity, type WorkerCapacity } from './workers/gpu-capacity.js';
import { addWorkerNetwork } from './workers/network.js';
import { addWorkerService } from './workers/service.js';

export { backlogSteps, type BacklogStep } from './workers/backlog-scaling.js';
export type { WorkerCapacity } from './workers/gpu-capacity.js';
export { dockerIgnorePatterns, HEARTBEAT_FILE } from './workers/service.js';

export interface WorkersProps {
  readonly capacity: WorkerCapacity;
  readonly queue: sqs.IQueue;
  /** The job queue's dead-letter queue: a worker moves a message that is bad input there at once. */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Media bucket: sources under sourcePrefix, restored output under outputPrefix. */
  readonly bucket: s3.IBucket;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  /** Model path inside the image; its sidecar (`.json` instead of `.onnx`) must sit beside it. */
  readonly modelPath: string;
  /**
   * Live latency budget in seconds (SWIFTVR_LATENCY_BUDGET).
   * @default - the stream's target duration
   */
  readonly liveLatencyBudgetSeconds?: number;
  /**
   * EventBridge bus of the job events (SWIFTVR_EVENT_BUS); the caller grants PutEvents on it.
   * @default - events are kept in the bucket only
   */
  readonly eventBusName?: string;
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

    const network = addWorkerNetwork(this, {
      ...(props.natGateways === undefined ? {} : { natGateways: props.natGateways }),
      ...(props.flowLogBucket === undefined ? {} : { flowLogBucket: props.flowLogBucket }),
    });
    this.vpc = network.vpc;
    this.securityGroup = network.securityGroup;
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.capacityProviderName = addGpuCapacity(this, this.cluster, network, props.capacity, {
      cpu: taskCpu,
      memoryMiB: taskMemoryMiB,
      maxTasks,
    });
    this.logGroup = new logs.LogGroup(this, 'WorkerLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    const worker = addWorkerService(this, {
      capacity: props.capacity,
      capacityProviderName: this.capacityProviderName,
      cluster: this.cluster,
      securityGroup: this.securityGroup,
      queue: props.queue,
      ...(props.deadLetterQueue === undefined ? {} : { deadLetterQueue: props.deadLetterQueue }),
      bucket: props.bucket,
      sourcePrefix: props.sourcePrefix,
      outputPrefix: props.outputPrefix,
      modelPath: props.modelPath,
      ...(props.liveLatencyBudgetSeconds === undefined ? {} : { liveLatencyBudgetSeconds: props.liveLatencyBudgetSeconds }),
      ...(props.eventBusName === undefined ? {} : { eventBusName: props.eventBusName }),
      taskCpu,
      taskMemoryMiB,
      logGroup: this.logGroup,
      ...(props.image === undefined ? {} : { image: props.image }),
    });
    this.taskDefinition = worker.taskDefinition;
    this.container = worker.container;
    this.service = worker.service;

    const scaling = addBacklogScaling(this, {
      queue: props.queue,
      cluster: this.cluster,
      service: this.service,
      maxTasks,
      backlogPerTask: props.backlogPerTask ?? 10,
      idleMinutes: props.idleMinutes ?? 10,
    });
    this.backlog = scaling.backlog;
    this.scalableTarget = scaling.scalableTarget;
    this.scaleOutAlarm = scaling.scaleOutAlarm;
    this.scaleInAlarm = scaling.scaleInAlarm;
  }
}
