/**
 * How long CloudFront tries a region's bucket before the origin group fails over (ADR 0008, issue 20 §5).
 * By default CloudFront makes 3 connection attempts of 10 s each to the primary origin, and waits 30 s
 * for its response: a dead home bucket would hold every cache miss for up to 30 s before the replica
 * region's bucket is asked. The documents are a few kilobytes that S3 answers in milliseconds, and the
 * failover bucket holds the same bytes, so giving up early on the primary costs nothing.
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html#controlling-attempts-and-timeouts
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#origin-connection-attempts
 */
import { Duration } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';

export interface OriginTimeouts {
  /** CloudFront's `ConnectionAttempts` (1–3). */
  readonly connectionAttempts: number;
  /** CloudFront's `ConnectionTimeout` (1–10 s). */
  readonly connectionTimeout: Duration;
  /** `S3OriginConfig.OriginReadTimeout`, the origin response timeout (1–120 s, default 30 s). */
  readonly responseTimeout: Duration;
}

/**
 * The group's primary (the home bucket): one attempt, fail over fast. Worst case before the failover
 * origin is asked: connectionAttempts × (connectionTimeout + responseTimeout) = 1 × (2 s + 4 s) = 6 s
 * (a bucket that accepts the connection and never answers); 2 s for one that refuses or drops it.
 */
export const PRIMARY_ORIGIN_TIMEOUTS: OriginTimeouts = {
  connectionAttempts: 1,
  connectionTimeout: Duration.seconds(2),
  responseTimeout: Duration.seconds(4),
};

/**
 * The failover origin is the last resort: nothing comes after it, so a retry is worth more than speed.
 * Worst case: 2 × (3 s + 8 s) = 22 s, reached only when both regions' buckets fail.
 */
export const FAILOVER_ORIGIN_TIMEOUTS: OriginTimeouts = {
  connectionAttempts: 2,
  connectionTimeout: Duration.seconds(3),
  responseTimeout: Duration.seconds(8),
};

/** Worst case, in seconds, before CloudFront gives up on an origin with these timeouts. */
export function worstCaseSeconds(t: OriginTimeouts): number {
  return t.connectionAttempts * (t.connectionTimeout.toSeconds() + t.responseTimeout.toSeconds());
}

/**
 * `origin` with `t`'s response timeout on its S3 origin config: the S3 origins of aws-cdk-lib do not
 * expose `OriginReadTimeout`, which CloudFormation accepts on `S3OriginConfig`.
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cloudfront-distribution-s3originconfig.html
 */
export function withResponseTimeout(origin: cloudfront.IOrigin, t: OriginTimeouts): cloudfront.IOrigin {
  return {
    bind(scope, options) {
      const config = origin.bind(scope, options);
      const property = config.originProperty;
      if (!property?.s3OriginConfig) return config;
      return {
        ...config,
        originProperty: {
          ...property,
          s3OriginConfig: {
            ...(property.s3OriginConfig as cloudfront.CfnDistribution.S3OriginConfigProperty),
            originReadTimeout: t.responseTimeout.toSeconds(),
          },
        },
      };
    },
  };
}
