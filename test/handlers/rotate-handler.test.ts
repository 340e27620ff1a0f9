import { beforeAll, describe, expect, it } from 'vitest';
import { createRotateHandler, METRIC_NAMES, type MetricsSink } from '../../src/handlers/rotate-handler.ts';
import { policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld } from '../support/world.ts';

class RecordingMetrics implements MetricsSink {
  readonly values: Array<[string, number]> = [];
  published = 0;
  addMetric(name: string, _unit: 'Count', value: number): void {
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
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0 });
    const result = await handler();
    expect(result.actions.map((a) => a.type)).toContain('createKey');
    expect(metrics.values).toContainEqual([METRIC_NAMES.RECONCILE_SUCCEEDED, 1]);
    expect(metrics.published).toBe(1);
  });

  it('reports no success and still flushes metrics when the reconcile fails', async () => {
    const world = makeWorld(policyOf());
    world.faults.crash('registry.read');
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0 });
    await expect(handler()).rejects.toBeDefined();
    expect(metrics.values.find(([name]) => name === METRIC_NAMES.RECONCILE_SUCCEEDED)).toBeUndefined();
    expect(metrics.published).toBe(1);
  });

  it('counts tagged vault keys the registry does not know, and never deletes them', async () => {
    const world = makeWorld(policyOf());
    const { vaultKeyId } = await world.vault.createKey({ keyRef: 'foreign-ref', alg: 'RS256' });
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({ ...world.ops, metrics, clock: () => T0 });
    await handler();
    expect(metrics.values).toContainEqual([METRIC_NAMES.UNKNOWN_VAULT_KEYS, 1]);
    expect(world.vault.stateOf(vaultKeyId)).toBe('Enabled');
  });
});
