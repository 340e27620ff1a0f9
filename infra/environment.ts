/**
 * The Lambda environment that carries the lifecycle policy (design §3) to the handlers. The policy is
 * validated at synth time; the handlers parse it again at cold start with the same code. Rendering
 * and re-parsing here proves at synth time that the handlers will run exactly the policy the
 * deployer validated (a setting the environment cannot carry fails the synth, naming it).
 */

import { POLICY_ENV } from '../src/constants.ts';
import { formatDuration } from '../src/core/duration.ts';
import { parsePolicy, policyInputFromEnv } from '../src/core/policy.ts';
import type { Policy } from '../src/core/types.ts';
import { PolicyError } from '../src/errors.ts';

type PolicySetting = keyof typeof POLICY_ENV;

function render(policy: Policy, setting: PolicySetting): string {
  switch (setting) {
    case 'algorithm':
      return policy.algorithm;
    case 'kmsDeletionWindow':
      return `${policy.kmsDeletionWindowDays}d`;
    default:
      return formatDuration(policy[setting]);
  }
}

/**
 * The validated policy as an operator writes it, every setting explicit: `{ rotationPeriod: '30d', …,
 * algorithm: 'RS256', kmsDeletionWindow: '30d', intentTimeout: '15m' }`. `parsePolicy` of it gives
 * the policy back (the `PolicyJson` output the CLI reads, and the handlers' environment).
 */
export function policyAsInput(policy: Policy): Record<PolicySetting, string> {
  const input = {} as Record<PolicySetting, string>;
  for (const setting of Object.keys(POLICY_ENV) as PolicySetting[]) {
    input[setting] = render(policy, setting);
  }
  return input;
}

/** `{ ROTATION_PERIOD: '30d', …, ALGORITHM: 'RS256', KMS_DELETION_WINDOW: '30d', INTENT_TIMEOUT: '15m' }`. */
export function policyEnvironment(policy: Policy): Record<string, string> {
  const input = policyAsInput(policy);
  const env: Record<string, string> = {};
  for (const setting of Object.keys(POLICY_ENV) as PolicySetting[]) {
    env[POLICY_ENV[setting]] = input[setting];
  }
  return env;
}

/**
 * Re-parses the rendered environment as a handler will and compares it with the synth-time policy.
 * @throws PolicyError naming the first setting that would not survive the trip.
 */
export function assertPolicyRoundTrip(policy: Policy, env: Readonly<Record<string, string>>): void {
  const { policy: parsed } = parsePolicy(policyInputFromEnv(env));
  for (const key of Object.keys(policy) as (keyof Policy)[]) {
    if (parsed[key] !== policy[key]) {
      throw new PolicyError(
        key,
        `${String(policy[key])} cannot be deployed: the handlers' environment carries ${String(parsed[key])}`,
      );
    }
  }
}
