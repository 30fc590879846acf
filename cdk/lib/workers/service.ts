// The worker service: the task definition (one GPU, `swiftvr worker` configured by environment
// variables named by the worker's own config module), the ECS service, and the task role's
// permissions. Nothing runs until the backlog scaling raises the desired count.
import * as fs from 'node:fs';
import { Aws, Duration, IgnoreMode, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CLOUD_ENV, HEARTBEAT_ENV } from '../../../src/cloud/config.js';
import { acknowledgeWildcardResources, grantObjects } from '../grants.js';
import { DOCKERIGNORE, REPO_ROOT } from '../paths.js';
import type { WorkerCapacity } from './gpu-capacity.js';

/** Liveness file of the worker inside the container (/tmp is writable by the image's non-root user). */
export const HEARTBEAT_FILE = '/tmp/swiftvr-worker.heartbeat';

/** Reads containers/Dockerfile.dockerignore so the CDK asset hash sees what `docker build` sees. */
export function dockerIgnorePatterns(file = DOCKERIGNORE): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The visibility timeout a queue was created with, in seconds (SQS default 30). */
function visibilitySeconds(queue: sqs.Queue): number {
  const v = (queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout;
  return typeof v === 'number' ? v : 30;
}

export interface WorkerServiceProps {
  readonly capacity: WorkerCapacity;
  readonly capacityProviderName: string;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue?: sqs.IQueue;
  readonly bucket: s3.IBucket;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  readonly modelPath: string;
  readonly liveLatencyBudgetSeconds?: number;
  readonly eventBusName?: string;
  readonly taskCpu: number;
  readonly taskMemoryMiB: number;
  readonly logGroup: logs.LogGroup;
  readonly image?: ecs.ContainerImage;
}

export interface WorkerService {
  readonly taskDefinition: ecs.TaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly service: ecs.BaseService;
}

export function addWorkerService(scope: Construct, props: WorkerServiceProps): WorkerService {
  // Host networking: a task owns its instance's GPU anyway, and with no awsvpc ENI the task
  // reaches AWS through the instance's public IP (no NAT gateway billed while idle).
  const taskDefinition = new ecs.TaskDefinition(scope, 'WorkerTask', {
    compatibility: props.capacity.kind === 'managed-instances' ? ecs.Compatibility.EC2_AND_MANAGED_INSTANCES : ecs.Compatibility.EC2,
    networkMode: ecs.NetworkMode.HOST,
    cpu: String(props.taskCpu),
    memoryMiB: String(props.taskMemoryMiB),
  });
  const image =
    props.image ??
    ecs.ContainerImage.fromAsset(REPO_ROOT, {
      file: 'containers/Dockerfile',
      exclude: dockerIgnorePatterns(),
      ignoreMode: IgnoreMode.DOCKER,
      platform: ecrAssets.Platform.LINUX_AMD64,
    });

  const container = taskDefinition.addContainer('worker', {
    image,
    essential: true,
    gpuCount: 1,
    // Worker configuration (see docs/deploy.md), by the names `swiftvr worker` reads
    // (src/cloud/config.ts). Resource names only: no secrets in the environment.
    environment: {
      [CLOUD_ENV['queue-url']]: props.queue.queueUrl,
      [CLOUD_ENV.bucket]: props.bucket.bucketName,
      [CLOUD_ENV['source-prefix']]: props.sourcePrefix,
      [CLOUD_ENV['output-prefix']]: props.outputPrefix,
      [CLOUD_ENV.model]: props.modelPath,
      [CLOUD_ENV.ep]: 'cuda',
      // NVENC when the driver exposes it (NVIDIA_DRIVER_CAPABILITIES=video), else libx264.
      [CLOUD_ENV.encoder]: 'auto',
      // One segment at a time: the task holds one GPU.
      [CLOUD_ENV.concurrency]: '1',
      // The queue's own visibility timeout; the worker's heartbeat extends it while it works.
      [CLOUD_ENV['visibility-timeout']]: String(props.queue instanceof sqs.Queue ? visibilitySeconds(props.queue) : 300),
      [CLOUD_ENV.region]: Aws.REGION,
      // What the workers cost (the price table's entry for it; `swiftvr jobs` shows the cost so far):
      // the Auto Scaling group's one type, or, on Managed Instances, the type the task landed on.
      [CLOUD_ENV['instance-type']]: props.capacity.kind === 'asg' ? props.capacity.instanceType : 'imds',
      ...(props.liveLatencyBudgetSeconds === undefined ? {} : { [CLOUD_ENV['latency-budget']]: String(props.liveLatencyBudgetSeconds) }),
      ...(props.eventBusName === undefined ? {} : { [CLOUD_ENV['event-bus']]: props.eventBusName }),
      // The worker touches this file every 15 s while its event loop runs; the health check
      // (containers/healthcheck.mjs) fails when it is older than the limit.
      [HEARTBEAT_ENV.file]: HEARTBEAT_FILE,
      [HEARTBEAT_ENV.maxAgeSeconds]: '120',
    },
    // An init process as PID 1 forwards SIGTERM to the worker and reaps ffmpeg children.
    linuxParameters: new ecs.LinuxParameters(scope, 'WorkerLinux', { initProcessEnabled: true }),
    logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'worker' }),
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

  Validations.of(taskDefinition).acknowledge({
    id: 'AwsSolutions-ECS2',
    reason: 'The environment holds resource names and settings only (queue URL, bucket, prefixes, model path); there are no secrets.',
  });
  Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecr:GetAuthorizationToken supports no resource-level permission; image pulls are limited to the asset repository.',
  });

  const serviceProps = {
    cluster: props.cluster,
    taskDefinition,
    // Nothing runs until the first message arrives: the backlog alarm scales up from zero.
    desiredCount: 0,
    minHealthyPercent: 0,
    maxHealthyPercent: 100,
    capacityProviderStrategies: [{ capacityProvider: props.capacityProviderName, weight: 1 }],
    propagateTags: ecs.PropagatedTagSource.SERVICE,
    circuitBreaker: { enable: true, rollback: true },
  };
  let service: ecs.BaseService;
  if (props.capacity.kind === 'managed-instances') {
    // aws-cdk-lib places Managed Instances services through FargateService, which always
    // renders an awsvpc NetworkConfiguration; a host-network task must have none.
    service = new ecs.FargateService(scope, 'Service', { ...serviceProps, securityGroups: [props.securityGroup] });
    (service.node.defaultChild as ecs.CfnService).addPropertyDeletionOverride('NetworkConfiguration');
  } else {
    service = new ecs.Ec2Service(scope, 'Service', serviceProps);
  }
  // The cluster must know the capacity provider before the service names it.
  service.node.addDependency(props.cluster);
  grantWorkerPermissions(scope, taskDefinition.taskRole, props);
  return { taskDefinition, container, service };
}

function grantWorkerPermissions(scope: Construct, taskRole: iam.IRole, props: WorkerServiceProps): void {
  props.queue.grantConsumeMessages(taskRole);
  // A VOD job message fans out into per-segment messages on the same queue.
  props.queue.grantSendMessages(taskRole);
  // Bad input goes to the dead-letter queue on its first failure, sent there by the worker.
  props.deadLetterQueue?.grantSendMessages(taskRole);
  // Read sources; write segments, playlists, records and (tagged) checkpoints under the output prefix.
  const sources = grantObjects(taskRole, props.bucket, props.sourcePrefix, ['read']);
  const outputs = grantObjects(taskRole, props.bucket, props.outputPrefix, ['read', 'write', 'tag']);
  // Task scale-in protection: the ECS agent endpoint ($ECS_AGENT_URI/task-protection/v1/state)
  // calls UpdateTaskProtection / GetTaskProtection with the task role's credentials.
  const tasks = Stack.of(scope).formatArn({ service: 'ecs', resource: 'task', resourceName: `${props.cluster.clusterName}/*` });
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
