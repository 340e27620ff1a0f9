/**
 * The explicit KMS key policy every signing key is created with (design §3 invariant 7): it names
 * this deployment's roles and nothing else. Pure: the KMS adapter sends `JSON.stringify` of it.
 *
 * Statements:
 * - AccountAdministration: the account (`arn:<partition>:iam::<account>:root`) may administer the
 *   key (describe, read policy/tags, change the policy, enable/disable, schedule/cancel deletion)
 *   but not sign with it. KMS does not fall back to IAM: a key whose policy names only roles that
 *   are later deleted can no longer be managed by anyone in the account (recovery then needs AWS
 *   Support). Naming the account keeps it manageable through IAM; leaving out `kms:Sign` and
 *   `kms:CreateGrant` keeps an IAM policy with `kms:*` from turning into a signing permission.
 * - RotationRole (`adminRoleArn`, the rotate function; in a multi-region deployment every region's
 *   rotate role, `adminRoleArns`, since any region may be promoted to primary and must then retire the
 *   keys the old primary made): DescribeKey, GetPublicKey, DisableKey, ScheduleKeyDeletion — what the
 *   reconciler does — and nothing else. Not PutKeyPolicy: a role
 *   that may rewrite the policy may grant itself `kms:Sign`. CreateKey's policy lockout safety check
 *   wants the caller to be able to PutKeyPolicy, so the rotator creates keys with
 *   `BypassPolicyLockoutSafetyCheck` (its IAM policy allows CreateKey only with that flag, through
 *   the `kms:BypassPolicyLockoutSafetyCheck` condition key); the key cannot be locked out because
 *   AccountAdministration keeps the account able to fix the policy.
 * - SignersSign: `kms:Sign` for the signer roles, only with the deployment's signing algorithm and
 *   only over a digest (`kms:SigningAlgorithm`, `kms:MessageType`): what the token path sends.
 * - SignersRead: GetPublicKey and DescribeKey for the signer roles.
 * - Readers: GetPublicKey and DescribeKey (omitted when there are none: KMS rejects a statement
 *   without a principal).
 * - RotationRoleReplicate (multi-Region primary keys only, `replicaRegions`): `kms:ReplicateKey` for
 *   the rotation roles, only into the deployment's other regions (`kms:ReplicaRegion`). KMS requires
 *   this permission in the primary key's policy (an IAM grant cannot stand in: the account statement
 *   above does not delegate it), and a replica never needs it (only a primary can be replicated).
 *
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html#KMS-CreateKey-request-BypassPolicyLockoutSafetyCheck
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-signing-algorithm
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
import { InvalidArgumentError } from '../errors.ts';
import { algorithmSpec } from './algorithms.ts';
import type { Algorithm } from './types.ts';

export interface KeyPolicyPrincipals {
  readonly accountId: string;
  /** `aws` unless set (`aws-cn`, `aws-us-gov`). */
  readonly partition?: string;
  /** The rotation function's role: creates and retires keys. */
  readonly adminRoleArn?: string;
  /**
   * Multi-region (ADR 0008): every region's rotation role. Merged with `adminRoleArn`; at least one
   * administrator in all.
   */
  readonly adminRoleArns?: readonly string[];
  /** Roles allowed to `kms:Sign` (the token endpoint). At least one. */
  readonly signerRoleArns: readonly string[];
  /** Roles allowed to read public keys only. */
  readonly readerRoleArns: readonly string[];
}

export interface KeyPolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Principal: { readonly AWS: string | readonly string[] };
  readonly Action: readonly string[];
  readonly Resource: '*';
  readonly Condition?: { readonly StringEquals: Readonly<Record<string, string | readonly string[]>> };
}

export interface KeyPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly KeyPolicyStatement[];
}

export const ACCOUNT_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:GetKeyPolicy',
  'kms:GetPublicKey',
  'kms:ListGrants',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
] as const;
export const ROTATION_ROLE_ACTIONS = [
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:GetPublicKey',
  'kms:ScheduleKeyDeletion',
] as const;
export const REPLICATE_ACTIONS = ['kms:ReplicateKey'] as const;
export const SIGNER_ACTIONS = ['kms:Sign'] as const;
export const READER_ACTIONS = ['kms:DescribeKey', 'kms:GetPublicKey'] as const;

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

function checkRole(arn: string, partition: string, what: string): string {
  const match = ROLE_ARN.exec(arn);
  if (!match) throw new InvalidArgumentError(`${what} is not an IAM role ARN: ${arn}`);
  if (match[1] !== partition)
    throw new InvalidArgumentError(`${what} is not in partition ${partition}: ${arn}`);
  return arn;
}

/** Sorted and de-duplicated, so the same principals always give the same policy bytes. */
const roles = (arns: readonly string[], partition: string, what: string): string[] =>
  [...new Set(arns.map((arn) => checkRole(arn, partition, what)))].sort();

const statement = (
  Sid: string,
  principals: readonly string[],
  actions: readonly string[],
  condition?: Readonly<Record<string, string | readonly string[]>>,
): KeyPolicyStatement => ({
  Sid,
  Effect: 'Allow',
  Principal: { AWS: principals.length === 1 ? (principals[0] as string) : principals },
  Action: [...actions],
  Resource: '*',
  ...(condition ? { Condition: { StringEquals: condition } } : {}),
});

/** The principals, checked: partition, account and every role ARN; roles sorted and de-duplicated. */
export interface CheckedPrincipals {
  readonly partition: string;
  readonly accountId: string;
  readonly admins: readonly string[];
  readonly signers: readonly string[];
  readonly readers: readonly string[];
}

/** @throws InvalidArgumentError for a malformed account id, partition or role ARN, or no administrator. */
export function checkPrincipals(p: KeyPolicyPrincipals): CheckedPrincipals {
  const partition = p.partition ?? 'aws';
  if (!/^aws[a-z-]*$/.test(partition)) throw new InvalidArgumentError(`invalid partition: ${partition}`);
  if (!/^\d{12}$/.test(p.accountId)) throw new InvalidArgumentError('accountId must be 12 digits');
  const admins = roles(
    [...(p.adminRoleArn === undefined ? [] : [p.adminRoleArn]), ...(p.adminRoleArns ?? [])],
    partition,
    'adminRoleArn',
  );
  // Only the account could manage a key without one, and the reconciler could never retire it.
  if (admins.length === 0) throw new InvalidArgumentError('a key policy needs at least one admin role');
  return {
    partition,
    accountId: p.accountId,
    admins,
    signers: roles(p.signerRoleArns, partition, 'signerRoleArns'),
    readers: roles(p.readerRoleArns, partition, 'readerRoleArns'),
  };
}

export interface KeyPolicyOptions {
  /**
   * A multi-Region primary key (ADR 0008): the regions its rotation roles may replicate it into. Empty
   * or absent for a single-Region key and for a replica.
   */
  readonly replicaRegions?: readonly string[];
}

/**
 * The key policy for one signing key of this deployment, signing with `alg`.
 * @throws InvalidArgumentError for a malformed account id or role ARN; UnsupportedAlgorithmError for `alg`.
 */
export function buildKeyPolicy(
  p: KeyPolicyPrincipals,
  alg: Algorithm,
  opts: KeyPolicyOptions = {},
): KeyPolicyDocument {
  const { kmsSigningAlgorithm } = algorithmSpec(alg);
  const { partition, accountId, admins, signers, readers } = checkPrincipals(p);
  const statements = [
    statement('AccountAdministration', [`arn:${partition}:iam::${accountId}:root`], ACCOUNT_ADMIN_ACTIONS),
    statement('RotationRole', admins, ROTATION_ROLE_ACTIONS),
  ];
  const replicaRegions = [...new Set(opts.replicaRegions ?? [])].sort();
  if (replicaRegions.length > 0) {
    statements.push(
      statement('RotationRoleReplicate', admins, REPLICATE_ACTIONS, { 'kms:ReplicaRegion': replicaRegions }),
    );
  }
  // No signer yet (a deployment without a token function or operator signer role): a key nobody can
  // sign with is safe, and the statement cannot name zero principals.
  if (signers.length > 0) {
    statements.push(
      statement('SignersSign', signers, SIGNER_ACTIONS, {
        'kms:SigningAlgorithm': kmsSigningAlgorithm,
        // The signer hashes locally and sends the digest (src/adapters/aws/kms.ts).
        'kms:MessageType': 'DIGEST',
      }),
      statement('SignersRead', signers, READER_ACTIONS),
    );
  }
  if (readers.length > 0) statements.push(statement('Readers', readers, READER_ACTIONS));
  return { Version: '2012-10-17', Statement: statements };
}

/** One region's entry of REGION_KEY_POLICIES (src/constants.ts). */
const ENTRY_FIELDS = ['adminRoleArns', 'signerRoleArns', 'readerRoleArns'] as const;

/**
 * The key policy principals of every region from REGION_KEY_POLICIES' JSON (ADR 0008): each region's
 * replica of a key names its own region's roles. Every region of `regions` must have an entry, and no
 * other region may (a misspelt region would otherwise leave a replica with no policy of its own).
 * Administrators must belong to `account`: multi-Region keys cannot be replicated across accounts.
 * @throws InvalidArgumentError naming the region and field at fault (never echoing the whole text).
 */
export function parseRegionKeyPolicies(
  text: string,
  regions: readonly string[],
  account: { readonly accountId: string; readonly partition?: string },
): ReadonlyMap<string, KeyPolicyPrincipals> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError('is not JSON', { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidArgumentError('must be a JSON object keyed by region');
  }
  const entries = doc as Record<string, unknown>;
  const unknown = Object.keys(entries).filter((r) => !regions.includes(r));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`names regions not in REGIONS: ${unknown.join(', ')}`);
  const out = new Map<string, KeyPolicyPrincipals>();
  for (const region of regions) {
    const entry = entries[region];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new InvalidArgumentError(`has no entry for region ${region}`);
    }
    const lists = Object.fromEntries(
      ENTRY_FIELDS.map((field) => {
        const value = (entry as Record<string, unknown>)[field] ?? [];
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
          throw new InvalidArgumentError(`${region}.${field} must be an array of role ARNs`);
        }
        return [field, value as string[]];
      }),
    ) as Record<(typeof ENTRY_FIELDS)[number], string[]>;
    const principals: KeyPolicyPrincipals = {
      ...account,
      adminRoleArns: lists.adminRoleArns,
      signerRoleArns: lists.signerRoleArns,
      readerRoleArns: lists.readerRoleArns,
    };
    let checked: CheckedPrincipals;
    try {
      checked = checkPrincipals(principals);
    } catch (err) {
      throw new InvalidArgumentError(`${region}: ${(err as Error).message}`, { cause: err });
    }
    const foreign = checked.admins.find((arn) => arn.split(':')[4] !== account.accountId);
    if (foreign)
      throw new InvalidArgumentError(
        `${region}: admin role ${foreign} is not in account ${account.accountId}`,
      );
    out.set(region, principals);
  }
  return out;
}
