/**
 * `JwksPublisher`: the whole system of design §2 as one reusable construct — key registry, rotation
 * schedule, publication, the private bucket with its two serving paths (CloudFront, API Gateway), the
 * events consumer (its SNS topic and Object Lock audit bucket), the token endpoint and the alarms.
 * Every setting is validated at construction (so at `cdk synth`) with the code the handlers run; a
 * bad one throws an error naming it.
 *
 * The token endpoint (`token`) is a Lambda behind `api.restApi` (`POST /oauth2/token`, same stage), a
 * `/oauth2/token` behaviour on the issuer's distribution, and a key signer: its role is passed to
 * `rotation.addKeySigner`, so every key created from then on names it in its key policy (`kms:Sign`).
 */
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV, PATHS } from '../src/constants.ts';
import type { PolicyInput } from '../src/core/types.ts';
import { assertPolicyRoundTrip, policyEnvironment } from './environment.ts';
import { FirstReconcile } from './first-reconcile.ts';
import { JwksAlarms } from './jwks-alarms.ts';
import { JwksApi } from './jwks-api.ts';
import { JwksBucket } from './jwks-bucket.ts';
import { JwksCanary } from './jwks-canary.ts';
import { JwksDashboard } from './jwks-dashboard.ts';
import { JwksDistribution } from './jwks-distribution.ts';
import { JwksEvents } from './jwks-events.ts';
import { JwksPublication } from './jwks-publication.ts';
import { KeyRegistry } from './key-registry.ts';
import type { MultiRegionProps } from './multi-region.ts';
import {
  failoverBucket,
  keyRoleOptions,
  regionKeyPoliciesJson,
  replicaDocuments,
} from './multi-region-parts.ts';
import type { KeyRole } from './regions.ts';
import { ReplicaRegistry } from './replica-registry.ts';
import { RotationSchedule } from './rotation-schedule.ts';
import { type ResolvedSettings, resolveSettings } from './settings.ts';
import { TokenDomain } from './token-domain.ts';
import { TokenEndpoint, tokenMethodOptions } from './token-endpoint.ts';
import { TokenRateLimit } from './token-rate-limit.ts';

export interface JwksPublisherProps {
  /**
   * Environment name: the API Gateway stage (`/<envName>/.well-known/jwks.json`).
   * 1-128 characters of A-Z a-z 0-9 _ -.
   * @default 'prod'
   */
  readonly envName?: string;
  /**
   * Value of the `jwks-publisher:deployment` tag on every KMS key this deployment creates, and the
   * `Deployment` dimension of its metrics. Unique per account and region.
   * @default - the stack name
   */
  readonly deploymentName?: string;
  /**
   * Lifecycle policy (design §3), as an operator writes it: durations like `30d`, `48h`, `300s`;
   * `algorithm` one of RS256, PS256, ES256, ES384; `kmsDeletionWindow` in days.
   * @default - DEFAULT_POLICY of src/core/policy.ts
   */
  readonly policy?: PolicyInput;
  /**
   * Custom domain for CloudFront (and therefore the issuer). Requires `certificateArn`.
   * @default - the distribution's `*.cloudfront.net` domain
   */
  readonly customDomain?: string;
  /**
   * ACM certificate for `customDomain`, in us-east-1 (CloudFront's requirement).
   * @default - none
   */
  readonly certificateArn?: string;
  /**
   * Retention of audit records: the audit bucket's Object Lock default retention.
   * Whole days, `1d` to `36500d`.
   * @default '365d'
   */
  readonly auditRetention?: string | number;
  /**
   * Object Lock mode of the audit bucket: `governance` (retention cannot be bypassed: the bucket
   * policy denies `s3:BypassGovernanceRetention` to everyone) or `compliance` (not even the root user
   * can shorten or remove a retention, and the bucket policy cannot lift that).
   * @default 'governance'
   */
  readonly auditLockMode?: string;
  /**
   * E-mail address subscribed to the alarm topic (confirm the subscription mail).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * IAM roles that may sign with this deployment's keys besides the token function (whose role is
   * always named): named in the key policy of every key created from now on (`kms:Sign`).
   * @default - none
   */
  readonly keySignerRoleArns?: readonly string[];
  /**
   * IAM roles that may read public keys (`kms:GetPublicKey`, `kms:DescribeKey`) of new keys.
   * @default - none
   */
  readonly keyReaderRoleArns?: readonly string[];
  /**
   * Create API Gateway's account-level CloudWatch Logs role (needed once per account and region; it
   * overwrites the region's account setting, so only one stack per region may set it).
   * @default false
   */
  readonly apiCloudWatchRole?: boolean;
  /**
   * CloudFront price class.
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * Retention of the functions' and API Gateway's log groups.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Steady-state requests per second of `POST /oauth2/token` at the stage: the global guard (each
   * token is one KMS Sign, and KMS request quotas are shared by the account). A number, or its
   * decimal string (context).
   * @default 100
   */
  readonly tokenThrottleRate?: number | string;
  /**
   * Burst (bucket size) of `POST /oauth2/token` at the stage, whole requests.
   * @default 200
   */
  readonly tokenThrottleBurst?: number | string;
  /**
   * Per-client limit: token requests per `Authorization` header value per 5 minutes, enforced by a
   * regional AWS WAF web ACL on the stage (token-rate-limit.ts; $5/month + $1 per rule + $0.60 per
   * million requests). 10 to 2,000,000,000.
   * @default - no web ACL; docs/deploy.md shows the CloudFront web ACL to use instead or as well
   */
  readonly tokenRateLimit?: number | string;
  /**
   * ARN of a CloudFront-scope AWS WAF web ACL (created in us-east-1, e.g. the per-IP rate rule on
   * `/oauth2/token` in docs/deploy.md) attached to the distribution.
   * @default - no web ACL at the edge
   */
  readonly edgeWebAclArn?: string;
  /**
   * Multi-region (ADR 0008): set by infra/app.ts for each regional stack of `-c regions=…`
   * (infra/multi-region.ts).
   * @default - a single-region deployment
   */
  readonly multiRegion?: MultiRegionProps;
  /**
   * One token host name for every region: Route 53 latency alias records with health checks to each
   * region's stage (token-domain.ts). Requires `hostedZoneId` and `hostedZoneName` (a public zone
   * holding the name); each region's stack adds its certificate, custom domain and records.
   * @default - none: each region's stage URL, and the issuer's `/oauth2/token` to the home region
   */
  readonly tokenDomain?: string;
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
}

export class JwksPublisher extends Construct {
  readonly settings: ResolvedSettings;
  /** The table; in a multi-region replica region, this region's replica of the home stack's global table. */
  readonly registry: KeyRegistry | ReplicaRegistry;
  /** This region's documents bucket (a multi-region replica region's is in its base stack). */
  readonly storage: JwksBucket;
  /** The issuer's distribution (a multi-region replica region's is the home stack's). */
  readonly distribution: JwksDistribution;
  readonly api: JwksApi;
  readonly rotation: RotationSchedule;
  readonly publication: JwksPublication;
  /** The events consumer (a multi-region replica region's is the home stack's: events come from the home replica's stream). */
  readonly events: JwksEvents;
  readonly token: TokenEndpoint;
  /** The region's share of the one token host name, when `tokenDomain` is set. */
  readonly tokenDomain?: TokenDomain;
  /** The per-client WAF rule on the stage, when `tokenRateLimit` is set. */
  readonly tokenRateLimit?: TokenRateLimit;
  readonly alarms: JwksAlarms;
  /** The verifier canary: probes discovery, both JWKS paths and a token every 5 minutes (jwks-canary.ts). */
  readonly canary: JwksCanary;
  /** The CloudWatch dashboard (jwks-dashboard.ts). */
  readonly dashboard: JwksDashboard;
  /** The rotate function's first run, during the deployment (first-reconcile.ts). */
  readonly firstReconcile: FirstReconcile;
  /** `https://<CloudFront or custom domain>`: issuer and base of every published URL. */
  readonly issuer: string;

  constructor(scope: Construct, id: string, props: JwksPublisherProps = {}) {
    super(scope, id);
    const mr = props.multiRegion;
    const stack = Stack.of(this);
    const replica = mr?.replica;
    this.settings = resolveSettings({
      ...props,
      // One deployment across regions: the same KMS tag value in every region.
      deploymentName: props.deploymentName ?? mr?.appStackName ?? stack.stackName,
      ...(mr ? { regions: mr.regions } : {}),
    });
    const { policy, envName, deploymentName } = this.settings;
    for (const warning of this.settings.policyWarnings) {
      Annotations.of(this).addWarningV2('jwks-publisher:policy', warning);
    }
    const policyEnv = policyEnvironment(policy);
    assertPolicyRoundTrip(policy, policyEnv);
    const logRetention = props.logRetention ? { logRetention: props.logRetention } : {};
    const otherRegions = mr ? mr.regions.filter((r) => r !== stack.region) : [];
    const keyRole = (role: KeyRole) => keyRoleOptions(this, stack, mr, role);

    let documents: s3.IBucket;
    if (mr && replica) {
      this.registry = new ReplicaRegistry(this, 'Registry', {
        tableName: replica.home.registry.table.tableName,
      });
      this.storage = replica.base.storage;
      documents = replicaDocuments(this, stack, mr);
      this.distribution = replica.home.distribution;
      this.issuer = replica.home.issuer;
    } else {
      this.registry = new KeyRegistry(this, 'Registry', mr ? { replicaRegions: otherRegions } : {});
      this.storage = new JwksBucket(this, 'Storage');
      documents = this.storage.bucket;
      this.distribution = new JwksDistribution(this, 'Cdn', {
        bucket: this.storage.bucket,
        logBucket: this.storage.logBucket,
        maxTtl: Duration.millis(policy.cdnMaxTtl),
        defaultTtl: Duration.millis(policy.jwksMaxAge),
        ...(this.settings.customDomain ? { customDomain: this.settings.customDomain } : {}),
        ...(props.priceClass ? { priceClass: props.priceClass } : {}),
        ...(this.settings.edgeWebAclArn ? { webAclArn: this.settings.edgeWebAclArn } : {}),
        ...(mr?.failover ? { failoverBucket: failoverBucket(this, mr.failover) } : {}),
      });
      this.issuer = this.distribution.baseUrl;
    }
    this.api = new JwksApi(this, 'Api', {
      bucket: documents,
      envName,
      ...(props.apiCloudWatchRole === undefined ? {} : { cloudWatchRole: props.apiCloudWatchRole }),
      methodOptions: tokenMethodOptions(this.settings.tokenThrottling),
      ...logRetention,
    });

    const environment = {
      [ENV.TABLE_NAME]: this.registry.table.tableName,
      [ENV.DEPLOYMENT_NAME]: deploymentName,
      [ENV.ISSUER]: this.issuer,
      ...policyEnv,
      // Every handler learns the deployment's regions; AWS_REGION is Lambda's own (ENV.REGION).
      ...(mr ? { [ENV.REGIONS]: mr.regions.join(',') } : {}),
    };
    this.rotation = new RotationSchedule(this, 'Rotation', {
      table: this.registry.table,
      bucket: documents,
      deploymentName,
      policy,
      environment,
      ...logRetention,
      ...(mr ? { multiRegion: { regions: mr.regions, region: stack.region } } : {}),
      ...keyRole('rotate'),
    });
    for (const arn of this.settings.keySignerRoleArns) this.rotation.addKeySigner(arn);
    for (const arn of this.settings.keyReaderRoleArns) this.rotation.addKeyReader(arn);
    if (mr) {
      this.rotation.handler.function.addEnvironment(
        ENV.REGION_KEY_POLICIES,
        regionKeyPoliciesJson(stack, mr, {
          signers: this.settings.keySignerRoleArns,
          readers: this.settings.keyReaderRoleArns,
        }),
      );
    }
    this.publication = new JwksPublication(this, 'Publication', {
      table: this.registry.table,
      bucket: documents,
      distribution: this.distribution.distribution,
      deploymentName,
      ...(mr ? { multiRegion: true } : {}),
      ...keyRole('publish'),
      environment: {
        ...environment,
        [ENV.BUCKET_NAME]: documents.bucketName,
        [ENV.DISTRIBUTION_ID]: this.distribution.distribution.distributionId,
      },
      ...logRetention,
    });
    if (replica) {
      // Events and the audit trail come from the home replica's stream only (every replica's stream
      // carries every write): one consumer, no duplicates. SNS publishes within a region, so a replica
      // region's publisher does not announce `jwks.published` (docs/deploy.md, Multi-region).
      this.events = replica.home.events;
    } else {
      this.events = new JwksEvents(this, 'Events', {
        table: this.registry.table,
        issuer: this.issuer,
        deploymentName,
        logBucket: this.storage.logBucket,
        // Whole days by validation (settings.ts); Object Lock counts in days.
        auditRetention: Duration.days(this.settings.auditRetention / 86_400_000),
        auditLockMode: this.settings.auditLockMode,
        ...logRetention,
      });
      // The publish function announces `jwks.published` after a changed write (issue 6) on the events
      // topic; the events construct comes second (it needs nothing of the publication), so wire it here.
      this.publication.handler.function.addEnvironment(ENV.TOPIC_ARN, this.events.topic.topicArn);
      this.events.grantPublish(this.publication.handler.role);
    }
    this.token = new TokenEndpoint(this, 'Token', {
      table: this.registry.table,
      restApi: this.api.restApi,
      envName,
      // The issuer's `/oauth2/token` goes to the home region's API (ADR 0008: POST cannot fail over).
      ...(replica ? {} : { distribution: this.distribution.distribution }),
      environment,
      ...(mr ? { regionalAudience: true } : {}),
      ...logRetention,
      ...keyRole('token'),
    });
    // kms:Sign only through the key policy (design §3 invariant 7): no identity policy grants it.
    this.rotation.addKeySigner(this.token.handler.role);
    if (this.settings.tokenDomain) {
      this.tokenDomain = new TokenDomain(this, 'TokenDomain', {
        ...this.settings.tokenDomain,
        restApi: this.api.restApi,
        stage: this.api.stage,
        envName,
      });
    }
    if (this.settings.tokenRateLimit !== undefined) {
      this.tokenRateLimit = new TokenRateLimit(this, 'TokenRateLimit', {
        stage: this.api.stage,
        limit: this.settings.tokenRateLimit,
      });
    }
    this.alarms = new JwksAlarms(this, 'Alarms', {
      deploymentName,
      rotateFunction: this.rotation.handler.function,
      rotationInterval: this.rotation.interval,
      publishFunction: this.publication.handler.function,
      failureQueue: this.publication.failureQueue,
      ...(replica
        ? {}
        : { eventsFunction: this.events.handler.function, eventsFailureQueue: this.events.failureQueue }),
      token: { function: this.token.handler.function, serverErrors: this.token.serverErrors },
      ...(this.settings.alarmEmail ? { alarmEmail: this.settings.alarmEmail } : {}),
    });
    if (mr) {
      this.alarms.addMultiRegionAlarms({
        deploymentName,
        tableName: this.registry.table.tableName,
        receivingRegions: otherRegions,
        maxReplicationLag: policy.maxReplicationLag,
        rotationInterval: this.rotation.interval,
      });
    }
    this.canary = new JwksCanary(this, 'Canary', {
      issuer: this.issuer,
      apiJwksUrl: this.api.jwksUrl,
      deploymentName,
      alarmTopic: this.alarms.topic,
      registry: { table: this.registry.table, policy },
      ...logRetention,
    });
    this.dashboard = new JwksDashboard(this, 'Dashboard', {
      deploymentName,
      rotationPeriodMs: policy.rotationPeriod,
      publishFunction: this.publication.handler.function,
      eventsFunction: this.events.handler.function,
      tokenFunction: this.token.handler.function,
      apiName: this.api.restApi.restApiName,
      stageName: envName,
      tokenPath: PATHS.TOKEN,
      stalenessThreshold: this.canary.stalenessThreshold,
    });
    this.firstReconcile = new FirstReconcile(this, 'FirstReconcile', {
      handler: this.rotation.handler.function,
      // A replica region's stack depends on its base and home stacks, which hold the rest.
      executeAfter: replica
        ? [this.registry, this.api, this.rotation, this.publication, this.token]
        : [
            this.registry,
            this.storage,
            this.distribution,
            this.api,
            this.rotation,
            this.publication,
            this.events,
            this.token,
          ],
      executeBefore: [this.alarms.noSuccessfulReconcile],
    });
  }
}
