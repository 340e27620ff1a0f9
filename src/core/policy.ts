/**
 * The lifecycle policy (design §3): defaults, parsing and every rule of the policy table. The same
 * function validates at deploy (CDK) and at start (handlers, local stack), so a policy that would
 * let a verifier see a token signed by a key it cannot know yet never runs anywhere.
 */
import { POLICY_ENV } from '../constants.ts';
import { DurationError, PolicyError } from '../errors.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { ALGORITHMS, type Algorithm, type Policy, type PolicyInput } from './types.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEFAULT_POLICY: Policy = Object.freeze({
  rotationPeriod: 30 * DAY,
  prepublishLead: 7 * DAY,
  retention: DAY,
  maxTokenTtl: HOUR,
  clockSkew: 5 * MINUTE,
  signerCacheTtl: 5 * SECOND,
  jwksMaxAge: 300 * SECOND,
  // Filled from jwksMaxAge when not given (see parsePolicy); listed here for completeness.
  cdnMaxTtl: 300 * SECOND,
  algorithm: 'RS256',
  kmsDeletionWindowDays: 30,
  // Above Lambda's 15-minute maximum timeout: an intent this old has no live creator.
  intentTimeout: 15 * MINUTE,
  // One region has no replication: its policy rules are exactly what they were before ADR 0008.
  maxReplicationLag: 0,
});

/**
 * The default `maxReplicationLag` of a multi-region deployment (design §12). DynamoDB global tables
 * typically replicate within a second; 30 s covers the tail the ReplicationLatency alarm watches.
 */
export const MULTI_REGION_REPLICATION_LAG = 30 * SECOND;

/** Below this lead, verifiers that refresh on fixed timers may not have fetched the next key yet. */
export const LEAD_WARNING_THRESHOLD = DAY;

/** KMS `PendingWindowInDays` bounds. @see https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html */
const KMS_WINDOW_DAYS = { min: 7, max: 30 } as const;

type DurationSetting = Exclude<keyof Policy, 'algorithm' | 'kmsDeletionWindowDays'>;

/** Durations that may be zero (no skew tolerated, no signer cache); every other one must be positive. */
const MAY_BE_ZERO: ReadonlySet<DurationSetting> = new Set([
  'clockSkew',
  'signerCacheTtl',
  'maxReplicationLag',
]);

function duration(input: PolicyInput, name: DurationSetting, fallback: number): number {
  const raw = input[name];
  if (raw === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(raw);
  } catch (err) {
    if (err instanceof DurationError) throw new PolicyError(name, err.message, { cause: err });
    throw err;
  }
  if (ms === 0 && !MAY_BE_ZERO.has(name)) throw new PolicyError(name, 'must be a positive duration');
  return ms;
}

function algorithm(raw: string | undefined): Algorithm {
  if (raw === undefined) return DEFAULT_POLICY.algorithm;
  const alg = raw.trim();
  if (!(ALGORITHMS as readonly string[]).includes(alg)) {
    throw new PolicyError('algorithm', `${JSON.stringify(raw)} is not one of ${ALGORITHMS.join(', ')}`);
  }
  return alg as Algorithm;
}

/** A plain number (or digit string) is days, as KMS takes it; a duration string must be whole days. */
function deletionWindowDays(raw: string | number | undefined): number {
  if (raw === undefined) return DEFAULT_POLICY.kmsDeletionWindowDays;
  let days: number;
  if (typeof raw === 'number' || /^\s*\d+\s*$/.test(raw)) {
    days = Number(raw);
  } else {
    let ms: number;
    try {
      ms = parseDuration(raw);
    } catch (err) {
      throw new PolicyError('kmsDeletionWindow', (err as Error).message, { cause: err });
    }
    if (ms % DAY !== 0) throw new PolicyError('kmsDeletionWindow', 'must be a whole number of days');
    days = ms / DAY;
  }
  if (!Number.isInteger(days) || days < KMS_WINDOW_DAYS.min || days > KMS_WINDOW_DAYS.max) {
    throw new PolicyError(
      'kmsDeletionWindow',
      `must be ${KMS_WINDOW_DAYS.min}–${KMS_WINDOW_DAYS.max} whole days (KMS PendingWindowInDays), got ${raw}`,
    );
  }
  return days;
}

const fmt = formatDuration;

/**
 * Parses and validates a policy. Throws PolicyError (code INVALID_POLICY, `setting` = the offending
 * setting) for the first rule broken; returns warnings for legal but risky choices.
 */
export function parsePolicy(
  input: PolicyInput = {},
  opts: { readonly multiRegion?: boolean } = {},
): { policy: Policy; warnings: string[] } {
  const d = DEFAULT_POLICY;
  const multiRegion = opts.multiRegion === true;
  const jwksMaxAge = duration(input, 'jwksMaxAge', d.jwksMaxAge);
  const policy: Policy = {
    rotationPeriod: duration(input, 'rotationPeriod', d.rotationPeriod),
    prepublishLead: duration(input, 'prepublishLead', d.prepublishLead),
    retention: duration(input, 'retention', d.retention),
    maxTokenTtl: duration(input, 'maxTokenTtl', d.maxTokenTtl),
    clockSkew: duration(input, 'clockSkew', d.clockSkew),
    signerCacheTtl: duration(input, 'signerCacheTtl', d.signerCacheTtl),
    jwksMaxAge,
    // Design §3: a CDN max TTL above max-age (e.g. a 1-year managed policy) would make the lead rule unsatisfiable.
    cdnMaxTtl: duration(input, 'cdnMaxTtl', jwksMaxAge),
    algorithm: algorithm(input.algorithm),
    kmsDeletionWindowDays: deletionWindowDays(input.kmsDeletionWindow),
    intentTimeout: duration(input, 'intentTimeout', d.intentTimeout),
    maxReplicationLag: duration(
      input,
      'maxReplicationLag',
      multiRegion ? MULTI_REGION_REPLICATION_LAG : d.maxReplicationLag,
    ),
  };
  // Replication is never instantaneous: a zero lag across regions would be a promise nobody keeps.
  if (multiRegion && policy.maxReplicationLag === 0) {
    throw new PolicyError(
      'maxReplicationLag',
      'must be a positive duration when the deployment has several regions',
    );
  }

  // Cache-Control max-age and CloudFront TTLs are whole seconds (RFC 9111 §1.2.2 delta-seconds).
  if (policy.jwksMaxAge % SECOND !== 0)
    throw new PolicyError('jwksMaxAge', 'must be whole seconds (max-age)');
  if (policy.cdnMaxTtl % SECOND !== 0)
    throw new PolicyError('cdnMaxTtl', 'must be whole seconds (CloudFront TTL)');

  // A verifier may hold the previous JWKS for max-age after the CDN held it for its TTL, and a
  // browser-like cache in between for another max-age: the next key must be out longer than that.
  const minLead = 2 * policy.jwksMaxAge + policy.cdnMaxTtl;
  if (policy.prepublishLead < minLead) {
    throw new PolicyError(
      'prepublishLead',
      `must be ≥ 2 × jwksMaxAge + cdnMaxTtl = ${fmt(minLead)} (got ${fmt(policy.prepublishLead)})`,
    );
  }
  if (policy.prepublishLead > policy.rotationPeriod) {
    throw new PolicyError(
      'prepublishLead',
      `must be ≤ rotationPeriod ${fmt(policy.rotationPeriod)} (got ${fmt(policy.prepublishLead)}): the standby would never be ready in time`,
    );
  }
  // A token signed just before retirement must verify until it expires: by a signer with a cached
  // view (signerCacheTtl) in a region whose replica of the registry learns of the retirement late
  // (maxReplicationLag, ADR 0008).
  const minRetention =
    policy.maxTokenTtl + policy.clockSkew + policy.signerCacheTtl + policy.maxReplicationLag;
  if (policy.retention < minRetention) {
    throw new PolicyError(
      'retention',
      `must be ≥ maxTokenTtl + clockSkew + signerCacheTtl + maxReplicationLag = ${fmt(minRetention)} (got ${fmt(policy.retention)})`,
    );
  }

  const warnings: string[] = [];
  if (policy.prepublishLead < LEAD_WARNING_THRESHOLD) {
    warnings.push(
      `prepublishLead ${fmt(policy.prepublishLead)} is under 24h: verifiers that refresh their JWKS on fixed timers ` +
        '(Microsoft.IdentityModel every 12h, API Gateway JWT authorizers up to 1h) may not know the next key when it starts signing',
    );
  }
  return { policy: Object.freeze(policy), warnings };
}

/** Reads the policy settings from the environment (POLICY_ENV names); unset or blank means default. */
export function policyInputFromEnv(env: Readonly<Record<string, string | undefined>>): PolicyInput {
  const input: Record<string, string> = {};
  for (const [setting, variable] of Object.entries(POLICY_ENV)) {
    const value = env[variable]?.trim();
    if (value) input[setting] = value;
  }
  return input as PolicyInput;
}
