/**
 * How a function consumes the registry's stream (design §2, §4: `publish` and `events`, the two
 * consumers a DynamoDB stream shard allows). One definition, so both consumers fail the same way:
 *
 * - from TRIM_HORIZON: a new or re-created mapping must not skip a change;
 * - per-item failures (`ReportBatchItemFailures`) and bisection, so one bad record is isolated;
 * - bounded retries and record age, so a record that keeps failing cannot block the shard for ever
 *   (the registry lives in one partition, so in practice one shard carries every change);
 * - then its metadata (shard, sequence numbers — not the record) goes to an encrypted SQS queue whose
 *   depth alarms; the stream keeps the record itself for 24 h for a replay;
 * - one batch per shard at a time (parallelization factor 1): the events consumer's per-key order and
 *   audit chain depend on it, and the publisher gains nothing from concurrency;
 * - only records of the registry partition (`pk = REGISTRY`: keys and STATE) reach the function. Both
 *   consumers ignore every other item, and the token endpoint writes one `JTI#…` item per
 *   `private_key_jwt` token (and DynamoDB TTL deletes it later): without the filter each of those would
 *   invoke both functions. Lambda drops non-matching records before invoking, at no charge.
 *
 * A function (not a construct) so each consumer keeps its queue's construct id under its own scope.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE } from '../src/constants.ts';

/** The event filter pattern: registry-partition records only (matched on the stream record's Keys). */
export const REGISTRY_RECORDS_FILTER = lambda.FilterCriteria.filter({
  dynamodb: { Keys: { [TABLE.PARTITION_KEY]: { S: lambda.FilterRule.isEqual(TABLE.REGISTRY_PARTITION) } } },
});

export interface StreamConsumerOptions {
  /**
   * Retries of a failing batch (after bisection) before its records go to the on-failure queue.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Oldest record still retried (the stream keeps 24 h).
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /** @default 100 */
  readonly batchSize?: number;
}

export interface StreamConsumer {
  /** Metadata of stream records the function gave up on (the on-failure destination). */
  readonly failureQueue: sqs.Queue;
  readonly eventSource: DynamoEventSource;
}

/** Subscribes `fn` to `table`'s stream; the failure queue is created in `scope` as `FailedRecords`. */
export function consumeRegistryStream(
  scope: Construct,
  table: dynamodb.ITable,
  fn: lambda.IFunction,
  options: StreamConsumerOptions = {},
): StreamConsumer {
  const failureQueue = new sqs.Queue(scope, 'FailedRecords', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(failureQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter destination (on-failure destination of the stream event source ' +
      'mapping); it receives record metadata only and its depth alarms. A DLQ of a DLQ would add nothing.',
  });
  const eventSource = new DynamoEventSource(table, {
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: options.batchSize ?? 100,
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: options.retryAttempts ?? 10,
    maxRecordAge: options.maxRecordAge ?? Duration.hours(6),
    parallelizationFactor: 1,
    filters: [REGISTRY_RECORDS_FILTER],
    onFailure: new SqsDlq(failureQueue),
  });
  fn.addEventSource(eventSource);
  return { failureQueue, eventSource };
}

/** The finding every stream consumer's role carries; `role` is where it is acknowledged. */
export function acknowledgeListStreams(role: Construct): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'dynamodb:ListStreams, added by the DynamoDB event source, supports no resource-level permissions; ' +
      "reading the stream itself is limited to this table's stream ARN.",
  });
}
