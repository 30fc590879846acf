import { runInNewContext } from 'node:vm';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Delivery, MEDIA_ONLY_FUNCTION } from '../lib/delivery.js';
import { type Json, newApp, only, removeScratch } from './helpers.js';

let template: Template;

beforeAll(() => {
  const stack = new Stack(newApp(), 'Delivery');
  const bucket = new s3.Bucket(stack, 'Media');
  const logs = new s3.Bucket(stack, 'Logs', { objectOwnership: s3.ObjectOwnership.OBJECT_WRITER });
  new Delivery(stack, 'Delivery', { outputBucket: bucket, outputPrefix: 'output/', logBucket: logs });
  template = Template.fromStack(stack);
});

afterAll(removeScratch);

const config = (): Json => only(template, 'AWS::CloudFront::Distribution').props.DistributionConfig as Json;
const policyTtl = (logicalId: string): Json => {
  const p = template.toJSON().Resources[logicalId] as Json;
  const c = (p.Properties as Json).CachePolicyConfig as Json;
  return { min: c.MinTTL, def: c.DefaultTTL, max: c.MaxTTL };
};

describe('Delivery', () => {
  it('caches playlists for one second and segments for a year', () => {
    const d = config();
    const playlists = (d.CacheBehaviors as Json[]).find((b) => b.PathPattern === '*.m3u8')!;
    expect(playlists).toBeDefined();
    expect(policyTtl((playlists.CachePolicyId as Json).Ref as string)).toEqual({ min: 0, def: 1, max: 1 });
    const segments = d.DefaultCacheBehavior as Json;
    expect(policyTtl((segments.CachePolicyId as Json).Ref as string)).toEqual({ min: 0, def: 365 * 86400, max: 365 * 86400 });
    expect(playlists.Compress).toBe(true);
    // A miss (segment not there yet) is not remembered for long.
    expect(d.CustomErrorResponses).toEqual([
      { ErrorCode: 403, ErrorCachingMinTTL: 1 },
      { ErrorCode: 404, ErrorCachingMinTTL: 1 },
    ]);
  });

  it('reads the private bucket through origin access control under the output prefix only, over HTTPS', () => {
    const d = config();
    const origin = (d.Origins as Json[])[0]!;
    expect(origin.OriginPath).toBe('/output');
    expect(origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] });
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    for (const b of [d.DefaultCacheBehavior as Json, ...(d.CacheBehaviors as Json[])]) {
      expect(b.ViewerProtocolPolicy).toBe('redirect-to-https');
      expect(b.AllowedMethods).toEqual(['GET', 'HEAD', 'OPTIONS']);
    }
    const statements = ((only(template, 'AWS::S3::BucketPolicy').props.PolicyDocument as Json).Statement as Json[]);
    const deny = statements.find((s) => s.Sid === 'CloudFrontOutputPrefixOnly')!;
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      NotResource: { 'Fn::Join': ['', [expect.anything(), '/output/*']] },
    });
  });

  it('answers CORS for web players on every behaviour', () => {
    const policy = only(template, 'AWS::CloudFront::ResponseHeadersPolicy').props.ResponseHeadersPolicyConfig as Json;
    expect(policy.CorsConfig).toMatchObject({
      AccessControlAllowOrigins: { Items: ['*'] },
      AccessControlAllowMethods: { Items: ['GET', 'HEAD', 'OPTIONS'] },
      OriginOverride: true,
    });
    const d = config();
    for (const b of [d.DefaultCacheBehavior as Json, ...(d.CacheBehaviors as Json[])]) {
      expect(b.ResponseHeadersPolicyId).toEqual({ Ref: expect.stringMatching(/Cors/) });
    }
  });

  it('logs viewer requests to the log bucket', () => {
    expect(config().Logging).toMatchObject({ Prefix: 'cloudfront/' });
  });

  it('serves media and refuses job records, state checkpoints and path tricks (viewer-request function)', () => {
    const fn = only(template, 'AWS::CloudFront::Function').props;
    expect(fn.FunctionCode).toBe(MEDIA_ONLY_FUNCTION);
    const handler = runInNewContext(`${MEDIA_ONLY_FUNCTION}; handler`) as (e: unknown) => Json;
    const status = (uri: string): number | 'pass' => {
      const r = handler({ request: { uri } });
      return 'statusCode' in r ? (r.statusCode as number) : 'pass';
    };
    for (const ok of ['/show/index.m3u8', '/show/restored/media.m3u8', '/show/restored/seg_000001.ts', '/show/restored/seg_000002.m4s', '/show/restored/init.mp4']) {
      expect(status(ok), ok).toBe('pass');
    }
    for (const no of ['/show/job.json', '/show/state/000001.bin', '/show/segments/000001.json', '/show/errors/000001-1.json', '/show/state/x.ts', '/../input/show/index.m3u8']) {
      expect(status(no), no).toBe(403);
    }
    const d = config();
    for (const b of [d.DefaultCacheBehavior as Json, ...(d.CacheBehaviors as Json[])]) {
      expect(b.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [expect.stringMatching(/MediaOnly/), 'FunctionARN'] } }]);
    }
  });
});
