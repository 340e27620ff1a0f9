/**
 * The multi-region part of a Lambda function's KMS vault (ADR 0008), read once at cold start. In one
 * region (REGIONS unset or a single entry) there is none, and every vault is exactly the single-region
 * one. A bad value fails the cold start with a ConfigError naming the variable.
 *
 * Least privilege: only the rotate function reaches other regions (ReplicateKey, and retiring every
 * region's copy); the publisher and the token function use their own region's copy of each key.
 */
import { createKmsClient } from '../adapters/aws/clients.ts';
import type { KmsKeyVaultOptions } from '../adapters/aws/kms.ts';
import { type Env, requireEnv } from '../config.ts';
import { ENV } from '../constants.ts';
import { type KeyPolicyPrincipals, parseRegionKeyPolicies } from '../core/key-policy.ts';
import { ConfigError } from '../errors.ts';
import { regionsFromEnv } from '../regions-env.ts';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The publisher's and the token function's vault: its own region, whose copy of each key it uses. */
export function ownRegionVault(env: Env): Pick<KmsKeyVaultOptions, 'region'> {
  const regions = regionsFromEnv(env);
  return regions ? { region: regions.region } : {};
}

/**
 * The rotate function's vault in a multi-region deployment: REGION_KEY_POLICIES' entry of its own region
 * for the primaries it creates, and one KMS client (the shared factory, that region) and key policy per
 * other region to replicate into and retire in. Every region's entry must name this function's role
 * (`KEY_ADMIN_ROLE_ARN`) as an administrator: otherwise it could not retire that region's copies.
 * Undefined in one region (the caller keeps its single-region key policy).
 */
export function replicatingVault(
  env: Env,
  admin: { readonly adminRoleArn: string; readonly accountId: string; readonly partition: string },
): Pick<KmsKeyVaultOptions, 'region' | 'replicas' | 'keyPolicy'> | undefined {
  const regions = regionsFromEnv(env);
  if (!regions) return undefined;
  const name = ENV.REGION_KEY_POLICIES;
  const text = requireEnv(env, name);
  let policies: ReadonlyMap<string, KeyPolicyPrincipals>;
  try {
    policies = parseRegionKeyPolicies(text, regions.regions, {
      accountId: admin.accountId,
      partition: admin.partition,
    });
  } catch (err) {
    throw new ConfigError(name, `${name}: ${message(err)}`, { cause: err });
  }
  for (const [region, principals] of policies) {
    if (!principals.adminRoleArns?.includes(admin.adminRoleArn)) {
      throw new ConfigError(name, `${name}: ${region}.adminRoleArns does not name ${ENV.KEY_ADMIN_ROLE_ARN}`);
    }
  }
  const policyOf = (region: string) => policies.get(region) as KeyPolicyPrincipals;
  return {
    region: regions.region,
    keyPolicy: policyOf(regions.region),
    replicas: regions.regions
      .filter((region) => region !== regions.region)
      .map((region) => ({
        region,
        kms: createKmsClient({ ...env, [ENV.REGION]: region }),
        keyPolicy: policyOf(region),
      })),
  };
}
