/**
 * The publish handler on the registry's stream (design §2): every batch re-reads the whole registry,
 * renders, writes S3 if the bytes changed, invalidates CloudFront and records `publishedAt`.
 *
 * Because every invocation converges on the registry's current state, a failed record is retried
 * (bisected down to the failing one, reported per item) but never allowed to block the shard for
 * ever: after `retryAttempts` or `maxRecordAge` its metadata goes to an encrypted queue, whose depth
 * alarms (stream-consumer.ts). The next successful batch publishes everything the dropped record would have.
 *
 * KMS: the publisher proves each record against the vault before publishing it (design §11), so it may
 * read tags and public keys — of this deployment's tagged keys only (an IAM condition on the tag, which
 * the keys' policies delegate to IAM through the account statement; src/core/key-policy.ts).
 */
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KEY_TAGS, OBJECT_KEYS, TABLE } from '../src/constants.ts';
import { HandlerFunction } from './handler-function.ts';
import { grantReadRevocationList } from './revocation-list-access.ts';
import {
  acknowledgeListStreams,
  consumeRegistryStream,
  type StreamConsumerOptions,
} from './stream-consumer.ts';
import { grantPartitions, PUBLICATION_MARK_ATTRIBUTES } from './table-access.ts';

export interface JwksPublicationProps extends StreamConsumerOptions {
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  readonly distribution: cloudfront.IDistribution;
  /** Value of the deployment tag: the only KMS keys whose public halves the publisher may read. */
  readonly deploymentName: string;
  /** Environment shared by all handlers plus BUCKET_NAME and DISTRIBUTION_ID. */
  readonly environment: Readonly<Record<string, string>>;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  readonly logRetention?: logs.RetentionDays;
  /**
   * Multi-region (ADR 0008): the publisher records `PUBLISHED#<region>#<keyRef>` items (PutItem) and
   * never writes a KEY item (UpdateItem), which only the primary's rotate function writes; it may delete
   * its JWKS (withdrawn while its region is outside the serving set).
   * @default false
   */
  readonly multiRegion?: boolean;
  /** HandlerFunction options for the role (a multi-region deployment's named or imported role). */
  readonly role?: { readonly roleName?: string; readonly role?: iam.IRole };
}

/** Objects the publisher writes (and HEADs first: the write protocol of design §5). */
export const PUBLISHED_OBJECT_KEYS = [
  OBJECT_KEYS.JWKS,
  OBJECT_KEYS.OAUTH_METADATA,
  OBJECT_KEYS.OPENID_CONFIGURATION,
] as const;

export class JwksPublication extends Construct {
  readonly handler: HandlerFunction;
  /** Metadata of stream records that could not be published (the on-failure destination). */
  readonly failureQueue: sqs.Queue;
  readonly eventSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: JwksPublicationProps) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'Publish', {
      handler: 'publish',
      description:
        'JWKS publisher: render and publish the JWKS and discovery documents on every registry change',
      timeout: props.timeout ?? Duration.seconds(60),
      environment: props.environment,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...props.role,
    });
    const role = this.handler.role;

    const consumer = consumeRegistryStream(this, props.table, this.handler.function, props);
    this.failureQueue = consumer.failureQueue;
    this.eventSource = consumer.eventSource;

    // Registry partition only (never CLIENT# items): one consistent Query, and a publication mark
    // that can set nothing but the mark's attributes (ADR 0010): UpdateItem of `publishedAt` on a key
    // item (multi-region: PutItem of this region's PUBLISHED# item instead).
    grantPartitions(role, props.table, {
      sid: 'ReadRegistry',
      actions: ['dynamodb:Query'],
      partitions: [TABLE.REGISTRY_PARTITION],
    });
    grantPartitions(role, props.table, {
      sid: 'MarkPublishedOnly',
      actions: [props.multiRegion ? 'dynamodb:PutItem' : 'dynamodb:UpdateItem'],
      partitions: [TABLE.REGISTRY_PARTITION],
      attributes: PUBLICATION_MARK_ATTRIBUTES[props.multiRegion ? 'multiRegion' : 'singleRegion'],
    });

    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WritePublishedDocuments',
        // GetObject also authorises HeadObject (the write protocol starts with a HEAD).
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: PUBLISHED_OBJECT_KEYS.map((key) => props.bucket.arnForObjects(key)),
      }),
    );
    if (props.multiRegion) {
      // A region outside the serving set withdraws its JWKS so the origin group fails over (ADR 0008):
      // DeleteObject on that one object only (a delete marker in the versioned bucket).
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WithdrawJwksOutsideTheServingSet',
          actions: ['s3:DeleteObject'],
          resources: [props.bucket.arnForObjects(OBJECT_KEYS.JWKS)],
        }),
      );
    }
    // Multi-region: each region copies REVOKED records into its own bucket's list; the bucket policy
    // keeps it create-only (If-None-Match: *) and undeletable.
    grantReadRevocationList(
      role,
      props.bucket,
      props.multiRegion ? { appendSid: 'MirrorRevocationList' } : {},
    );
    props.distribution.grantCreateInvalidation(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ProveRecordsWithThisDeploymentsKeysOnly',
        actions: ['kms:GetPublicKey', 'kms:ListResourceTags'],
        resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`],
        conditions: { StringEquals: { [`aws:ResourceTag/${KEY_TAGS.DEPLOYMENT}`]: props.deploymentName } },
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        "Key ARNs are random and keys are created after deployment: the statement is limited by a condition to keys carrying this deployment's tag, and to reading tags and public keys.",
    });

    acknowledgeListStreams(role);
  }
}
