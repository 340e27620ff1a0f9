/**
 * A Lambda's regional settings, read once at cold start (ADR 0008): REGIONS and its own region, and
 * the policy validated for that many regions (`maxReplicationLag` counts only across regions).
 */
import { type Env, listEnv } from './config.ts';
import { ENV } from './constants.ts';
import { parsePolicy, policyInputFromEnv } from './core/policy.ts';
import { parseRegions, type RegionConfig } from './core/regions.ts';
import type { Policy } from './core/types.ts';

/** Undefined in a single-region deployment; throws InvalidArgumentError for a bad REGIONS. */
export const regionsFromEnv = (env: Env): RegionConfig | undefined =>
  parseRegions(listEnv(env, ENV.REGIONS), env[ENV.REGION]?.trim() || undefined);

/** The policy from POLICY_ENV, validated with the multi-region rules when REGIONS names several. */
export function policyFromEnv(env: Env): { policy: Policy; regions: RegionConfig | undefined } {
  const regions = regionsFromEnv(env);
  return {
    policy: parsePolicy(policyInputFromEnv(env), { multiRegion: regions !== undefined }).policy,
    regions,
  };
}
