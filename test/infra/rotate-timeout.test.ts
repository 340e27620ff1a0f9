/**
 * The rotate function's timeout and what depends on it (infra/rotation-schedule.ts ROTATE_TIMEOUT,
 * infra/first-reconcile.ts): across regions a run may wait 30 s for replicas and 40 s for the first
 * key's publication, so it gets 2 minutes there; one region keeps 60 s. The first reconcile's trigger
 * must wait longer than the function may run, and intentTimeout must exceed it.
 */
import type { Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { JwksPublisherStack } from '../../infra/jwks-publisher-stack.ts';
import type { AppStacks } from '../../infra/multi-region.ts';
import { ACCOUNT, define, HOME, REPLICA, resources } from './multi-region-synth.ts';
import { logicalId } from './synth.ts';

/** The rotate function's Timeout (seconds) and the first reconcile trigger's (milliseconds, a string). */
function timeouts(stack: JwksPublisherStack) {
  const all = resources(stack as Stack);
  const fn = all[logicalId(stack.publisher.rotation.handler.function)];
  const triggers = Object.values(all).filter((r) => r.Type === 'Custom::Trigger');
  expect(triggers).toHaveLength(1);
  const [trigger] = triggers;
  // The trigger runs the rotate function (its current version), not some other function.
  const version = all[trigger?.Properties.HandlerArn.Ref];
  expect(version?.Properties.FunctionName).toEqual({
    Ref: logicalId(stack.publisher.rotation.handler.function),
  });
  return {
    functionSeconds: fn?.Properties.Timeout as number,
    triggerMs: Number(trigger?.Properties.Timeout),
  };
}

const twoRegions = { regions: `${HOME},${REPLICA}` };

describe('the rotate function timeout', () => {
  it('stays 60 s in one region, the trigger waiting 2 minutes, as before multi-region', () => {
    const { stacks } = define({}, { account: ACCOUNT, defaultRegion: HOME });
    expect(timeouts(stacks.home)).toEqual({ functionSeconds: 60, triggerMs: 120_000 });
    expect(stacks.home.publisher.rotation.timeout.toSeconds()).toBe(60);
  });

  it('is 2 minutes in every region of a multi-region deployment, each trigger waiting longer than it', () => {
    const { stacks } = define(twoRegions);
    const { home, replicas } = stacks as AppStacks & { replicas: [JwksPublisherStack] };
    for (const stack of [home, ...replicas]) {
      const { functionSeconds, triggerMs } = timeouts(stack);
      // 30 s for the replicas + 40 s for the first key's publication + KMS and table calls.
      expect(functionSeconds, stack.stackName).toBe(120);
      expect(triggerMs, stack.stackName).toBeGreaterThan(functionSeconds * 1000);
      expect(triggerMs, stack.stackName).toBe(180_000);
    }
  });

  it('refuses an intentTimeout a multi-region run could outlast, naming the setting, the timeout and the value', () => {
    // 90 s exceeds one region's 60 s but not the 2 minutes of a multi-region run.
    expect(() => define({ intentTimeout: '90s' }, { account: ACCOUNT, defaultRegion: HOME })).not.toThrow();
    let error: unknown;
    try {
      define({ ...twoRegions, intentTimeout: '90s' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'INVALID_POLICY', setting: 'intentTimeout' });
    expect((error as Error).message).toBe(
      'intentTimeout: must exceed the rotate function timeout of a multi-region deployment, 2m (got 90s)',
    );
  });

  it('accepts an intentTimeout just above the multi-region timeout', () => {
    const { stacks } = define({ ...twoRegions, intentTimeout: '121s' });
    expect(stacks.home.publisher.settings.policy.intentTimeout).toBe(121_000);
  });

  it('refuses an intentTimeout equal to the single-region timeout, naming both in policy units', () => {
    expect(() => define({ intentTimeout: '60s' }, { account: ACCOUNT, defaultRegion: HOME })).toThrow(
      'intentTimeout: must exceed the rotate function timeout, 1m (got 1m)',
    );
  });
});
