/**
 * The registry stream's second consumer (design §6, issue 6): every key record becomes one immutable
 * audit object and, on a status change, one lifecycle event on an SNS topic subscribers filter on.
 *
 * - Topic: encrypted with its own customer managed key (rotating), refuses plain-HTTP publishes.
 * - Audit bucket: versioned with Object Lock and a default retention (`auditRetention`, governance
 *   mode unless `compliance` is chosen); its policy denies `s3:BypassGovernanceRetention`, deletes and
 *   overwrites under `audit/` to every principal, so governance mode cannot be lifted quietly.
 * - The function may publish to this topic (`grantPublish`, also given to the publish function for
 *   `jwks.published`), and create and read `audit/*` objects in this bucket
 *   (the writer HEADs, lists `audit/<keyRef>/` for the previous link, reads it, PUTs with
 *   `If-None-Match: *`): no delete, no retention change, no bypass.
 * - Stream failure handling is the publisher's (stream-consumer.ts).
 */
import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../src/constants.ts';
import { AUDIT_PREFIX } from '../src/core/audit.ts';
import { HandlerFunction } from './handler-function.ts';
import { LOG_PREFIXES } from './jwks-bucket.ts';
import { logicalIdOf } from './logical-id.ts';
import type { AuditLockMode } from './settings.ts';
import {
  acknowledgeListStreams,
  consumeRegistryStream,
  type StreamConsumerOptions,
} from './stream-consumer.ts';

export interface JwksEventsProps extends StreamConsumerOptions {
  readonly table: dynamodb.ITable;
  /** The one issuer (design §2): events carry `<issuer>/.well-known/jwks.json` as `jwksUri`. */
  readonly issuer: string;
  /** The `Deployment` dimension of the function's `RecordsFailed` metric. */
  readonly deploymentName: string;
  /** Receives the audit bucket's server access logs. */
  readonly logBucket: s3.IBucket;
  /** Object Lock default retention of every audit record (whole days, 1–36500). */
  readonly auditRetention: Duration;
  /** @default 'governance' */
  readonly auditLockMode?: AuditLockMode;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  readonly logRetention?: logs.RetentionDays;
}

export class JwksEvents extends Construct {
  readonly topicKey: kms.Key;
  readonly topic: sns.Topic;
  readonly auditBucket: s3.Bucket;
  readonly handler: HandlerFunction;
  /** Metadata of stream records that were neither audited nor announced (the on-failure destination). */
  readonly failureQueue: sqs.Queue;
  readonly eventSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: JwksEventsProps) {
    super(scope, id);
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'JWKS publisher lifecycle event topic encryption',
      enableKeyRotation: true,
      // Messages are transient: once the topic is gone, the key protects nothing.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    // SNS encrypts and decrypts messages with the key on the publisher's behalf. Limited by the
    // encryption context SNS sends (`aws:sns:topicArn`) to topics of this account and region, so the
    // service cannot be made to use the key for anyone else's topic.
    // @see https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SnsUsesKeyForThisAccountsTopics',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:sns:topicArn': `arn:${Aws.PARTITION}:sns:${Aws.REGION}:${Aws.ACCOUNT_ID}:*`,
          },
        },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'JWKS publisher key lifecycle events',
      masterKey: this.topicKey,
      enforceSSL: true,
    });

    const lock =
      props.auditLockMode === 'compliance'
        ? s3.ObjectLockRetention.compliance(props.auditRetention)
        : s3.ObjectLockRetention.governance(props.auditRetention);
    this.auditBucket = new s3.Bucket(this, 'Audit', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // SSE-S3: records hold public key images, states and operator identities, nothing a KMS key
      // policy would protect better than the bucket policy and IAM already do.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: lock,
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: LOG_PREFIXES.AUDIT,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // The trail outlives the stack (and Object Lock would refuse the delete anyway).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const records = this.auditBucket.arnForObjects(`${AUDIT_PREFIX}*`);
    this.auditBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        // Governance mode lets a principal with this permission shorten or remove a retention; denied
        // to everyone, lifting the lock first takes a bucket-policy change (CloudTrail records it).
        sid: 'NobodyBypassesGovernanceRetention',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:BypassGovernanceRetention'],
        resources: [this.auditBucket.arnForObjects('*')],
      }),
    );
    this.auditBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        // Object Lock keeps every version, but a plain DELETE would still add a delete marker that
        // hides a record from listings: a removed-looking record breaks the chain (design §6).
        sid: 'AuditRecordsAreNeverDeleted',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [records],
      }),
    );
    this.auditBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        // One version per record: only `If-None-Match: *` creates are allowed (the writer always
        // sends it), so no principal can write a second version over a record.
        // @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
        sid: 'AuditRecordsAreCreateOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [records],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );

    this.handler = new HandlerFunction(this, 'Events', {
      handler: 'events',
      description: 'JWKS publisher: audit every key change and announce lifecycle events on SNS',
      timeout: props.timeout ?? Duration.seconds(60),
      environment: {
        [ENV.TOPIC_ARN]: this.topic.topicArn,
        [ENV.AUDIT_BUCKET_NAME]: this.auditBucket.bucketName,
        [ENV.ISSUER]: props.issuer,
        [ENV.DEPLOYMENT_NAME]: props.deploymentName,
      },
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    const consumer = consumeRegistryStream(this, props.table, this.handler.function, props);
    this.failureQueue = consumer.failureQueue;
    this.eventSource = consumer.eventSource;

    const role = this.handler.role;
    this.grantPublish(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // GetObject also authorises HeadObject (the writer checks whether the record is there).
        sid: 'AppendAndReadAuditRecords',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [records],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Listing `audit/<keyRef>/` finds the previous link of the chain; and without ListBucket S3
        // answers the HEAD of a not-yet-written record with 403, not 404 (HeadObject carries no
        // prefix, so an `s3:prefix` condition cannot help there).
        sid: 'ListAuditRecords',
        actions: ['s3:ListBucket'],
        resources: [this.auditBucket.bucketArn],
      }),
    );

    acknowledgeListStreams(role);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.auditBucket)}.Arn>/${AUDIT_PREFIX}*]`,
      reason:
        'One audit object per stream record under audit/<keyRef>/ (design §6): the names are not known in ' +
        'advance. Create and read only; the bucket policy denies deletes, overwrites and retention bypass to everyone.',
    });
  }

  /**
   * Lets `role` publish to the events topic and nothing more: `sns:Publish` on this topic, and the
   * topic key's data-key actions SNS performs as the publisher of an encrypted topic. Used for the
   * events function and the publish function (`jwks.published`, issue 6); the one cdk-nag finding
   * this brings (`kms:GenerateDataKey*` is a wildcard action) is acknowledged on the role here.
   * @see https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
   */
  grantPublish(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishLifecycleEvents',
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Publishing to an encrypted topic: SNS generates a data key (and decrypts it) as the publisher.
        sid: 'EncryptEventsWithTheTopicKey',
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: [this.topicKey.keyArn],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'What SNS requires of a publisher to an encrypted topic (GenerateDataKey and its variants), on the ' +
        "topic's own key only.",
    });
  }
}
