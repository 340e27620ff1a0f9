/**
 * CloudFront in front of the private bucket: the one issuer origin (design §2) and the JWKS URL
 * verifiers fetch. HTTP contract (design §5): GET and HEAD, ETag and 304 straight from S3, CORS `*`,
 * the origin's `Cache-Control` honoured up to `cdnMaxTtl`, and never a redirect (so HTTPS only:
 * `redirect-to-https` would answer plain HTTP with a 301).
 *
 * The token endpoint adds a second behaviour, `/oauth2/token` → the API Gateway origin, all methods,
 * caching disabled (token-endpoint.ts).
 */
import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { OBJECT_KEYS } from '../src/constants.ts';
import { globalName } from './global-names.ts';
import { LOG_PREFIXES } from './jwks-bucket.ts';
import {
  FAILOVER_ORIGIN_TIMEOUTS,
  type OriginTimeouts,
  PRIMARY_ORIGIN_TIMEOUTS,
  withResponseTimeout,
} from './origin-timeouts.ts';
import { FAILOVER_STATUS_CODES } from './regions.ts';
import type { CustomDomain } from './settings.ts';

export interface JwksDistributionProps {
  /** The content bucket (must be a `Bucket` of this stack so the OAC grant can be added to its policy). */
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.IBucket;
  /** The cache policy's max TTL: `cdnMaxTtl` of the lifecycle policy (design §3). */
  readonly maxTtl: Duration;
  /**
   * The TTL CloudFront uses only when the origin sends no `Cache-Control` (ours always does).
   * Clamped to `maxTtl`.
   */
  readonly defaultTtl: Duration;
  /** @default - the `*.cloudfront.net` domain and certificate */
  readonly customDomain?: CustomDomain;
  /**
   * Edge locations used. Verifiers are servers, mostly in the regions of the cheapest class.
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * A CloudFront-scope web ACL (us-east-1) to attach: the per-IP rate limit of the token endpoint.
   * @default - none (the stage's throttling and optional web ACL still apply)
   */
  readonly webAclArn?: string;
  /**
   * Multi-region (ADR 0008): a replica region's documents bucket, created by its base stack. The
   * documents are then served from an origin group: `bucket`, and this one when `bucket`'s region
   * answers 403/404/5xx. Its bucket policy admits this account's distributions (base stack), since the
   * base stack is deployed before this distribution exists.
   * @default - one origin
   */
  readonly failoverBucket?: s3.IBucket;
}

/**
 * The edge serves the documents, never the revocation list (which is for the publisher): a deny for
 * CloudFront on `revocations/*`, whatever an OAC grant on `bucket/*` allows.
 */
export function denyEdgeTheRevocationList(bucket: s3.IBucket): void {
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'EdgeServesDocumentsNotTheRevocationList',
      effect: iam.Effect.DENY,
      principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(`${OBJECT_KEYS.REVOCATIONS_PREFIX}*`)],
    }),
  );
}

export class JwksDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly cachePolicy: cloudfront.CachePolicy;
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** `https://<domain>`, no trailing slash: the issuer and base of every published URL. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: JwksDistributionProps) {
    super(scope, id);
    const maxTtl = props.maxTtl.toSeconds();
    this.cachePolicy = new cloudfront.CachePolicy(this, 'CachePolicy', {
      // CloudFront names are account-wide: stack and region in each (global-names.ts).
      cachePolicyName: globalName(this, 'jwks', 128),
      comment: 'JWKS publisher: honour the origin Cache-Control, never longer than cdnMaxTtl',
      // Min 0: a `max-age` below any minimum is obeyed, not stretched. Max = cdnMaxTtl: the edge never
      // keeps a document longer than the prepublish-lead rule assumes (design §3).
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(Math.min(props.defaultTtl.toSeconds(), maxTtl)),
      maxTtl: Duration.seconds(maxTtl),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
    });

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      responseHeadersPolicyName: globalName(this, 'jwks-headers', 128),
      comment: 'JWKS publisher: CORS for any origin, security headers',
      corsBehavior: {
        // Browsers (SPAs verifying ID tokens) may fetch the JWKS from any origin; nothing is secret.
        accessControlAllowOrigins: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD', 'OPTIONS'],
        accessControlAllowHeaders: ['If-None-Match'],
        accessControlExposeHeaders: ['ETag'],
        accessControlAllowCredentials: false,
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: false,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        contentSecurityPolicy: {
          contentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'",
          override: true,
        },
      },
    });

    const certificate = props.customDomain
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn)
      : undefined;

    // OAC: CloudFront signs its S3 requests; the bucket policy admits only this distribution.
    const originAccessControl = new cloudfront.S3OriginAccessControl(this, 'OriginAccess', {
      originAccessControlName: globalName(this, 'jwks', 64),
      description: 'JWKS publisher: CloudFront signs its reads of the content bucket',
    });
    const s3Origin = (bucket: s3.IBucket, timeouts?: OriginTimeouts) =>
      timeouts
        ? withResponseTimeout(
            origins.S3BucketOrigin.withOriginAccessControl(bucket, {
              originAccessControl,
              connectionAttempts: timeouts.connectionAttempts,
              connectionTimeout: timeouts.connectionTimeout,
            }),
            timeouts,
          )
        : origins.S3BucketOrigin.withOriginAccessControl(bucket, { originAccessControl });
    // One region: nothing to fail over to, CloudFront's defaults (3 × 10 s, 30 s) stay.
    const primaryOrigin = s3Origin(props.bucket, props.failoverBucket ? PRIMARY_ORIGIN_TIMEOUTS : undefined);
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'JWKS publisher: JWKS, discovery documents and the token endpoint',
      defaultBehavior: {
        origin: props.failoverBucket
          ? new origins.OriginGroup({
              primaryOrigin,
              fallbackOrigin: s3Origin(props.failoverBucket, FAILOVER_ORIGIN_TIMEOUTS),
              // 403 is S3's "no such object" without s3:ListBucket: a region that lost its documents.
              fallbackStatusCodes: [...FAILOVER_STATUS_CODES],
            })
          : primaryOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        // OPTIONS: `If-None-Match` is not a CORS-safelisted header, so a browser's conditional fetch is
        // preflighted. S3 answers the preflight from the bucket's CORS rule (jwks-bucket.ts), which
        // needs Origin and the Access-Control-Request-* headers: the CORS-S3Origin request policy
        // forwards exactly those (not part of the cache key); preflights are not cached.
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
        originRequestPolicy: cloudfront.OriginRequestPolicy.CORS_S3_ORIGIN,
        cachePolicy: this.cachePolicy,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: LOG_PREFIXES.CLOUDFRONT,
      ...(props.customDomain && certificate
        ? {
            domainNames: [props.customDomain.domainName],
            certificate,
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: cloudfront.SSLMethod.SNI,
          }
        : {}),
    });

    // The OAC grant covers `bucket/*`; the revocation list is for the publisher, not for the edge.
    denyEdgeTheRevocationList(props.bucket);
    if (props.failoverBucket) {
      Annotations.of(this.distribution).acknowledgeWarning(
        '@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac',
        "The failover bucket's policy is written by its base stack (infra/region-base-stack.ts), deployed first.",
      );
    }

    this.baseUrl = `https://${props.customDomain?.domainName ?? this.distribution.distributionDomainName}`;

    if (!props.customDomain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain the distribution uses the *.cloudfront.net certificate, whose security ' +
          'policy CloudFront fixes at TLSv1; set customDomain + certificateArn to enforce TLSv1.2_2021.',
      });
    }
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'Public keys must be fetchable by verifiers in any country; geo restriction would break them.',
    });
    if (!props.webAclArn) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves public documents (JWKS, discovery) by GET/HEAD/OPTIONS and forwards POST ' +
          '/oauth2/token to the API stage, where the method throttling and the optional tokenRateLimit web ACL ' +
          'apply to every request, through CloudFront or not. A per-IP web ACL must be created in us-east-1; ' +
          'docs/deploy.md (Rate limiting) gives it, and edgeWebAclArn attaches it.',
      });
    }
  }
}
