// The SwiftVR stack only wires the constructs: storage -> ingest -> workers -> delivery, with
// monitoring over all of them.
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { SwiftvrConfig } from './config.js';
import { Delivery } from './delivery.js';
import { Ingest } from './ingest.js';
import { JobEvents } from './job-events.js';
import { Monitoring } from './monitoring.js';
import { Storage } from './storage.js';
import { Workers, type WorkerCapacity } from './workers.js';

export interface SwiftvrStackProps extends StackProps {
  readonly config: SwiftvrConfig;
  /**
   * Worker image.
   * @default - built from containers/Dockerfile
   */
  readonly workerImage?: ecs.ContainerImage;
}

export class SwiftvrStack extends Stack {
  public readonly storage: Storage;
  public readonly ingest: Ingest;
  public readonly workers: Workers;
  public readonly delivery: Delivery;
  public readonly monitoring: Monitoring;
  public readonly jobEvents: JobEvents;

  constructor(scope: Construct, id: string, props: SwiftvrStackProps) {
    super(scope, id, props);
    const c = props.config;
    const logRetention = c.logRetentionDays as logs.RetentionDays;

    this.storage = new Storage(this, 'Storage', {
      bucketName: c.bucketName,
      checkpointRetentionDays: c.checkpointRetentionDays,
    });

    this.jobEvents = new JobEvents(this, 'JobEvents', {
      bus: c.eventBus,
      ...(c.notifyEmail === undefined ? {} : { notifyEmail: c.notifyEmail }),
    });

    this.ingest = new Ingest(this, 'Ingest', {
      bucket: this.storage.bucket,
      sourcePrefix: c.sourcePrefix,
      outputPrefix: c.outputPrefix,
      logRetention,
      // The router sends a routed job's SUBMITTED event (src/cloud/router-lambda.ts).
      routerEnvironment: { SWIFTVR_EVENT_BUS: this.jobEvents.bus.eventBusName },
    });
    this.jobEvents.grantPut(this.ingest.router);

    const capacity: WorkerCapacity =
      c.capacity === 'managed-instances'
        ? { kind: 'managed-instances', instanceFamilies: c.instanceFamilies, spot: c.spot }
        : { kind: 'asg', instanceType: c.instanceType };
    this.workers = new Workers(this, 'Workers', {
      capacity,
      queue: this.ingest.queue,
      deadLetterQueue: this.ingest.deadLetterQueue,
      bucket: this.storage.bucket,
      sourcePrefix: c.sourcePrefix,
      outputPrefix: c.outputPrefix,
      modelPath: c.modelPath,
      ...(c.liveLatencyBudgetSeconds === undefined ? {} : { liveLatencyBudgetSeconds: c.liveLatencyBudgetSeconds }),
      maxTasks: c.maxTasks,
      taskCpu: c.taskCpu,
      taskMemoryMiB: c.taskMemoryMiB,
      idleMinutes: c.idleMinutes,
      logRetention,
      natGateways: c.natGateways,
      flowLogBucket: this.storage.logBucket,
      image: props.workerImage,
      eventBusName: this.jobEvents.bus.eventBusName,
    });
    this.jobEvents.grantPut(this.workers.taskDefinition.taskRole);

    this.delivery = new Delivery(this, 'Delivery', {
      outputBucket: this.storage.bucket,
      outputPrefix: c.outputPrefix,
      sourcePrefix: c.sourcePrefix,
      logBucket: this.storage.logBucket,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      queue: this.ingest.queue,
      deadLetterQueue: this.ingest.deadLetterQueue,
      routerFailureQueue: this.ingest.routerFailureQueue,
      router: this.ingest.router,
      cluster: this.workers.cluster,
      service: this.workers.service,
      workerLogGroup: this.workers.logGroup,
      backlog: this.workers.backlog,
      maxJobAge: Duration.minutes(15),
      maxFallbackShare: c.maxFallbackShare,
      alarmEmail: c.alarmEmail,
    });

    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'SourcePrefix', { value: c.sourcePrefix === '' ? '(bucket root)' : c.sourcePrefix });
    new CfnOutput(this, 'JobQueueUrl', { value: this.ingest.queue.queueUrl });
    new CfnOutput(this, 'PlaybackBaseUrl', {
      description: 'Restored streams: <PlaybackBaseUrl><job>/index.m3u8 (multivariant) or <job>/restored/media.m3u8',
      value: `https://${this.delivery.distribution.distributionDomainName}${this.delivery.playbackBasePath}`,
    });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'JobEventBus', {
      description: 'EventBridge bus of the job events (docs/events.md)',
      value: this.jobEvents.bus.eventBusName,
    });
    new CfnOutput(this, 'ClusterName', { value: this.workers.cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.workers.service.serviceName });
  }
}
