/**
 * What pages an operator (design §3, issue 4 §8): the reconciler failing or not running, publication
 * or the events consumer lagging or dropping records, a signing key the registry does not know, a
 * registry record the vault does not back (design §11), any
 * KMS tagging of this deployment's tag outside key creation, and the token endpoint failing (function
 * errors, throttles, 5xx answers). Everything goes to one encrypted SNS topic.
 *
 * The tagging alarm is an EventBridge rule on CloudTrail management events: it needs a CloudTrail
 * trail recording management (write) events in the region (docs/deploy.md).
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KEY_TAGS, METRIC_DIMENSIONS, METRICS, METRICS_NAMESPACE, SERVICE_NAMES } from '../src/constants.ts';

/**
 * A custom metric a handler writes (Powertools Metrics, EMF: no IAM needed). A CloudWatch metric is
 * identified by its exact dimension set, so this names both dimensions the handlers write:
 * `Deployment` and Powertools' `service`.
 */
/**
 * Seconds above which another region's heartbeat is stale (src/heartbeat.ts). Both regions run every
 * `interval`, unsynchronised, so a healthy replica shows an age up to one interval plus the replication
 * lag; one more interval of margin. A stall is reported within about three intervals of its start.
 */
export function heartbeatAgeThreshold(interval: Duration, maxReplicationLagMs: number): number {
  return 2 * interval.toSeconds() + Math.ceil(maxReplicationLagMs / 1000);
}

export const handlerMetric = (
  deploymentName: string,
  service: string,
  metricName: string,
  {
    dimensions,
    ...options
  }: { statistic: string; period: Duration; label?: string; dimensions?: Record<string, string> },
): cloudwatch.Metric =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: {
      [METRIC_DIMENSIONS.DEPLOYMENT]: deploymentName,
      [METRIC_DIMENSIONS.SERVICE]: service,
      ...dimensions,
    },
    ...options,
  });

export interface JwksAlarmsProps {
  readonly deploymentName: string;
  readonly rotateFunction: lambda.IFunction;
  /** The rotation schedule's interval: "no successful reconcile in two intervals" alarms. */
  readonly rotationInterval: Duration;
  readonly publishFunction: lambda.IFunction;
  readonly failureQueue: sqs.IQueue;
  /**
   * The events consumer (audit trail and SNS events) and its on-failure queue.
   * @default - none in this stack (a multi-region replica region: events are the home stack's)
   */
  readonly eventsFunction?: lambda.IFunction;
  readonly eventsFailureQueue?: sqs.IQueue;
  /**
   * Publication lag (stream IteratorAge) that alarms; the events consumer's lag alarms at the same age.
   * @default Duration.minutes(5)
   */
  readonly maxIteratorAge?: Duration;
  /** @default - no subscription; subscribe to the topic yourself */
  readonly alarmEmail?: string;
  /** The token endpoint: its function and the 5xx answers of `POST /oauth2/token` at the stage. */
  readonly token?: { readonly function: lambda.IFunction; readonly serverErrors: cloudwatch.IMetric };
}

export class JwksAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Created after the first reconcile (first-reconcile.ts): it treats missing data as breaching. */
  readonly noSuccessfulReconcile: cloudwatch.Alarm;
  /** The CloudTrail-backed rule for KMS tagging outside key creation. */
  readonly taggingRule: events.Rule;

  constructor(scope: Construct, id: string, props: JwksAlarmsProps) {
    super(scope, id);
    // A customer managed key: CloudWatch alarms and EventBridge cannot publish to a topic encrypted
    // with the AWS managed `alias/aws/sns` key (its policy cannot name them).
    const key = new kms.Key(this, 'TopicKey', {
      description: 'JWKS publisher alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    // Only for this account's alarms and rules: the service principals are shared by every account,
    // so `aws:SourceAccount` keeps another account's alarm from using this key or topic.
    const thisAccount = { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } };
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `PublishToAlarmTopic-${service.split('.')[0]}`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: thisAccount,
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      // SNS caps display names at 100 characters; deployment names may be up to 128.
      displayName: `JWKS publisher alarms: ${props.deploymentName}`.slice(0, 100),
      masterKey: key,
      enforceSSL: true,
    });
    // The topic policy CDK writes (TLS only, then EventBridge's grant) replaces SNS's default policy,
    // which is what lets CloudWatch alarms publish: without this statement every alarm action is
    // refused and nobody hears of an alarm.
    // @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccountPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ...thisAccount,
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    // The handlers' custom metrics (Powertools Metrics, EMF: no IAM needed), by their exact dimensions.
    const metric = (
      metricName: string,
      statistic: string,
      period: Duration,
      service: string = SERVICE_NAMES.ROTATE,
    ) => handlerMetric(props.deploymentName, service, metricName, { statistic, period });

    this.add('RotationErrors', {
      alarmDescription: 'The rotate function failed (errors, timeouts or throttles count as errors).',
      metric: props.rotateFunction.metricErrors({ period: props.rotationInterval, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.noSuccessfulReconcile = this.add('NoSuccessfulReconcile', {
      alarmDescription:
        'No successful reconcile in two periods of the rotation schedule: keys will not activate, retire or expire.',
      metric: metric(METRICS.RECONCILE_SUCCEEDED, 'Sum', props.rotationInterval),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data is the failure mode being watched for (schedule disabled, function never starting).
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.add('UnknownVaultKey', {
      alarmDescription:
        'A KMS key tagged for this deployment is unknown to the registry (design §3 invariant 7). Never deleted automatically.',
      metric: metric(METRICS.UNKNOWN_VAULT_KEYS, 'Maximum', props.rotationInterval),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add('UnverifiedKey', {
      alarmDescription:
        'A registry record names a key the vault does not back (design §11): someone wrote the table. The record is ' +
        'never published; `jwks status` shows it as UNVERIFIED. See the runbook.',
      metric: metric(METRICS.UNVERIFIED_KEYS, 'Maximum', Duration.minutes(5), SERVICE_NAMES.PUBLISH),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addStreamConsumerAlarms({
      fn: props.publishFunction,
      failureQueue: props.failureQueue,
      maxIteratorAge: props.maxIteratorAge,
      lag: [
        'PublicationLag',
        'The publisher is behind the registry stream: JWKS changes and revocations are late.',
      ],
      errors: [
        'PublicationErrors',
        'The publish function failed; the stream retries, but repeated failures delay publication.',
      ],
      dropped: [
        'UnpublishedRecords',
        'Registry stream records gave up after all retries (on-failure queue). Run `jwks publish` after fixing the cause.',
      ],
    });
    if (props.eventsFunction && props.eventsFailureQueue) {
      this.addStreamConsumerAlarms({
        fn: props.eventsFunction,
        failureQueue: props.eventsFailureQueue,
        maxIteratorAge: props.maxIteratorAge,
        lag: [
          'EventsLag',
          'The events function is behind the registry stream: subscribers hear of key changes late.',
        ],
        errors: [
          'EventsErrors',
          'The events function failed; the stream retries, but audit records and lifecycle events are late.',
        ],
        dropped: [
          'UnauditedRecords',
          'Registry stream records gave up after all retries (events on-failure queue): their audit records and ' +
            'events are missing. The stream keeps records for 24 h: fix the cause and replay them from the queued positions.',
        ],
      });

      this.add('EventsRecordFailures', {
        alarmDescription:
          'The events function reported stream records as failed (partial batch response): no Lambda error counts ' +
          'them. Lambda retries them; until they pass their audit records and events are late. Read its log ' +
          '(`stream record failed`, with the code).',
        metric: handlerMetric(props.deploymentName, SERVICE_NAMES.EVENTS, METRICS.RECORDS_FAILED, {
          statistic: 'Sum',
          period: Duration.minutes(15),
        }),
        // One transient S3 or SNS failure that the retry clears is not a page; three in 15 minutes is.
        threshold: 3,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    if (props.token) this.addTokenAlarms(props.token);

    // Tagging a key with this deployment's tag (or removing it) outside CreateKey could smuggle a
    // foreign key into the deployment or hide one of ours. CreateKey carries its tags in the
    // CreateKey event, so every TagResource/UntagResource mentioning the tag key is suspect.
    this.taggingRule = new events.Rule(this, 'KmsTagging', {
      description: `JWKS publisher: KMS ${KEY_TAGS.DEPLOYMENT} tag changed outside key creation`,
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: ['TagResource', 'UntagResource'],
          $or: [
            { requestParameters: { tags: { tagKey: [KEY_TAGS.DEPLOYMENT] } } },
            { requestParameters: { tagKeys: [KEY_TAGS.DEPLOYMENT] } },
          ],
        },
      },
    });
    // Bound by hand, not with `targets.SnsTopic`: that one adds an unconditioned EventBridge grant to
    // the topic and to its key; these are limited to this rule (aws:SourceArn) and this account.
    this.taggingRule.addTarget({
      bind: () => ({
        arn: this.topic.topicArn,
        input: events.RuleTargetInput.fromObject({
          alarm: 'KmsDeploymentTagChanged',
          deployment: props.deploymentName,
          eventName: events.EventField.fromPath('$.detail.eventName'),
          keyId: events.EventField.fromPath('$.detail.requestParameters.keyId'),
          principal: events.EventField.fromPath('$.detail.userIdentity.arn'),
          time: events.EventField.time,
        }),
      }),
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'KmsTaggingRulePublishes',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ...thisAccount, ArnEquals: { 'aws:SourceArn': this.taggingRule.ruleArn } },
      }),
    );
  }

  /**
   * The function's own Errors count only what escapes the handler (a cold start refusing a setting, a
   * crash, a timeout): the endpoint answers its own failures with a 500/503 JSON body, which only the
   * stage's 5XXError of the method sees — no ACTIVE key, KMS refusing Sign (a key policy without
   * this role), DynamoDB failing.
   */
  /**
   * The same three alarms for each consumer of the registry stream (publisher, events): falling behind
   * (iterator age), failing (errors; the stream retries), and giving up (records in its on-failure queue).
   */
  private addStreamConsumerAlarms(c: {
    readonly fn: lambda.IFunction;
    readonly failureQueue: sqs.IQueue;
    readonly maxIteratorAge: Duration | undefined;
    readonly lag: readonly [string, string];
    readonly errors: readonly [string, string];
    readonly dropped: readonly [string, string];
  }): void {
    this.add(c.lag[0], {
      alarmDescription: c.lag[1],
      metric: c.fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: (c.maxIteratorAge ?? Duration.minutes(5)).toMilliseconds(),
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add(c.errors[0], {
      alarmDescription: c.errors[1],
      metric: c.fn.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
      threshold: 3,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add(c.dropped[0], {
      alarmDescription: c.dropped[1],
      metric: c.failureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private addTokenAlarms(token: NonNullable<JwksAlarmsProps['token']>): void {
    const period = Duration.minutes(5);
    this.add('TokenErrors', {
      alarmDescription:
        'The token function failed (cold start refused a setting, crash or timeout): clients got 5xx instead of tokens.',
      metric: token.function.metricErrors({ period, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add('TokenThrottles', {
      alarmDescription:
        "Lambda throttled the token function (the account's concurrency is exhausted): clients got 5xx.",
      metric: token.function.metricThrottles({ period, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add('TokenServerErrors', {
      alarmDescription:
        'POST /oauth2/token answered 5xx: server_error (e.g. KMS refused Sign because a key policy lacks the ' +
        "token role) or temporarily_unavailable (no ACTIVE key). The function's log names the cause.",
      metric: token.serverErrors,
      // A single KMS or DynamoDB hiccup is retried by the client; five in five minutes is a pattern.
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Multi-region (ADR 0008): the global table replicating slower than the policy allows for
   * (`ReplicationLatency` from this region's replica to each other region, published here), the primary
   * not reconciling (this region's rotate function, in watch mode, counting actions the primary has
   * left undone for three runs in a row), and a fenced-off region's write being overruled.
   * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
   */
  addMultiRegionAlarms(props: {
    readonly deploymentName: string;
    readonly tableName: string;
    /** The regions this region's replica replicates to. */
    readonly receivingRegions: readonly string[];
    /** Policy `maxReplicationLag` in milliseconds (the unit of ReplicationLatency). */
    readonly maxReplicationLag: number;
    readonly rotationInterval: Duration;
  }): void {
    for (const region of props.receivingRegions) {
      this.add(`ReplicationLatency-${region}`, {
        alarmDescription:
          `Registry replication to ${region} is slower than the policy's maxReplicationLag: a retired key may ` +
          'be named ACTIVE there for longer than the retention rule allows for (docs/deploy.md, Multi-region).',
        metric: new cloudwatch.Metric({
          namespace: 'AWS/DynamoDB',
          metricName: 'ReplicationLatency',
          dimensionsMap: { TableName: props.tableName, ReceivingRegion: region },
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: props.maxReplicationLag,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const rotateMetric = (metricName: string, statistic: string) =>
      handlerMetric(props.deploymentName, SERVICE_NAMES.ROTATE, metricName, {
        statistic,
        period: props.rotationInterval,
      });
    // ReplicationLatency exists only while items replicate: a stalled replica with nothing to receive
    // is silent. The heartbeats are written every run, so their age is always there to watch (issue 20 §4).
    const threshold = heartbeatAgeThreshold(props.rotationInterval, props.maxReplicationLag);
    for (const region of props.receivingRegions) {
      this.add(`ReplicaHeartbeatAge-${region}`, {
        alarmDescription:
          `${region}'s heartbeat, as this region's replica has it, is older than two rotate intervals plus ` +
          `maxReplicationLag (${threshold} s), or this region's rotate function reported none: replication ` +
          `from ${region} is stalled, or ${region}'s rotate function stopped (runbook: Multi-region).`,
        metric: handlerMetric(props.deploymentName, SERVICE_NAMES.ROTATE, METRICS.REPLICA_HEARTBEAT_AGE, {
          statistic: 'Maximum',
          period: props.rotationInterval,
          dimensions: { [METRIC_DIMENSIONS.SOURCE_REGION]: region },
        }),
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No value in a period means no run here, or no heartbeat from there ever arrived: both matter.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    this.add('PrimaryOverdueActions', {
      alarmDescription:
        'Lifecycle actions are due that the primary region has not taken for three runs: the primary stopped ' +
        'reconciling (region down?). Tokens keep working; rotation is paused. See the runbook: promote-region.',
      metric: rotateMetric(METRICS.OVERDUE_ACTIONS, 'Maximum'),
      threshold: 0,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.add('FencedWrites', {
      alarmDescription:
        'A region that is no longer the primary wrote the registry after a promotion; this region re-asserted ' +
        'STATE. Make sure the old primary is down or its rotate schedule disabled (runbook).',
      metric: rotateMetric(METRICS.FENCED_WRITES, 'Sum'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Every alarm goes to the topic; add one with `this.add(id, props)`. */
  private add(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
