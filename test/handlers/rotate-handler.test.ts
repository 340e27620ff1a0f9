import { beforeAll, describe, expect, it } from 'vitest';
import { createRotateHandler, METRIC_NAMES, type MetricsSink } from '../../src/handlers/rotate-handler.ts';
import { revokeKey } from '../../src/operations.ts';
import { publishJwks } from '../../src/publisher.ts';
import { appendRevocation } from '../../src/revocations.ts';
import { policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld } from '../support/world.ts';

const operator = { changedBy: 'cli:ops', reason: 'leak' };

class RecordingMetrics implements MetricsSink {
  readonly values: Array<[string, number]> = [];
  published = 0;
  addMetric(name: string, _unit: 'Count' | 'Seconds', value: number): void {
    this.values.push([name, value]);
  }
  publishStoredMetrics(): void {
    this.published += 1;
  }
}

describe('createRotateHandler', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['RS256'], 4));

  it('reconciles and reports success when the run completes', async () => {
    const world = makeWorld(policyOf());
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0, bootstrapWaitMs: 0 });
    const result = await handler();
    expect(result.actions.map((a) => a.type)).toContain('createKey');
    expect(metrics.values).toContainEqual([METRIC_NAMES.RECONCILE_SUCCEEDED, 1]);
    expect(metrics.published).toBe(1);
  });

  it('reconciles when invoked with the empty event the deployment trigger sends (infra/first-reconcile.ts)', async () => {
    const world = makeWorld(policyOf());
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0, bootstrapWaitMs: 0 });
    const result = await handler({});
    expect(result.actions.map((a) => a.type)).toContain('createKey');
    expect(metrics.values).toContainEqual([METRIC_NAMES.RECONCILE_SUCCEEDED, 1]);
  });

  it('reports the ACTIVE key age and the time since the last key publication after a run', async () => {
    const world = makeWorld(policyOf());
    const metrics = new RecordingMetrics();
    let now = T0;
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => now, bootstrapWaitMs: 0 });
    await handler();
    expect(metrics.values.map(([n]) => n)).not.toContain(METRIC_NAMES.ACTIVE_KEY_AGE);
    await publishJwks(world.publish, now);
    now = T0 + 60_000;
    await handler(); // first key activates (lead waived for the first key)
    now = T0 + 3_600_000;
    metrics.values.length = 0;
    await handler();
    const value = (name: string) => metrics.values.find(([n]) => n === name)?.[1];
    expect(value(METRIC_NAMES.ACTIVE_KEY_AGE)).toBe(3_540);
    expect(value(METRIC_NAMES.SINCE_LAST_PUBLICATION)).toBe(3_600);
  });

  it('reports no success and still flushes metrics when the reconcile fails', async () => {
    const world = makeWorld(policyOf());
    world.faults.crash('registry.read');
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0, bootstrapWaitMs: 0 });
    await expect(handler()).rejects.toBeDefined();
    expect(metrics.values.find(([name]) => name === METRIC_NAMES.RECONCILE_SUCCEEDED)).toBeUndefined();
    expect(metrics.published).toBe(1);
  });

  it('counts tagged vault keys the registry does not know, and never deletes them', async () => {
    const world = makeWorld(policyOf());
    const { vaultKeyId } = await world.vault.createKey({ keyRef: 'foreign-ref', alg: 'RS256' });
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0, bootstrapWaitMs: 0 });
    await handler();
    expect(metrics.values).toContainEqual([METRIC_NAMES.UNKNOWN_VAULT_KEYS, 1]);
    expect(world.vault.stateOf(vaultKeyId)).toBe('Enabled');
  });

  it('activates the first key in the same run once the publisher has published it', async () => {
    const world = makeWorld(policyOf());
    let now = T0;
    const handler = createRotateHandler({
      ...world.ops,
      clock: () => now,
      // While the handler waits, the stream-driven publisher publishes the new key.
      sleep: async (ms) => {
        now += ms;
        await publishJwks(world.publish, now);
      },
    });
    const result = await handler();
    expect(result.actions.map((a) => a.type)).toEqual(['createKey', 'activate', 'createKey']);
    expect(world.registry.snapshot().state.activeKid).toBeDefined();
  });

  it('after revoking a listed ACTIVE key with no published standby, activates the standby in the same run once published', async () => {
    const world = makeWorld(policyOf());
    let now = T0;
    const quick = createRotateHandler({ ...world.ops, clock: () => now, bootstrapWaitMs: 0 });
    for (let i = 0; i < 2; i++) {
      await quick();
      await publishJwks(world.publish, now);
    }
    const { state } = world.registry.snapshot();
    // An operator revoked the standby (its replacement is unpublished), then the ACTIVE key, and died
    // after listing it: the scheduled run finishes the revoke from the revocation list.
    await revokeKey(world.ops, state.pendingKid as string, operator, now);
    const awaiting = world.registry.snapshot().state.pendingKid as string;
    await appendRevocation(world.store, { kid: state.activeKid as string, revokedAt: now, ...operator });
    const handler = createRotateHandler({
      ...world.ops,
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
        await publishJwks(world.publish, now);
      },
    });
    const result = await handler();
    expect(result.actions.map((a) => a.type)).toEqual([
      'revoke',
      'disableKey',
      'scheduleDeletion',
      'activate',
      'createKey',
    ]);
    const activated = world.registry.snapshot().keys.find((k) => k.kid === awaiting);
    expect(activated).toMatchObject({ status: 'ACTIVE' });
    expect(activated?.activatedAt).toBeGreaterThanOrEqual(activated?.publishedAt as number);
    expect(result.warnings).toEqual([expect.stringContaining(`activated ${awaiting}`)]);
  });

  it('gives up waiting for the first publication after bootstrapWaitMs and leaves activation to a later run', async () => {
    const world = makeWorld(policyOf());
    let now = T0;
    let waited = 0;
    const handler = createRotateHandler({
      ...world.ops,
      clock: () => now,
      bootstrapWaitMs: 5_000,
      sleep: async (ms) => {
        waited += ms;
        now += ms;
      },
    });
    const result = await handler();
    expect(result.actions.map((a) => a.type)).toEqual(['createKey']);
    expect(world.registry.snapshot().state.activeKid).toBeUndefined();
    expect(waited).toBeGreaterThanOrEqual(5_000);
    expect(waited).toBeLessThan(6_000);
  });

  it('does not wait when the run created no first key', async () => {
    const world = makeWorld(policyOf());
    let slept = 0;
    const quick = createRotateHandler({ ...world.ops, clock: () => T0, bootstrapWaitMs: 0 });
    await quick();
    await publishJwks(world.publish, T0);
    const handler = createRotateHandler({
      ...world.ops,
      clock: () => T0 + 1,
      sleep: async () => {
        slept += 1;
      },
    });
    await handler(); // activates the published first key and creates the standby: not a first key
    expect(slept).toBe(0);
  });
});
