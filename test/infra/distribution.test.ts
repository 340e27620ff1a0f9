import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { asArray, logicalId, type Statement, synth } from './synth.ts';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

describe('JwksBucket', () => {
  const { stack, template } = synth();
  const bucketId = logicalId(stack.publisher.storage.bucket);
  const bucket = template.toJSON().Resources[bucketId];
  const policyOf = (id: string): Statement[] =>
    Object.values(template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: id } } }))[0]
      ?.Properties.PolicyDocument.Statement;
  const statements = policyOf(bucketId);
  const onRevocations = (s: Statement) =>
    JSON.stringify(s.Resource).includes(`/${OBJECT_KEYS.REVOCATIONS_PREFIX}*`);

  it('blocks every kind of public access', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('is versioned, SSE-S3 encrypted, and logs access to the log bucket', () => {
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    expect(bucket.Properties.LoggingConfiguration.DestinationBucketName).toEqual({
      Ref: logicalId(stack.publisher.storage.logBucket),
    });
  });

  it('denies any request without TLS, on both buckets', () => {
    for (const id of [bucketId, logicalId(stack.publisher.storage.logBucket)]) {
      expect(policyOf(id)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('lets only this distribution read through OAC (SourceArn condition)', () => {
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Action: 's3:GetObject',
      Principal: { Service: 'cloudfront.amazonaws.com' },
    });
    const sourceArn = JSON.stringify(allows[0]?.Condition?.StringEquals?.['AWS:SourceArn']);
    expect(sourceArn).toContain(':distribution/');
    expect(sourceArn).toContain(logicalId(stack.publisher.distribution.distribution));
  });

  it('keeps the revocation list append-only and away from the edge', () => {
    const denies = statements.filter((s) => s.Effect === 'Deny' && onRevocations(s));
    expect(denies.flatMap((s) => asArray(s.Action)).sort()).toEqual([
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObject',
      's3:PutObject',
    ]);
    const put = denies.find((s) => s.Action === 's3:PutObject');
    expect(put?.Condition).toEqual({ Null: { 's3:if-none-match': 'true' } });
    const get = denies.find((s) => s.Action === 's3:GetObject');
    expect(get?.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
  });
});

describe('JwksDistribution', () => {
  const { stack, template } = synth();
  const config = () =>
    template.toJSON().Resources[logicalId(stack.publisher.distribution.distribution)].Properties
      .DistributionConfig;

  it('reaches the bucket through an origin access control, not an identity or a public bucket', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always' },
    });
    // The other origin is the token endpoint's API Gateway origin (token.test.ts).
    const [origin, ...others] = config().Origins.filter(
      (o: { S3OriginConfig?: unknown }) => o.S3OriginConfig,
    );
    expect(others).toHaveLength(0);
    expect(origin.Id).toBe(config().DefaultCacheBehavior.TargetOriginId);
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig.OriginAccessIdentity).toBe('');
  });

  it('answers CORS preflights of the JWKS: OPTIONS allowed, Origin forwarded to S3, a bucket CORS rule for If-None-Match', () => {
    const c = config();
    expect(c.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD', 'OPTIONS']);
    // Managed CORS-S3Origin: Origin, Access-Control-Request-Headers/-Method to the origin only.
    expect(c.DefaultCacheBehavior.OriginRequestPolicyId).toBe('88a5eaf4-2fd4-4709-b370-b4c650ea3fcf');
    const bucket = template.toJSON().Resources[logicalId(stack.publisher.storage.bucket)].Properties;
    expect(bucket.CorsConfiguration.CorsRules).toEqual([
      expect.objectContaining({
        AllowedMethods: ['GET', 'HEAD'],
        AllowedOrigins: ['*'],
        AllowedHeaders: ['If-None-Match'],
        ExposedHeaders: ['ETag'],
      }),
    ]);
  });

  it('serves GET and HEAD over HTTPS only (no redirect), HTTP/2 and HTTP/3, compressed, with access logs', () => {
    const c = config();
    expect(c.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      CachedMethods: ['GET', 'HEAD'],
      Compress: true,
    });
    expect(c.HttpVersion).toBe('http2and3');
    expect(c.Logging.Bucket).toEqual({
      'Fn::GetAtt': [logicalId(stack.publisher.storage.logBucket), 'RegionalDomainName'],
    });
    expect(c.CustomErrorResponses).toBeUndefined();
  });

  it('caches by the origin Cache-Control between 0 and cdnMaxTtl (default = jwksMaxAge = 300 s)', () => {
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ MinTTL: 0, DefaultTTL: 300, MaxTTL: 300 }),
    });
  });

  it('sets max TTL from cdnMaxTtl and never a default above it when both are given as context', () => {
    const custom = synth({ jwksMaxAge: '120s', cdnMaxTtl: '60s', prepublishLead: '1d' });
    custom.template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ MinTTL: 0, DefaultTTL: 60, MaxTTL: 60 }),
    });
  });

  it('adds CORS * for GET/HEAD and security headers', () => {
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        CorsConfig: Match.objectLike({
          AccessControlAllowOrigins: { Items: ['*'] },
          AccessControlAllowMethods: { Items: ['GET', 'HEAD', 'OPTIONS'] },
          AccessControlAllowCredentials: false,
          OriginOverride: true,
        }),
        SecurityHeadersConfig: Match.objectLike({
          StrictTransportSecurity: Match.objectLike({ Override: true }),
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
        }),
      }),
    });
  });

  it('uses the custom domain, its certificate and TLS 1.2 when customDomain and certificateArn are set', () => {
    const custom = synth({ customDomain: 'jwks.example.com', certificateArn: CERT });
    const c =
      custom.template.toJSON().Resources[logicalId(custom.stack.publisher.distribution.distribution)]
        .Properties.DistributionConfig;
    expect(c.Aliases).toEqual(['jwks.example.com']);
    expect(c.ViewerCertificate).toEqual({
      AcmCertificateArn: CERT,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    expect(custom.stack.publisher.issuer).toBe('https://jwks.example.com');
  });
});
