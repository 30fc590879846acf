// Ingest: S3 object-created events -> EventBridge rule -> router Lambda -> SQS FIFO job queue
// (MessageGroupId = stream, so one stream's segments are handled in order) with a DLQ.
// The router code lives in src/cloud/router-lambda.ts and is bundled with esbuild.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources, grantObjects } from './grants.js';
import { LOCK_FILE, REPO_ROOT, ROUTER_ENTRY } from './paths.js';

export interface IngestProps {
  /** Media bucket whose object-created events start jobs; it must send its events to EventBridge. */
  readonly bucket: s3.IBucket;
  /** Key prefix of the source playlists ('' = the whole bucket). */
  readonly sourcePrefix: string;
  /** Key prefix the workers publish under; the router writes job records there. */
  readonly outputPrefix: string;
  /**
   * How long a received job stays invisible to other workers; the worker's heartbeat extends it
   * every third of it while the job runs, so a killed worker's stream resumes after this long.
   * @default Duration.seconds(30)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a job moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** Retention of the router's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Extra environment for the router, next to QUEUE_URL, SOURCE_PREFIX and OUTPUT_PREFIX.
   * @default - none
   */
  readonly routerEnvironment?: Readonly<Record<string, string>>;
  /**
   * Path of the router's TypeScript entry (exporting `handler`).
   * @default src/cloud/router-lambda.ts in this repository
   */
  readonly routerEntry?: string;
}

export class Ingest extends Construct {
  /** The job queue (FIFO). */
  public readonly queue: sqs.Queue;
  /** Jobs that failed maxReceiveCount times. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Events the router could not take (EventBridge delivery or Lambda failures). */
  public readonly routerFailureQueue: sqs.Queue;
  public readonly router: nodejs.NodejsFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the job queue.',
    });

    this.queue = new sqs.Queue(this, 'JobQueue', {
      fifo: true,
      // The router sets MessageDeduplicationId = object key + ETag, so re-sent events collapse.
      contentBasedDeduplication: false,
      // High-throughput FIFO: deduplication and throughput limits per stream, not per queue.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(30),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.routerFailureQueue = new sqs.Queue(this, 'RouterFailureQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.routerFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the router (EventBridge target and Lambda async failures).',
    });

    // Deleted with the stack: `cdk destroy` leaves only the media and log buckets.
    const logGroup = new logs.LogGroup(this, 'RouterLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // An explicit role that can write only to its own log group (instead of the AWS managed
    // AWSLambdaBasicExecutionRole, which allows every log group).
    const role = new iam.Role(this, 'RouterRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'SwiftVR router: S3 object-created events to the FIFO job queue',
    });
    logGroup.grantWrite(role);

    this.router = new nodejs.NodejsFunction(this, 'Router', {
      entry: props.routerEntry ?? ROUTER_ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      role,
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      deadLetterQueue: this.routerFailureQueue,
      // The variables src/cloud/router-lambda.ts reads (its header names them).
      environment: {
        ...props.routerEnvironment,
        QUEUE_URL: this.queue.queueUrl,
        SOURCE_PREFIX: props.sourcePrefix,
        OUTPUT_PREFIX: props.outputPrefix,
      },
      bundling: {
        // esbuild from node_modules, never a Docker build: `cdk synth` works offline.
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK the router was tested with (package-lock), not the runtime's copy,
        // which lags and lacks @aws-sdk/lib-storage.
        bundleAwsSDK: true,
        // CommonJS dependencies inside an ES module bundle still call require().
        banner:
          "import { createRequire as __swiftvrCreateRequire } from 'node:module'; const require = __swiftvrCreateRequire(import.meta.url);",
      },
    });
    this.queue.grantSendMessages(this.router);
    // It reads the source playlist and the restored rendition beside it (s3:ListBucket makes a
    // missing key a 404 rather than a 403) and creates the job record under the output prefix.
    const sources = grantObjects(this.router, props.bucket, props.sourcePrefix, ['read']);
    const outputs = grantObjects(this.router, props.bucket, props.outputPrefix, ['read', 'write']);
    acknowledgeWildcardResources(
      role,
      [sources, outputs],
      'Object keys under the source and output prefixes are named by the streams; the prefix is the narrowest fixed scope.',
    );

    // Only playlists start work (segments are routed when a playlist lists them), and the
    // router ignores its own and the workers' writes under the output prefix.
    const keyFilter = events.Match.wildcard(`${props.sourcePrefix}*.m3u8`);
    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: 'SwiftVR: object created in the source bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.bucket.bucketName] }, object: { key: keyFilter } },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.router, {
        deadLetterQueue: this.routerFailureQueue,
        maxEventAge: Duration.hours(2),
        retryAttempts: 8,
      }),
    );
  }
}
