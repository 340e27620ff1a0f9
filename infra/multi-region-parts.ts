/**
 * What one regional stack of a multi-region deployment (infra/multi-region.ts) takes from the others,
 * without references that would tie the stacks to each other in both directions: the key-policy roles
 * and the replica region's documents bucket by their fixed names (infra/regions.ts), the failover
 * bucket by a cross-region reference, and REGION_KEY_POLICIES as pure JSON.
 */
import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { MultiRegionProps } from './multi-region.ts';
import type { RegionBaseStack } from './region-base-stack.ts';
import { documentsBucketName, type KeyRole, keyRoleName, regionKeyPolicies } from './regions.ts';

/** HandlerFunction role options of a key-policy principal: named in the home stack, the base stack's elsewhere. */
export function keyRoleOptions(
  scope: Construct,
  stack: Stack,
  mr: MultiRegionProps | undefined,
  role: KeyRole,
): { readonly role?: { readonly roleName?: string; readonly role?: iam.IRole } } {
  if (!mr) return {};
  const roleName = keyRoleName(mr.appStackName, stack.region, role);
  return mr.replica
    ? { role: { role: iam.Role.fromRoleName(scope, `${role}-role`, roleName) } }
    : { role: { roleName } };
}

/**
 * A replica region's documents bucket, by its fixed name: a reference to the base stack's bucket would
 * let a grant here add to the base stack's bucket policy (and nag would name it by an export).
 */
export function replicaDocuments(scope: Construct, stack: Stack, mr: MultiRegionProps): s3.IBucket {
  return s3.Bucket.fromBucketAttributes(scope, 'Documents', {
    bucketName: documentsBucketName(mr.appStackName, stack.account, stack.region),
    region: stack.region,
  });
}

/**
 * The failover origin's bucket as the home stack sees it: imported by name and regional domain name
 * (cross-region references to the base stack), so the distribution never adds to its policy (a policy
 * in the base stack naming the home stack's distribution would make each stack depend on the other).
 */
export function failoverBucket(scope: Construct, base: RegionBaseStack): s3.IBucket {
  return s3.Bucket.fromBucketAttributes(scope, 'FailoverBucket', {
    bucketName: base.storage.bucket.bucketName,
    bucketRegionalDomainName: base.storage.bucket.bucketRegionalDomainName,
    region: base.region,
  });
}

/** ENV.REGION_KEY_POLICIES: the same JSON in every region's rotate function (regions.ts). */
export function regionKeyPoliciesJson(
  stack: Stack,
  mr: MultiRegionProps,
  extra: { readonly signers: readonly string[]; readonly readers: readonly string[] },
): string {
  return JSON.stringify(
    regionKeyPolicies({
      stackName: mr.appStackName,
      account: stack.account,
      regions: mr.regions,
      extraSignerRoleArns: extra.signers,
      extraReaderRoleArns: extra.readers,
    }),
  );
}
