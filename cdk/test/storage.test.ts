import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_TAG } from '../../src/cloud/jobs.js';
import { Storage } from '../lib/storage.js';
import { type Json, newApp, removeScratch } from './helpers.js';

let created: Template;
let imported: Template;
let storage: Storage;

beforeAll(() => {
  const app = newApp();
  const a = new Stack(app, 'Created');
  storage = new Storage(a, 'Storage', { checkpointRetentionDays: 3 });
  const b = new Stack(app, 'Imported');
  new Storage(b, 'Storage', { bucketName: 'existing-media' });
  created = Template.fromStack(a);
  imported = Template.fromStack(b);
});

afterAll(removeScratch);

describe('Storage', () => {
  it('encrypts both buckets and blocks all public access', () => {
    const buckets = created.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const b of Object.values(buckets) as Json[]) {
      const p = b.Properties as Json;
      expect(p.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(p.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.DeletionPolicy).toBe('Retain');
    }
  });

  it('refuses every request that is not TLS, on both buckets', () => {
    const policies = created.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const p of Object.values(policies) as Json[]) {
      expect(((p.Properties as Json).PolicyDocument as Json).Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      );
    }
  });

  it('sends media-bucket events to EventBridge without a custom-resource Lambda', () => {
    created.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    created.resourceCountIs('AWS::Lambda::Function', 0);
    created.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  it('expires state checkpoints after the configured days by the tag the worker sets on them, and logs access to the log bucket', () => {
    // The worker tags every checkpoint with src/cloud/jobs.ts STATE_TAG (test/cloud/worker.test.ts checks it on S3).
    created.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Status: 'Enabled',
            ExpirationInDays: 3,
            TagFilters: [{ Key: STATE_TAG.key, Value: STATE_TAG.value }],
          }),
        ]),
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('StorageLogBucket') }, LogFilePrefix: 's3/media/' },
    });
  });

  it('keeps logs 90 days in a bucket that accepts CloudFront log ACLs', () => {
    created.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] },
    });
    expect(storage.logBucket).toBeDefined();
  });

  it('uses an existing media bucket by name and creates only the log bucket', () => {
    imported.resourceCountIs('AWS::S3::Bucket', 1);
    imported.hasResourceProperties('AWS::S3::Bucket', { OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } });
  });
});
