/**
 * The rotate handler on an hourly schedule (design §2): a reconciler, so it runs often and does
 * nothing when nothing is due.
 *
 * KMS permissions (design §3 invariant 7). The role's IAM policy can only *create* keys, and only
 * signing keys of the configured spec, origin AWS_KMS, in its own region, tagged with this deployment's
 * name and a key-ref; nothing else in KMS (multi-region: also replicas and the keys' tags, below).
 * Everything it later does to a key (GetPublicKey, DisableKey, ScheduleKeyDeletion) comes from that
 * key's own key policy, which names this role (KEY_ADMIN_ROLE_ARN) but never lets it change that
 * policy (src/core/key-policy.ts); `kms:Sign` is granted there to the signer roles only
 * (KEY_SIGNER_ROLE_ARNS). The role writes every new key's policy, so its IAM policy also denies it
 * what a policy it wrote could grant it (Sign, CreateGrant, PutKeyPolicy, imported material): an
 * explicit Deny wins over any key policy. So no destructive KMS action is ever granted on `*`, and the
 * role cannot touch keys of other deployments. Every grant is proven against the code's real calls by
 * the IAM contract (test/iam/, docs/iam.md).
 */
import { Aws, Duration, Lazy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV, HEARTBEAT_ATTRIBUTES, KEY_TAGS, TABLE } from '../src/constants.ts';
import { algorithmSpec } from '../src/core/algorithms.ts';
import { formatDuration } from '../src/core/duration.ts';
import type { Policy } from '../src/core/types.ts';
import { PolicyError } from '../src/errors.ts';
import { HandlerFunction } from './handler-function.ts';
import { grantReadRevocationList } from './revocation-list-access.ts';
import { grantPartitions } from './table-access.ts';

export interface RotationScheduleProps {
  readonly table: dynamodb.ITable;
  /** The JWKS bucket: the reconciler reads its revocation list (`revocations/`). */
  readonly bucket: s3.IBucket;
  readonly deploymentName: string;
  /** The validated lifecycle policy (its algorithm fixes the one key spec the role may create). */
  readonly policy: Policy;
  /** Environment shared by all handlers (table, deployment, issuer, policy). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How often the reconciler runs. The "no successful reconcile" alarm allows two of these.
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;
  /** @default - ROTATE_TIMEOUT: 60 s in one region, 2 minutes across several */
  readonly timeout?: Duration;
  readonly logRetention?: logs.RetentionDays;
  /**
   * Multi-region (ADR 0008): every region of the deployment, the initial primary first, and this
   * region. Keys are then multi-Region primary keys replicated into every other region, by whichever
   * region is primary (any may be promoted, so every region's role may create and replicate).
   * @default - single region
   */
  readonly multiRegion?: { readonly regions: readonly string[]; readonly region: string };
  /** HandlerFunction options for the role (a multi-region deployment's named or imported role). */
  readonly role?: { readonly roleName?: string; readonly role?: iam.IRole };
}

/**
 * The rotate function's default timeout. One region: 60 s, enough for a run that creates the first key
 * and waits up to 40 s for its publication (rotate-handler.ts bootstrapWaitMs). Several regions: the
 * same run first waits up to 30 s for the new key's replicas to be Enabled (kms-replicas.ts
 * ReplicaWait), then the 40 s, plus KMS calls in every region and global-table reads and commits: 70 s
 * of waiting alone, so 2 minutes leaves the calls a margin of 50 s.
 */
export const ROTATE_TIMEOUT = {
  singleRegion: Duration.seconds(60),
  multiRegion: Duration.minutes(2),
} as const;

/**
 * Never allowed to the rotate role, whatever a key policy says (NeverSignOrTakeOverKeys): signing,
 * grants, rewriting a key policy, and imported key material.
 */
export const ROTATOR_DENIED_KMS_ACTIONS = [
  'kms:Sign',
  'kms:CreateGrant',
  'kms:PutKeyPolicy',
  'kms:ImportKeyMaterial',
  'kms:GetParametersForImport',
] as const;

/** KMS's service principal for multi-Region keys (its service-linked role). */
export const MRK_SERVICE = 'mrk.kms.amazonaws.com';

/** Condition shared by CreateKey and TagResource: only this deployment's two tags, both present. */
const tagConditions = (
  deploymentName: string,
  stringEquals: Record<string, string | readonly string[]> = {},
) => ({
  StringEquals: { [`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]: deploymentName, ...stringEquals },
  'ForAllValues:StringEquals': { 'aws:TagKeys': [KEY_TAGS.DEPLOYMENT, KEY_TAGS.KEY_REF] },
  Null: { [`aws:RequestTag/${KEY_TAGS.KEY_REF}`]: 'false' },
});

export class RotationSchedule extends Construct {
  readonly handler: HandlerFunction;
  readonly rule: events.Rule;
  readonly interval: Duration;
  /** The rotate function's timeout (the first reconcile's trigger waits longer than this). */
  readonly timeout: Duration;
  private readonly signerRoleArns: string[] = [];
  private readonly readerRoleArns: string[] = [];
  private readonly policy: Policy;

  constructor(scope: Construct, id: string, props: RotationScheduleProps) {
    super(scope, id);
    this.policy = props.policy;
    const timeout =
      props.timeout ?? (props.multiRegion ? ROTATE_TIMEOUT.multiRegion : ROTATE_TIMEOUT.singleRegion);
    this.timeout = timeout;
    if (props.policy.intentTimeout <= timeout.toMilliseconds()) {
      // An intent younger than one run may belong to a run still in flight: never abandon it.
      const where = props.multiRegion ? ' of a multi-region deployment' : '';
      throw new PolicyError(
        'intentTimeout',
        `must exceed the rotate function timeout${where}, ${formatDuration(timeout.toMilliseconds())} (got ${formatDuration(props.policy.intentTimeout)})`,
      );
    }
    this.interval = props.interval ?? Duration.hours(1);

    this.handler = new HandlerFunction(this, 'Rotate', {
      handler: 'rotate',
      description:
        'JWKS publisher: reconcile the key registry with the lifecycle policy (create, activate, retire, expire)',
      timeout,
      environment: props.environment,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...props.role,
    });
    const fn = this.handler.function;
    fn.addEnvironment(ENV.KEY_ADMIN_ROLE_ARN, this.handler.role.roleArn);
    fn.addEnvironment(ENV.BUCKET_NAME, props.bucket.bucketName);
    // Lazy: signer/reader roles are added by later concerns (the token endpoint) via addKeySigner.
    fn.addEnvironment(
      ENV.KEY_SIGNER_ROLE_ARNS,
      Lazy.string({ produce: () => this.signerRoleArns.join(',') }),
    );
    fn.addEnvironment(
      ENV.KEY_READER_ROLE_ARNS,
      Lazy.string({ produce: () => this.readerRoleArns.join(',') }),
    );

    const role = this.handler.role;
    // What no key policy can give this role, whatever policy it writes at CreateKey: an explicit
    // identity Deny beats any key-policy Allow. So a compromised rotator cannot sign with a key it
    // made (or grant itself signing through a grant or a new policy), nor bring key material of its own.
    // @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'NeverSignOrTakeOverKeys',
        effect: iam.Effect.DENY,
        actions: [...ROTATOR_DENIED_KMS_ACTIONS],
        resources: ['*'],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateTaggedSigningKeysOnly',
        actions: ['kms:CreateKey'],
        resources: ['*'],
        conditions: {
          ...tagConditions(props.deploymentName, {
            'kms:KeyUsage': 'SIGN_VERIFY',
            'kms:KeySpec': algorithmSpec(props.policy.algorithm).kmsKeySpec,
            // Only in this region: a key made elsewhere would be no region's to retire.
            'aws:RequestedRegion': Aws.REGION,
          }),
          // Key material made by KMS only: never imported (EXTERNAL) or from a custom key store.
          StringEqualsIfExists: { 'kms:KeyOrigin': 'AWS_KMS' },
          // The key policy leaves PutKeyPolicy to the account, not to this role (so it can never grant
          // itself kms:Sign); CreateKey's lockout check would refuse that policy unless bypassed. The
          // bypass is allowed through its condition key only, for these keys only.
          Bool: {
            'kms:BypassPolicyLockoutSafetyCheck': 'true',
            // Multi-region: only multi-Region primary keys, which ReplicateKey can copy (same kid everywhere).
            ...(props.multiRegion ? { 'kms:MultiRegion': 'true' } : {}),
          },
          // One region: never a multi-Region key.
          ...(props.multiRegion ? {} : { BoolIfExists: { 'kms:MultiRegion': 'false' } }),
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // CreateKey with Tags is also authorised as kms:TagResource, which KMS evaluates against
        // "all KMS keys in the account and Region" (KMS developer guide, "Controlling access to tags").
        sid: 'TagAtCreationWithDeploymentTagsOnly',
        actions: ['kms:TagResource'],
        resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`],
        conditions: tagConditions(props.deploymentName),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FindThisDeploymentsKeysByTag',
        actions: ['tag:GetResources'],
        resources: ['*'],
      }),
    );
    // The registry partition only (never CLIENT# items, which hold secret hashes): one consistent
    // Query reads it, `revoke` reads STATE (GetItem), and each commit is a TransactWriteItems of
    // conditional Puts. Multi-region: the primary rolls publication marks up into `publishedAt`
    // (UpdateItem, region-writer.ts) and `promote-region` updates STATE in its transaction (UpdateItem);
    // every commit carries the fence, a ConditionCheck that the next epoch's PROMOTION item does not
    // exist (ConditionCheckItem, dynamodb-registry.ts, ADR 0008). One region has neither.
    grantPartitions(role, props.table, {
      sid: 'ReadAndCommitTheRegistry',
      actions: [
        'dynamodb:Query',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        ...(props.multiRegion ? (['dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'] as const) : []),
      ],
      partitions: [TABLE.REGISTRY_PARTITION],
    });
    // `revoke` (an operator action this function runs) appends the kid to the revocation list first;
    // the bucket policy makes the prefix create-only (If-None-Match: *) and undeletable for everyone.
    grantReadRevocationList(role, props.bucket, { appendSid: 'AppendToRevocationList' });
    if (props.multiRegion) {
      this.grantReplication(props.deploymentName, props.multiRegion);
      this.grantHeartbeats(props.table, props.multiRegion);
    }

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'JWKS publisher: run the key reconciler',
      schedule: events.Schedule.rate(this.interval),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: this.interval })],
    });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'kms:CreateKey has no resource (the key does not exist yet): it is limited by conditions to SIGN_VERIFY ' +
        "keys of one key spec carrying exactly this deployment's tags. tag:GetResources supports no resource-level " +
        'permissions (it only lists tags).',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        'Tagging at CreateKey is authorised against all keys of the account and Region (KMS requirement); the ' +
        "statement only allows this deployment's tag value and the two tag keys, and every such call outside " +
        'key creation raises the KMS tagging alarm.' +
        (props.multiRegion
          ? " Reading tags (ListResourceTags, before ReplicateKey) is limited by a condition to keys carrying this deployment's tag; key ARNs are random."
          : ''),
    });
  }

  /**
   * Heartbeats (src/heartbeat.ts): this region writes its own heartbeat item and nothing else of the
   * heartbeat partitions (only its attributes), and reads the other regions' heartbeats.
   */
  private grantHeartbeats(
    table: dynamodb.ITable,
    multiRegion: NonNullable<RotationScheduleProps['multiRegion']>,
  ): void {
    const partition = (region: string) => `${TABLE.HEARTBEAT_PARTITION_PREFIX}${region}`;
    grantPartitions(this.handler.role, table, {
      sid: 'WriteThisRegionsHeartbeat',
      actions: ['dynamodb:PutItem'],
      partitions: [partition(multiRegion.region)],
      attributes: HEARTBEAT_ATTRIBUTES,
    });
    grantPartitions(this.handler.role, table, {
      sid: 'ReadOtherRegionsHeartbeats',
      actions: ['dynamodb:GetItem'],
      partitions: multiRegion.regions.filter((r) => r !== multiRegion.region).map(partition),
    });
  }

  /**
   * ReplicateKey (ADR 0008): authorised as kms:ReplicateKey on the primary key in its region — by the
   * primary key's policy alone (src/core/key-policy.ts, RotationRoleReplicate), also when the primary is
   * another region's after a promotion — and as kms:CreateKey and kms:TagResource (the Tags parameter)
   * in the replica region: only into the deployment's other regions, only carrying its two tags. Before
   * it, ListResourceTags of this region's copy; the account's first multi-Region key also creates KMS's
   * service-linked role. Disable and deletion of replicas come from each replica's key policy, as for
   * single-region keys.
   * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
   */
  private grantReplication(
    deploymentName: string,
    multiRegion: NonNullable<RotationScheduleProps['multiRegion']>,
  ): void {
    const role = this.handler.role;
    const others = multiRegion.regions.filter((r) => r !== multiRegion.region);
    const keysIn = (region: string) => `arn:${Aws.PARTITION}:kms:${region}:${Aws.ACCOUNT_ID}:key/*`;
    // Before each ReplicateKey the function reads the keyRef tag of its own region's copy
    // (kms-replicas.ts); the key policy's account statement delegates ListResourceTags to IAM.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTagsOfThisDeploymentsKeys',
        actions: ['kms:ListResourceTags'],
        resources: [keysIn(Aws.REGION)],
        conditions: { StringEquals: { [`aws:ResourceTag/${KEY_TAGS.DEPLOYMENT}`]: deploymentName } },
      }),
    );
    // The account's first multi-Region key makes KMS create its service-linked sync role, with the
    // caller's permission. Only that role of that service.
    // @see https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-auth-slr.html
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateKmsMultiRegionServiceLinkedRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/${MRK_SERVICE}/AWSServiceRoleForKeyManagementServiceMultiRegionKeys`,
        ],
        conditions: { StringEquals: { 'iam:AWSServiceName': MRK_SERVICE } },
      }),
    );
    // No IAM statement for kms:ReplicateKey itself: KMS authorises it only by the primary key's policy
    // (RotationRoleReplicate names every region's rotate role), whichever region the primary is in.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateReplicasInTheDeploymentsRegionsOnly',
        actions: ['kms:CreateKey'],
        resources: ['*'],
        // IfExists: the CreateKey that ReplicateKey is authorised as in the replica region has the
        // primary's spec, usage and origin (KMS copies them), and KMS does not document which of these
        // keys that request carries; a CreateKey that names another spec, usage or origin, or a
        // single-Region key, is refused.
        conditions: {
          ...tagConditions(deploymentName, { 'aws:RequestedRegion': others }),
          StringEqualsIfExists: {
            'kms:KeyUsage': 'SIGN_VERIFY',
            'kms:KeySpec': algorithmSpec(this.policy.algorithm).kmsKeySpec,
            'kms:KeyOrigin': 'AWS_KMS',
          },
          BoolIfExists: { 'kms:MultiRegion': 'true' },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TagReplicasWithDeploymentTagsOnly',
        actions: ['kms:TagResource'],
        resources: others.map(keysIn),
        conditions: tagConditions(deploymentName),
      }),
    );
    for (const region of others) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${region}:<AWS::AccountId>:key/*]`,
        reason:
          `ReplicateKey tags the replica it creates in ${region}, authorised as TagResource on the keys of that ` +
          "region; the statement only allows this deployment's tag value and the two tag keys.",
      });
    }
  }

  /**
   * Name a role in every new key's policy as a signer (`kms:Sign`). Keys created earlier keep the
   * policy they were created with.
   */
  addKeySigner(role: iam.IRole | string): void {
    this.signerRoleArns.push(typeof role === 'string' ? role : role.roleArn);
  }

  /** Name a role in every new key's policy as a reader (`kms:GetPublicKey`, `kms:DescribeKey`). */
  addKeyReader(role: iam.IRole | string): void {
    this.readerRoleArns.push(typeof role === 'string' ? role : role.roleArn);
  }

  /** The signer roles named so far (the environment and the stack output read them lazily, at synth). */
  get keySignerRoleArns(): readonly string[] {
    return [...this.signerRoleArns];
  }

  get keyReaderRoleArns(): readonly string[] {
    return [...this.readerRoleArns];
  }
}
