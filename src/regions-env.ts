/**
 * A Lambda's regional settings, read once at cold start (ADR 0008): REGIONS and its own region, and
 * the policy validated for that many regions (`maxReplicationLag` counts only across regions).
 */
import { type Env, listEnv } from './config.ts';
import { ENV } from './constants.ts';
import { parsePolicy, policyInputFromEnv } from './core/policy.ts';
import { parseRegions, type RegionConfig } from './core/regions.ts';
import type { Policy } from './core/types.ts';
import { ConfigError } from './errors.ts';

/** REGIONS and this function's own region (AWS_REGION), validated; undefined in one region. */
export function regionsFromEnv(env: Env): RegionConfig | undefined {
  try {
    return parseRegions(listEnv(env, ENV.REGIONS), env[ENV.REGION]?.trim() || undefined);
  } catch (err) {
    // A cold start that fails names the variable (INVALID_CONFIG), like every other setting.
    throw new ConfigError(ENV.REGIONS, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** The policy from POLICY_ENV, validated with the multi-region rules when REGIONS names several. */
export function policyFromEnv(env: Env): { policy: Policy; regions: RegionConfig | undefined } {
  const regions = regionsFromEnv(env);
  return {
    policy: parsePolicy(policyInputFromEnv(env), { multiRegion: regions !== undefined }).policy,
    regions,
  };
}
