/**
 * The regions of a deployment (design §12, ADR 0008) and the names every regional stack must agree on
 * without referencing each other.
 *
 * A multi-region app is three layers of stacks, deployed in this order by `cdk deploy --all`:
 * 1. `<stackName>-<region>-base` in every replica region: the documents bucket (the distribution's
 *    failover origin must exist, and be ours, before the distribution names it: a bucket name that is
 *    predicted but not yet created could be claimed by another account and then served as our JWKS) and
 *    the roles of that region's key-policy principals (a key policy naming a role that does not exist
 *    yet is refused by KMS, and the home stack's first reconcile creates the first key).
 * 2. `<stackName>-<home region>`: the global table, the distribution, and the home region's functions.
 * 3. `<stackName>-<region>` in every replica region: that region's functions and API.
 *
 * The roles named in key policies (rotate, publish, token of every region) have deterministic names, so
 * REGION_KEY_POLICIES is the same pure JSON in every stack and needs no cross-region reference.
 */
import { createHash } from 'node:crypto';
import { Token } from 'aws-cdk-lib';
import { ConfigError } from '../src/errors.ts';

/** `eu-west-1`, `ap-southeast-5`, `us-gov-west-1`, `cn-north-1`: AWS's commercial and partition regions. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The roles named in key policies, per region (ENV.REGION_KEY_POLICIES). */
export const KEY_ROLES = ['rotate', 'publish', 'token'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

const invalid = (message: string): ConfigError => new ConfigError('regions', `regions: ${message}`);

/**
 * Validates `regions` (context `-c regions=eu-west-1,us-east-1`, first = initial primary). Undefined or
 * empty gives `[]` (single region); otherwise distinct, well-formed region names of one partition.
 */
export function checkRegions(value: readonly string[] | undefined): string[] {
  const regions = [...(value ?? [])];
  for (const region of regions) {
    if (Token.isUnresolved(region)) throw invalid('must be literal region names, not tokens');
    if (!REGION_PATTERN.test(region)) throw invalid(`${JSON.stringify(region)} is not an AWS region name`);
  }
  const seen = new Set<string>();
  for (const region of regions) {
    if (seen.has(region)) throw invalid(`${region} is listed twice`);
    seen.add(region);
  }
  const partitions = new Set(regions.map(partitionOf));
  if (partitions.size > 1) {
    throw invalid(`${regions.join(',')} span several AWS partitions (global tables and KMS replicas cannot)`);
  }
  return regions;
}

/** The ARN partition of a region (KMS replicas and global table replicas stay inside one). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

/** A stack name shortened to `room` characters, keeping a hash of the whole so two long names still differ. */
function shorten(name: string, room: number): string {
  if (name.length <= room) return name;
  return `${name.slice(0, room - 9)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** `<stackName>-<region>`: the stack of one region's functions (the home region's holds the global parts). */
export const regionalStackName = (stackName: string, region: string): string => `${stackName}-${region}`;

/** `<stackName>-<region>-base`: a replica region's documents bucket and key-policy roles. */
export const baseStackName = (stackName: string, region: string): string => `${stackName}-${region}-base`;

/**
 * The IAM role name of one key-policy principal: `<stackName>-<region>-<role>`, at most 64 characters
 * (IAM's limit; role names are account-global, so the region is in the name).
 */
export function keyRoleName(stackName: string, region: string, role: KeyRole): string {
  const suffix = `-${region}-${role}`;
  return `${shorten(stackName, 64 - suffix.length)}${suffix}`;
}

export const roleArn = (partition: string, account: string, name: string): string =>
  `arn:${partition}:iam::${account}:role/${name}`;

/** One region's entry of ENV.REGION_KEY_POLICIES (the contract in src/constants.ts). */
export interface RegionKeyPolicy {
  readonly adminRoleArns: readonly string[];
  readonly signerRoleArns: readonly string[];
  readonly readerRoleArns: readonly string[];
}

/**
 * ENV.REGION_KEY_POLICIES: every region's rotate role administers every replica (any region may be
 * promoted and must then disable and schedule the deletion of every replica); only a region's own
 * token role (and the configured extra signers) signs with its replica; its publish role (and the
 * configured extra readers) reads public keys.
 */
export function regionKeyPolicies(input: {
  readonly stackName: string;
  readonly account: string;
  readonly regions: readonly string[];
  readonly extraSignerRoleArns: readonly string[];
  readonly extraReaderRoleArns: readonly string[];
}): Record<string, RegionKeyPolicy> {
  const { stackName, account, regions } = input;
  const partition = partitionOf(regions[0] ?? '');
  const arn = (region: string, role: KeyRole) =>
    roleArn(partition, account, keyRoleName(stackName, region, role));
  const admins = regions.map((r) => arn(r, 'rotate'));
  const policies: Record<string, RegionKeyPolicy> = {};
  for (const region of regions) {
    policies[region] = {
      adminRoleArns: admins,
      signerRoleArns: [arn(region, 'token'), ...input.extraSignerRoleArns],
      readerRoleArns: [arn(region, 'publish'), ...input.extraReaderRoleArns],
    };
  }
  return policies;
}

/**
 * A replica region's documents bucket name: `<stack name, lower-cased>-<hash>-<account>-<region>`, at
 * most 63 characters (S3). Fixed so the region's stack can name it without a cross-stack reference;
 * safe because nothing names it before the base stack has created it (the home stack's failover origin
 * reads it from the base stack, which deploys first). A bucket of that name in another account fails
 * the base stack's deployment, and then nothing after it deploys.
 */
export function documentsBucketName(stackName: string, account: string, region: string): string {
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 6);
  const slug = stackName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63 - hash.length - account.length - region.length - 3)
    .replace(/-+$/, '');
  return `${slug}-${hash}-${account}-${region}`;
}

/** CloudFront fails the documents over to the replica region's bucket on these answers of the primary's. */
export const FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504] as const;
