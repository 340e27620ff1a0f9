/**
 * `npm start` configuration from the environment (design §8). Everything is validated before any
 * server starts: an invalid duration or policy fails with the variable's name and the rule it broke.
 */
import { resolve } from 'node:path';
import { durationSetting, type Env } from '../config.ts';
import { POLICY_ENV } from '../constants.ts';
import { parsePolicy, policyInputFromEnv } from '../core/policy.ts';
import type { Policy, PolicyInput } from '../core/types.ts';
import { ConfigError, JwksError, PolicyError } from '../errors.ts';
import { localRegionsFromEnv } from './region-config.ts';

export interface LocalConfig {
  readonly port: number;
  readonly dataDir: string;
  readonly policyInput: PolicyInput;
  readonly policy: Policy;
  readonly warnings: string[];
  /** How often the reconciler runs. */
  readonly reconcileIntervalMs: number;
  /**
   * The simulated regions (`REGIONS`), the home region first: one entry runs the single-region stack
   * exactly as before; several run a regional stack each behind one edge (ADR 0008).
   */
  readonly regions: readonly string[];
  /** Several regions: the simulated global table's replication delay at start (`REPLICATION_LAG`). */
  readonly replicationLagMs: number;
}

export const DEFAULT_PORT = 8787;
export const DEFAULT_DATA_DIR = './.jwks-data';

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError('PORT', `PORT must be an integer in 0..65535 (got "${value}")`);
  }
  return port;
}

/**
 * Often enough for compressed demo durations (a quarter of the shortest of rotation period, lead and
 * retention: the timings that gate activation and expiry), at least once a minute and at most 4 times
 * a second. `signerCacheTtl` does not count: disabling a retired key later than that is still safe, and
 * a 5 s default would make an idle stack reconcile (and burn CPU) every 1.25 s. `RECONCILE_INTERVAL`
 * overrides it.
 */
export function reconcileInterval(policy: Policy, override?: string): number {
  if (override?.trim()) return durationSetting('RECONCILE_INTERVAL', override);
  const shortest = Math.min(policy.rotationPeriod, policy.prepublishLead, policy.retention);
  return Math.min(60_000, Math.max(250, Math.floor(shortest / 4)));
}

/** Reads and validates the local stack's configuration; errors name the environment variable. */
export function loadLocalConfig(env: Env): LocalConfig {
  const policyInput = policyInputFromEnv(env);
  const regions = localRegionsFromEnv(env);
  let parsed: { policy: Policy; warnings: string[] };
  try {
    // Several regions validate the multi-region rules too (maxReplicationLag in the retention rule).
    parsed = parsePolicy(policyInput, { multiRegion: regions.names.length > 1 });
  } catch (err) {
    if (err instanceof PolicyError) {
      const variable = POLICY_ENV[err.setting as keyof typeof POLICY_ENV];
      throw new ConfigError(
        variable ?? err.setting,
        variable ? `${variable} (${err.message})` : err.message,
        {
          cause: err,
        },
      );
    }
    if (err instanceof JwksError) throw new ConfigError('policy', err.message, { cause: err });
    throw err;
  }
  return {
    port: parsePort(env.PORT),
    dataDir: resolve(env.JWKS_DATA_DIR?.trim() || DEFAULT_DATA_DIR),
    policyInput,
    policy: parsed.policy,
    warnings: parsed.warnings,
    reconcileIntervalMs: reconcileInterval(parsed.policy, env.RECONCILE_INTERVAL),
    regions: regions.names,
    replicationLagMs: regions.replicationLag(parsed.policy),
  };
}
