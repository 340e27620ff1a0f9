/**
 * `REGIONS` and `REPLICATION_LAG` for the local stack (ADR 0008, "On one machine"). `REGIONS=2` (or 3)
 * simulates that many regions under fixed names, or `REGIONS=us-east-1,eu-west-1` names them; the first
 * is the home region, the initial primary. Unset or one region: the single-region stack, unchanged.
 */
import { durationSetting, type Env } from '../config.ts';
import { isRegionName } from '../core/regions.ts';
import type { Policy } from '../core/types.ts';
import { ConfigError } from '../errors.ts';

/** The single-region stack's region, and the home region of `REGIONS=<n>`. */
export const HOME_REGION = 'us-east-1';
/** The names `REGIONS=<n>` simulates, in order. */
export const DEFAULT_REGION_NAMES = [HOME_REGION, 'eu-west-1', 'ap-southeast-2'] as const;
export const REGIONS_ENV = 'REGIONS';
export const REPLICATION_LAG_ENV = 'REPLICATION_LAG';
/** Default replication delay: long enough to see the replicas disagree, well inside any policy's bound. */
export const DEFAULT_REPLICATION_LAG_MS = 1_000;

function regionNames(value: string | undefined): readonly string[] {
  const text = value?.trim() ?? '';
  if (text === '') return [HOME_REGION];
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > DEFAULT_REGION_NAMES.length) {
      throw new ConfigError(
        REGIONS_ENV,
        `${REGIONS_ENV} must be 1..${DEFAULT_REGION_NAMES.length} or a comma-separated list of region names (got "${text}")`,
      );
    }
    return DEFAULT_REGION_NAMES.slice(0, n);
  }
  const names = text.split(',').map((r) => r.trim());
  const bad = names.find((r) => !isRegionName(r));
  if (bad !== undefined) {
    throw new ConfigError(REGIONS_ENV, `${REGIONS_ENV}: ${JSON.stringify(bad)} is not a region name`);
  }
  if (new Set(names).size !== names.length) {
    throw new ConfigError(REGIONS_ENV, `${REGIONS_ENV}: a region is listed twice`);
  }
  return names;
}

/**
 * Validates a replication delay against the policy: the simulation may reach `maxReplicationLag` but
 * not pass it, since the lifecycle's guarantees hold only within it (the alarm's case, on AWS).
 * Returns the error's message, or undefined when the delay is acceptable.
 */
export function replicationLagProblem(lagMs: number, policy: Policy): string | undefined {
  if (!Number.isFinite(lagMs) || lagMs < 0) return 'must be a duration of 0 or more';
  if (lagMs > policy.maxReplicationLag) {
    return `must not exceed maxReplicationLag (${policy.maxReplicationLag} ms): the lifecycle's guarantees hold only within it`;
  }
  return undefined;
}

export function localRegionsFromEnv(env: Env): {
  names: readonly string[];
  replicationLag(policy: Policy): number;
} {
  const names = regionNames(env[REGIONS_ENV]);
  const raw = env[REPLICATION_LAG_ENV]?.trim();
  return {
    names,
    replicationLag(policy) {
      if (names.length === 1) return 0;
      // The default never exceeds a policy that allows less.
      if (!raw) return Math.min(DEFAULT_REPLICATION_LAG_MS, policy.maxReplicationLag);
      const lagMs = durationSetting(REPLICATION_LAG_ENV, raw);
      const problem = replicationLagProblem(lagMs, policy);
      if (problem) throw new ConfigError(REPLICATION_LAG_ENV, `${REPLICATION_LAG_ENV} ${problem}`);
      return lagMs;
    },
  };
}
