// Delivery: CloudFront in front of the media bucket, through origin access control (the bucket
// stays private). Viewer paths are bucket keys: the restored output plays at
// /<outputPrefix><job>/index.m3u8, and the source variants that multivariant lists (relative
// URIs into the source prefix) resolve to /<sourcePrefix>..., which is served read-only, media
// files only. Playlists change every segment (live) so they are cached for about a second;
// segments never change once written so they are cached for long.
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { badInput } from '../../src/errors.js';
import { asPrefix, viewerRequestFunction } from './viewer-function.js';

export { MEDIA_EXTENSIONS } from './viewer-function.js';

export interface DeliveryProps {
  readonly outputBucket: s3.IBucket;
  /** Key prefix of the restored streams; served media files only, never a job's state/. */
  readonly outputPrefix: string;
  /**
   * Key prefix of the sources ('' = the whole bucket). Its media files are served read-only too:
   * the multivariant playlist of a job lists the source variants next to the upscaled one.
   */
  readonly sourcePrefix: string;
  /**
   * Bucket for CloudFront access logs (must accept ACLs).
   * @default - no access logs
   */
  readonly logBucket?: s3.IBucket;
  /**
   * Cache time of playlists (.m3u8). RFC 8216 clients reload a live playlist every target
   * duration, so this must stay well under it.
   * @default Duration.seconds(1)
   */
  readonly playlistTtl?: Duration;
  /**
   * Cache time of media segments and init sections.
   * @default Duration.days(365)
   */
  readonly segmentTtl?: Duration;
  /** @default cloudfront.PriceClass.PRICE_CLASS_100 */
  readonly priceClass?: cloudfront.PriceClass;
}

export class Delivery extends Construct {
  public readonly distribution: cloudfront.Distribution;
  public readonly playlistCachePolicy: cloudfront.CachePolicy;
  public readonly segmentCachePolicy: cloudfront.CachePolicy;
  public readonly corsPolicy: cloudfront.ResponseHeadersPolicy;
  public readonly mediaOnly: cloudfront.Function;
  /** URL path under which jobs play: `<playbackBasePath><job>/index.m3u8`. */
  public readonly playbackBasePath: string;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    if (props.outputPrefix === '') {
      throw badInput(
        'Delivery outputPrefix is empty; the restored output needs its own prefix (e.g. output/) so sources and checkpoints stay apart',
      );
    }
    const playlistTtl = props.playlistTtl ?? Duration.seconds(1);
    const segmentTtl = props.segmentTtl ?? Duration.days(365);

    this.playlistCachePolicy = new cloudfront.CachePolicy(this, 'PlaylistCache', {
      comment: 'SwiftVR playlists: about one second',
      minTtl: Duration.seconds(0),
      defaultTtl: playlistTtl,
      maxTtl: playlistTtl,
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    this.segmentCachePolicy = new cloudfront.CachePolicy(this, 'SegmentCache', {
      comment: 'SwiftVR segments: immutable once written',
      minTtl: Duration.seconds(0),
      defaultTtl: segmentTtl,
      maxTtl: segmentTtl,
    });
    // Web players (hls.js, the compare page) load from other origins.
    this.corsPolicy = new cloudfront.ResponseHeadersPolicy(this, 'Cors', {
      comment: 'SwiftVR: CORS for web players',
      corsBehavior: {
        accessControlAllowCredentials: false,
        accessControlAllowOrigins: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD', 'OPTIONS'],
        accessControlAllowHeaders: ['*'],
        accessControlExposeHeaders: ['Content-Length', 'Content-Range', 'Date'],
        accessControlMaxAge: Duration.hours(1),
        originOverride: true,
      },
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });

    // No origin path: viewer paths are bucket keys, so the relative URIs the worker writes into
    // the multivariant (output -> source variants) resolve the same way for players as in S3.
    const origin = origins.S3BucketOrigin.withOriginAccessControl(props.outputBucket);
    const served = { sourcePrefix: asPrefix(props.sourcePrefix), outputPrefix: asPrefix(props.outputPrefix) };
    this.playbackBasePath = `/${served.outputPrefix}`;
    // Job folders also hold job.json, state/*.bin and metrics; serve media only.
    this.mediaOnly = new cloudfront.Function(this, 'MediaOnly', {
      comment: 'SwiftVR: serve HLS media of outputs and sources; refuse records and checkpoints',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(viewerRequestFunction(served)),
    });
    const behaviour = (cachePolicy: cloudfront.ICachePolicy, compress: boolean): cloudfront.BehaviorOptions => ({
      origin,
      functionAssociations: [{ function: this.mediaOnly, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      cachePolicy,
      compress,
      responseHeadersPolicy: this.corsPolicy,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'SwiftVR restored renditions',
      defaultBehavior: behaviour(this.segmentCachePolicy, false),
      additionalBehaviors: { '*.m3u8': behaviour(this.playlistCachePolicy, true) },
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // A segment or playlist that is not there yet must not stay cached as missing.
      errorResponses: [
        { httpStatus: 403, ttl: Duration.seconds(1) },
        { httpStatus: 404, ttl: Duration.seconds(1) },
      ],
      ...(props.logBucket ? { enableLogging: true, logBucket: props.logBucket, logFilePrefix: 'cloudfront/' } : {}),
    });

    // Origin access control grants the distribution s3:GetObject on the whole bucket; deny it
    // everything outside the two prefixes (the viewer function narrows to media files).
    if (props.outputBucket instanceof s3.Bucket && served.sourcePrefix !== '') {
      props.outputBucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudFrontMediaPrefixesOnly',
          effect: iam.Effect.DENY,
          principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
          actions: ['s3:GetObject'],
          notResources: [served.outputPrefix, served.sourcePrefix].map((p) => props.outputBucket.arnForObjects(`${p}*`)),
        }),
      );
    }

    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The restored streams are meant for every viewer the source stream had; no geo restriction by default.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason: 'Read-only static media behind origin access control; a web ACL would bill every idle month.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason: 'The default *.cloudfront.net certificate allows TLSv1 on the viewer side; attach a custom domain to enforce TLS 1.2.',
    });
  }
}
