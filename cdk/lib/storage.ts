// Storage: the media bucket and the access-log bucket. The cloud runtime keeps a stream's
// source and its restored output in one bucket under two prefixes (src/cloud/router.ts reads
// the restored rendition next to the source to find new segments, and ignores its own writes
// by prefix): sources under `input/`, each job's output under `output/<job>/` (segments,
// playlists, job record, state checkpoints). An existing bucket can be brought in by name.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { STATE_TAG } from '../../src/cloud/jobs.js';

/**
 * Tag the worker puts on state checkpoints (`output/<job>/state/<sn>.bin` sits inside each
 * job's folder, so no key prefix selects all of them); the lifecycle rule expires tagged objects.
 * One definition, in the worker's key layout, so both sides agree.
 */
export { STATE_TAG };

export interface StorageProps {
  /**
   * Name of an existing media bucket. It must send its events to EventBridge.
   * @default - a new bucket
   */
  readonly bucketName?: string;
  /**
   * Days a state checkpoint (tagged STATE_TAG) is kept; applied only to a bucket this construct creates.
   * @default 7
   */
  readonly checkpointRetentionDays?: number;
  /**
   * Days access logs are kept.
   * @default 90
   */
  readonly accessLogRetentionDays?: number;
}

export class Storage extends Construct {
  /** Sources (input prefix) and restored output (output prefix). */
  public readonly bucket: s3.IBucket;
  /** Receives S3 server access logs, CloudFront logs and VPC flow logs. */
  public readonly logBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // CloudFront standard logging writes with ACLs, so the bucket must accept object-writer ACLs.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(props.accessLogRetentionDays ?? 90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging it into itself would loop.',
    });

    this.bucket = props.bucketName
      ? s3.Bucket.fromBucketName(this, 'MediaBucket', props.bucketName)
      : new s3.Bucket(this, 'MediaBucket', {
          encryption: s3.BucketEncryption.S3_MANAGED,
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          enforceSSL: true,
          objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
          serverAccessLogsBucket: this.logBucket,
          serverAccessLogsPrefix: 's3/media/',
          lifecycleRules: [
            {
              id: 'expire-state-checkpoints',
              tagFilters: { [STATE_TAG.key]: STATE_TAG.value },
              expiration: Duration.days(props.checkpointRetentionDays ?? 7),
            },
            { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
          ],
          // Media is the user's data: kept when the stack is deleted (docs/deploy.md, teardown).
          removalPolicy: RemovalPolicy.RETAIN,
        });
    if (this.bucket instanceof s3.Bucket) {
      // Object-created events go to EventBridge, where the ingest rule picks them up. Set on
      // the bucket resource itself: `eventBridgeEnabled` would add a custom-resource Lambda.
      (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
        eventBridgeConfiguration: { eventBridgeEnabled: true },
      };
    }
  }
}
