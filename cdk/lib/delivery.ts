// Delivery: CloudFront in front of the media bucket's output prefix, through origin access
// control (the bucket stays private). Playlists change every segment (live) so they are cached
// for about a second; segments never change once written so they are cached for long.
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Extensions a player fetches: playlists, TS/fMP4 segments and init sections, audio, subtitles. */
export const MEDIA_EXTENSIONS = ['m3u8', 'ts', 'm4s', 'mp4', 'm4a', 'aac', 'vtt', 'webvtt'] as const;

/** CloudFront Function (viewer request): 403 for anything that is not a media file. */
export const MEDIA_ONLY_FUNCTION = `function handler(event) {
  var uri = event.request.uri;
  if (/\\.(${MEDIA_EXTENSIONS.join('|')})$/.test(uri) && uri.indexOf('/state/') === -1 && uri.indexOf('..') === -1) {
    return event.request;
  }
  return { statusCode: 403, statusDescription: 'Forbidden' };
}`;

export interface DeliveryProps {
  readonly outputBucket: s3.IBucket;
  /** Key prefix of the restored streams; the distribution serves only keys under it. */
  readonly outputPrefix: string;
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

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
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

    // Only the output prefix is reachable through CloudFront; sources stay private.
    const origin = origins.S3BucketOrigin.withOriginAccessControl(props.outputBucket, {
      originPath: `/${props.outputPrefix.replace(/\/$/, '')}`,
    });
    // Each job folder also holds job.json, state/*.bin and metrics; serve media only.
    this.mediaOnly = new cloudfront.Function(this, 'MediaOnly', {
      comment: 'SwiftVR: serve HLS media, refuse job records and state checkpoints',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(MEDIA_ONLY_FUNCTION),
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

    // Origin access control grants the distribution s3:GetObject on the whole bucket; the
    // sources next to the output are not for viewers, so deny everything outside the prefix.
    if (props.outputBucket instanceof s3.Bucket) {
      props.outputBucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudFrontOutputPrefixOnly',
          effect: iam.Effect.DENY,
          principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
          actions: ['s3:GetObject'],
          notResources: [props.outputBucket.arnForObjects(`${props.outputPrefix}*`)],
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
