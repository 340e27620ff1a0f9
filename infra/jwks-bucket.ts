/**
 * The private bucket behind every serving path (design §2, §5): `.well-known/jwks.json`, the
 * discovery documents and the append-only revocation list (`revocations/<kid>`, design §4), plus the
 * log bucket that receives its server access logs and CloudFront's access logs.
 *
 * Encryption: SSE-S3, not SSE-KMS. Everything stored here is public by design (public keys, metadata,
 * revoked kids), so a customer managed key protects nothing a reader cannot fetch; SSE-KMS would put
 * a `kms:Decrypt` on every CloudFront miss and every API Gateway read (request charges, throttling
 * quotas, and a key policy CloudFront's OAC and API Gateway's role must both be in).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { OBJECT_KEYS } from '../src/constants.ts';

export interface JwksBucketProps {
  /**
   * How long server and CloudFront access logs are kept.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
  /**
   * How long superseded versions of published documents are kept (history for incident analysis).
   * @default Duration.days(365)
   */
  readonly noncurrentVersionRetention?: Duration;
  /**
   * A fixed name for the content bucket (a multi-region replica region's, infra/regions.ts).
   * @default - a name CloudFormation generates
   */
  readonly bucketName?: string;
}

/** Prefixes inside the log bucket. */
export const LOG_PREFIXES = {
  S3: 's3-access/',
  CLOUDFRONT: 'cloudfront/',
  API: 'api/',
  /** Server access logs of the audit bucket (jwks-events.ts). */
  AUDIT: 's3-access-audit/',
} as const;

export class JwksBucket extends Construct {
  /** The content bucket (private; CloudFront reads it through OAC, API Gateway through a role). */
  readonly bucket: s3.Bucket;
  /** Access logs of the content bucket and of CloudFront. */
  readonly logBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: JwksBucketProps = {}) {
    super(scope, id);
    this.logBucket = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // CloudFront standard logging writes with an ACL grant: the bucket must keep ACLs enabled.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: props.accessLogRetention ?? Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Content', {
      ...(props.bucketName ? { bucketName: props.bucketName } : {}),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // Answers CORS preflights (OPTIONS) of the JWKS behaviour: browsers preflight If-None-Match.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedOrigins: ['*'],
          allowedHeaders: ['If-None-Match'],
          exposedHeaders: ['ETag'],
          maxAge: 86_400,
        },
      ],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: LOG_PREFIXES.S3,
      lifecycleRules: [
        {
          noncurrentVersionExpiration: props.noncurrentVersionRetention ?? Duration.days(365),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const revocations = this.bucket.arnForObjects(`${OBJECT_KEYS.REVOCATIONS_PREFIX}*`);
    // The revocation list is append-only (design §4 invariant 4: a revoked key stays out of every
    // JWKS, also after a point-in-time restore of the registry). Enforced here, for every principal
    // including administrators' roles: no delete, and no write that could replace an existing entry.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'RevocationListIsAppendOnlyNoDelete',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [revocations],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'RevocationListIsAppendOnlyCreateOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [revocations],
        // S3 conditional-write enforcement: only `If-None-Match: *` creates are allowed.
        // @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
  }
}
