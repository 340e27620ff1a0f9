/**
 * The verifier canary (issue 10 §2): a function that, every `canarySchedule`, checks the product the way
 * a verifier does — discovery, the JWKS through CloudFront and through the API Gateway stage, a token
 * from `/oauth2/token` verified against that JWKS (src/probe/run.ts) — and publishes `CanarySuccess` and
 * `CanaryLatency` per `Path`, and `JwksStalenessSeconds` per JWKS path (src/probe/staleness.ts). One
 * alarm per path pages on the alarm topic, and one per JWKS path when the served kids lag the registry
 * beyond what caching explains.
 *
 * Outside the trust boundary on purpose: it fetches what verifiers fetch, over the internet. Its role
 * reads one secret (its own client's credential), queries the registry partition (public keys and
 * lifecycle instants; never a `CLIENT#` item, never a write) and writes its own logs; no grant on the
 * bucket or the keys. The secret is created holding `{}`; until an operator registers the canary client
 * and stores its credential there (docs/runbook.md), the token checks are skipped and emit no data point.
 */
import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  CANARY_METRICS,
  CANARY_PATHS,
  ENV,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  SERVICE_NAMES,
  TABLE,
} from '../src/constants.ts';
import type { Policy } from '../src/core/types.ts';
import { PUBLICATION_MARGIN_MS, stalenessThresholdMs } from '../src/probe/staleness.ts';
import { policyEnvironment } from './environment.ts';
import { HandlerFunction } from './handler-function.ts';
import { grantPartitions } from './table-access.ts';

export interface JwksCanaryProps {
  /** The one issuer (`https://<CloudFront or custom domain>`): discovery, JWKS and token endpoint under it. */
  readonly issuer: string;
  /** The JWKS URL at the API Gateway stage. */
  readonly apiJwksUrl: string;
  /** The `Deployment` dimension of the metrics. */
  readonly deploymentName: string;
  /** Where the canary's alarms go (the alarm topic of JwksAlarms). */
  readonly alarmTopic: sns.ITopic;
  /**
   * The registry the served JWKS is compared with (read-only: `dynamodb:Query` on its partition) and
   * the policy whose cache lifetimes bound how far the served JWKS may lag it.
   */
  readonly registry: { readonly table: dynamodb.ITable; readonly policy: Policy };
  /**
   * How often the canary runs; also the period of its alarms. 1 minute to 1 hour.
   * @default Duration.minutes(5)
   */
  readonly canarySchedule?: Duration;
  readonly logRetention?: logs.RetentionDays;
}

/** The name of the canary's secret: `aws secretsmanager put-secret-value --secret-id <this>`. */
export const canarySecretName = (deploymentName: string): string =>
  `jwks-publisher/${deploymentName}/canary-client`;

/** Paths whose checks always run: no data for them means the canary is not running (breaching). */
const ALWAYS_RUN = [CANARY_PATHS.DISCOVERY, CANARY_PATHS.CLOUDFRONT_JWKS, CANARY_PATHS.APIGW_JWKS] as const;

/** The paths that serve the JWKS: each has a staleness. */
export const JWKS_PATHS = [CANARY_PATHS.CLOUDFRONT_JWKS, CANARY_PATHS.APIGW_JWKS] as const;

export class JwksCanary extends Construct {
  readonly handler: HandlerFunction;
  readonly secret: secretsmanager.Secret;
  readonly rule: events.Rule;
  readonly schedule: Duration;
  /** One per `Path`, in the order of CANARY_PATHS. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** One per JWKS path (JWKS_PATHS): the served kids lag the registry beyond the threshold. */
  readonly stalenessAlarms: cloudwatch.Alarm[] = [];
  /** `JwksStalenessSeconds` above which the staleness alarms count a data point (stalenessThresholdMs). */
  readonly stalenessThreshold: Duration;

  constructor(scope: Construct, id: string, props: JwksCanaryProps) {
    super(scope, id);
    this.schedule = props.canarySchedule ?? Duration.minutes(5);
    const minutes = this.schedule.toMinutes({ integral: false });
    if (!(minutes >= 1 && minutes <= 60 && Number.isInteger(minutes))) {
      throw new RangeError(
        `canarySchedule must be whole minutes from 1 to 60 (got ${this.schedule.toHumanString()})`,
      );
    }

    this.secret = new secretsmanager.Secret(this, 'Credential', {
      // A name the runbook can give (the deployment name is unique per account and Region).
      secretName: canarySecretName(props.deploymentName),
      description:
        'JWKS publisher canary client credential: {"client_id","client_secret"} or {"client_id","private_jwk"}; {} until registered',
      // A placeholder, not a credential: the operator puts the client's credential here (docs/runbook.md).
      secretStringValue: SecretValue.unsafePlainText('{}'),
    });

    this.handler = new HandlerFunction(this, 'Canary', {
      handler: 'canary',
      description:
        'JWKS publisher: verifier canary (discovery, JWKS on both paths, a token verified with jose)',
      // Every request has a 5 s timeout; at most seven of them per run.
      timeout: Duration.seconds(45),
      environment: {
        [ENV.ISSUER]: props.issuer,
        [ENV.CANARY_API_JWKS_URL]: props.apiJwksUrl,
        [ENV.CANARY_SECRET_ARN]: this.secret.secretArn,
        [ENV.DEPLOYMENT_NAME]: props.deploymentName,
        [ENV.TABLE_NAME]: props.registry.table.tableName,
        // The whole policy, parsed at cold start with the same code as the other handlers.
        ...policyEnvironment(props.registry.policy),
      },
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    this.secret.grantRead(this.handler.role);
    // One consistent Query of the registry partition per run (DynamoDbRegistry.read): never a CLIENT#
    // item (secret hashes), never a write.
    grantPartitions(this.handler.role, props.registry.table, {
      sid: 'ReadRegistryPartitionOnly',
      actions: ['dynamodb:Query'],
      partitions: [TABLE.REGISTRY_PARTITION],
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'JWKS publisher: run the verifier canary',
      schedule: events.Schedule.rate(this.schedule),
      // No retry: the next run is one period away, and a retried success would hide a flapping path.
      targets: [new targets.LambdaFunction(this.handler.function, { retryAttempts: 0 })],
    });

    // The exact dimension set the handler writes (Powertools adds `service`): anything else never fires.
    const canaryMetric = (metricName: string, path: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: {
          [METRIC_DIMENSIONS.DEPLOYMENT]: props.deploymentName,
          [METRIC_DIMENSIONS.SERVICE]: SERVICE_NAMES.CANARY,
          [CANARY_METRICS.PATH_DIMENSION]: path,
        },
        statistic,
        period: this.schedule,
      });
    for (const path of Object.values(CANARY_PATHS)) {
      const always = (ALWAYS_RUN as readonly string[]).includes(path);
      const alarm = new cloudwatch.Alarm(this, `Failing-${path}`, {
        alarmDescription: always
          ? `Verifier canary: ${path} failed (or the canary did not run) in 2 of the last 3 runs. See docs/runbook.md "Canary".`
          : `Verifier canary: a token from /oauth2/token could not be obtained or did not verify against the published JWKS in 2 of the last 3 runs. See docs/runbook.md "Canary".`,
        metric: canaryMetric(CANARY_METRICS.SUCCESS, path, 'Minimum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // 2 of 3: one lost run (a cold start timing out, a blip on the internet path) does not page.
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        // The canary always reports these paths, so no data means it is not running: that pages. The
        // token path reports nothing while no credential is stored, which is not a failure.
        treatMissingData: always
          ? cloudwatch.TreatMissingData.BREACHING
          : cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.alarms.push(alarm);
    }

    this.stalenessThreshold = Duration.millis(stalenessThresholdMs(props.registry.policy));
    const thresholdSeconds = Math.ceil(this.stalenessThreshold.toMilliseconds() / 1000);
    for (const path of JWKS_PATHS) {
      const alarm = new cloudwatch.Alarm(this, `Stale-${path}`, {
        alarmDescription:
          `Verifier canary: the JWKS served on ${path} has lagged the registry for more than ${thresholdSeconds} s ` +
          `(cdnMaxTtl + jwksMaxAge + ${PUBLICATION_MARGIN_MS / 60_000} min) in 2 of the last 3 runs: a kid the registry ` +
          'requires is missing, or an EXPIRED/REVOKED kid is still served. See docs/runbook.md "JWKS staleness".',
        metric: canaryMetric(CANARY_METRICS.STALENESS, path, 'Maximum'),
        threshold: thresholdSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // The figure only grows while a difference lasts: two runs past the threshold are one period
        // of it, not a blip; one lost run does not hide it.
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        // No data: no document was fetched or the registry was unreadable. CanarySuccess of the same
        // path fails then (and pages), so this alarm stays about staleness alone.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.stalenessAlarms.push(alarm);
    }

    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The secret holds an OAuth client credential issued by this deployment's own token endpoint (jwks clients " +
        'create), not a database password Secrets Manager could rotate: rotating it means registering a new canary ' +
        'client and storing its credential (docs/runbook.md), which no rotation Lambda can do without admin rights on the registry.',
    });
  }
}
