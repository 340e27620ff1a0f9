/**
 * The rotate function in a two-region deployment (ADR 0008): watch-mode metrics, operator actions sent
 * to a region that is not the primary, and promote-region. One in-memory registry stands for the
 * global table (no lag); each region's handler gets its own RegionConfig.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import { createRotateHandler, METRIC_NAMES, type MetricsSink } from '../../src/handlers/rotate-handler.ts';
import type { HeartbeatStore } from '../../src/heartbeat.ts';
import type { OperatorResponse } from '../../src/operator/action.ts';
import type { Registry } from '../../src/ports.ts';
import { T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld } from '../support/world.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const policy = parsePolicy({ algorithm: 'ES256' }, { multiRegion: true }).policy;
const operator = { arn: 'arn:aws:sts::123456789012:assumed-role/ops/alice' };

class RecordingMetrics implements MetricsSink {
  readonly values: Array<[string, number]> = [];
  addMetric(name: string, _unit: 'Count' | 'Seconds', value: number): void {
    this.values.push([name, value]);
  }
  publishStoredMetrics(): void {}
}

function handlers() {
  const world = makeWorld(policy);
  const make = (region: string) => {
    const metrics = new RecordingMetrics();
    const handler = createRotateHandler({
      ...world.ops,
      metrics,
      clock: () => T0,
      bootstrapWaitMs: 0,
      regions: { region, regions: [A, B] },
    });
    return { handler, metrics };
  };
  return { world, a: make(A), b: make(B) };
}

const refusal = (r: OperatorResponse) => (r.ok ? undefined : r.error.code);

describe('createRotateHandler in two regions', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 4));

  it('reports overdue actions and no fenced write from a watching region, and writes nothing', async () => {
    const { world, b } = handlers();
    const result = await b.handler();
    expect(result.region).toMatchObject({ role: 'watch', overdueActions: 1 });
    expect(b.metrics.values).toContainEqual([METRIC_NAMES.OVERDUE_ACTIONS, 1]);
    expect(b.metrics.values).toContainEqual([METRIC_NAMES.FENCED_WRITES, 0]);
    expect(world.registry.commits).toEqual([]);
  });

  it('refuses rotate and revoke in a region that is not the primary with NOT_PRIMARY', async () => {
    const { world, a, b } = handlers();
    await a.handler();
    const before = world.registry.snapshot().state.registryVersion;
    const rotate = await b.handler({ action: 'rotate', reason: 'test', operator });
    expect(refusal(rotate)).toBe('NOT_PRIMARY');
    const revoke = await b.handler({ action: 'revoke', kid: 'x', reason: 'test', operator });
    expect(refusal(revoke)).toBe('NOT_PRIMARY');
    expect(world.registry.snapshot().state.registryVersion).toBe(before);
  });

  it('promotes the region whose function receives promote-region, and only that one', async () => {
    const { world, a, b } = handlers();
    await a.handler();
    expect(refusal(await a.handler({ action: 'promote-region', region: B, reason: 'drill', operator }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(refusal(await a.handler({ action: 'promote-region', region: A, reason: 'drill', operator }))).toBe(
      'INVALID_ARGUMENT', // already the primary
    );
    const promoted = await b.handler({ action: 'promote-region', region: B, reason: 'drill', operator });
    expect(promoted).toMatchObject({
      ok: true,
      outcome: { action: 'promote-region', result: { region: B, previousPrimary: A, epoch: 1 } },
    });
    expect(world.registry.snapshot().state).toMatchObject({ primaryRegion: B, epoch: 1 });
    expect(world.registry.snapshot().promotions).toEqual([
      expect.objectContaining({ epoch: 1, region: B, changedBy: `cli:${operator.arn}`, reason: 'drill' }),
    ]);
    // The old primary now watches; the new one writes.
    expect((await a.handler()).region?.role).toBe('watch');
    expect(refusal(await a.handler({ action: 'rotate', reason: 'test', operator }))).toBe('NOT_PRIMARY');
    expect((await b.handler()).region?.role).toBe('primary');
  });

  it('counts a fenced write when STATE fell behind the newest promotion, and re-asserts it', async () => {
    const { world, a, b } = handlers();
    await a.handler();
    await b.handler({ action: 'promote-region', region: B, reason: 'drill', operator });
    const snap = world.registry.snapshot();
    world.registry.restore({ ...snap, state: { ...snap.state, primaryRegion: A, epoch: 0 } });
    await b.handler();
    expect(b.metrics.values).toContainEqual([METRIC_NAMES.FENCED_WRITES, 1]);
    expect(world.registry.snapshot().state).toMatchObject({ primaryRegion: B, epoch: 1 });
  });

  it('counts a fenced write and stops, retrying nothing, when a promotion arriving after its read refuses its commit', async () => {
    const world = makeWorld(policy);
    const metrics = new RecordingMetrics();
    let attempts = 0;
    let arrived = false;
    const registry: Registry = {
      ...world.registry,
      read: async () => {
        const read = await world.registry.read();
        if (!arrived) {
          // B's promotion replicates into A's table right after A's run read it (STATE never came).
          arrived = true;
          const now = world.registry.snapshot();
          const promotion = { epoch: 1, region: B, promotedAt: T0, changedBy: 'cli:ops', reason: 'drill' };
          world.registry.restore({ ...now, promotions: [promotion] });
        }
        return read;
      },
      readState: () => world.registry.readState(),
      commit: (c) => {
        attempts += 1;
        return world.registry.commit(c);
      },
      markPublished: (refs, at) => world.registry.markPublished(refs, at),
      markRegionPublished: (r, keys, at) => world.registry.markRegionPublished(r, keys, at),
      promote: (input) => world.registry.promote(input),
    };
    const a = createRotateHandler({
      ...world.ops,
      registry,
      metrics,
      clock: () => T0,
      bootstrapWaitMs: 60_000,
      regions: { region: A, regions: [A, B] },
    });
    const result = await a();
    expect(result.fenced).toEqual({ epoch: 0 });
    expect(attempts).toBe(1); // its first commit (recording itself as primary) was refused, once
    expect(world.registry.commits).toEqual([]);
    expect(metrics.values).toContainEqual([METRIC_NAMES.FENCED_WRITES, 1]);
    expect((await a()).region).toMatchObject({ role: 'watch', primaryRegion: B });
  });
});

describe('promote-region --exclude (a lost region)', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 4));

  it('lets the promoted region activate on its own publication, and re-admits the lost region later', async () => {
    const { world, a, b } = handlers();
    await a.handler(); // A is primary; the first key is PENDING, published nowhere
    const promoted = await b.handler({
      action: 'promote-region',
      region: B,
      exclude: [A],
      reason: 'eu-west-1 lost',
      operator,
    });
    expect(promoted).toMatchObject({ ok: true, outcome: { result: { servingRegions: [B], epoch: 1 } } });
    const [first] = world.registry.snapshot().keys;
    // Only B publishes (A is down): that is enough now.
    await world.registry.markRegionPublished(
      B,
      [{ keyRef: first?.keyRef as string, kid: first?.kid as string }],
      T0,
    );
    await b.handler();
    expect(world.registry.snapshot().keys[0]).toMatchObject({ status: 'ACTIVE', publishedAt: T0 });

    // Re-admitting A: promote the primary again without --exclude (a new epoch, every region gates).
    const readmit = await b.handler({
      action: 'promote-region',
      region: B,
      reason: 'eu-west-1 back',
      operator,
    });
    expect(readmit).toMatchObject({ ok: true, outcome: { result: { servingRegions: [A, B], epoch: 2 } } });
    expect(refusal(await b.handler({ action: 'promote-region', region: B, reason: 'again', operator }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses to exclude the promoted region itself or a region the deployment does not have', async () => {
    const { a, b } = handlers();
    await a.handler();
    const self = await b.handler({
      action: 'promote-region',
      region: B,
      exclude: [B],
      reason: 'x',
      operator,
    });
    expect(refusal(self)).toBe('INVALID_ARGUMENT');
    const other = await b.handler({
      action: 'promote-region',
      region: B,
      exclude: ['ap-south-1'],
      reason: 'x',
      operator,
    });
    expect(refusal(other)).toBe('INVALID_ARGUMENT');
  });
});

describe('createRotateHandler heartbeats', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 4));

  /** One table's heartbeat items (both regions share it here: no replication lag). */
  function sharedHeartbeats(): HeartbeatStore {
    const beats = new Map<string, number>();
    return {
      async beat(region, at) {
        beats.set(region, Math.max(at, beats.get(region) ?? 0));
      },
      async read(regions) {
        return new Map(regions.flatMap((r) => (beats.has(r) ? [[r, beats.get(r) as number] as const] : [])));
      },
    };
  }

  /** A sink that keeps each single metric with its dimensions, as CloudWatch would see it. */
  function dimensionedMetrics() {
    const seen: { name: string; value: number; dimensions: Record<string, string> }[] = [];
    const sink: MetricsSink = {
      addMetric() {},
      publishStoredMetrics() {},
      singleMetric() {
        const dimensions: Record<string, string> = {};
        return {
          addDimension: (name, value) => {
            dimensions[name] = value;
          },
          addMetric: (name, _unit, value) => {
            seen.push({ name, value, dimensions: { ...dimensions } });
          },
        };
      },
    };
    return { sink, seen };
  }

  it("reports the other region's heartbeat age with its SourceRegion, and none for a region never heard from", async () => {
    const world = makeWorld(policy);
    const heartbeats = sharedHeartbeats();
    let now = T0;
    const make = (region: string, metrics: MetricsSink) =>
      createRotateHandler({
        ...world.ops,
        metrics,
        heartbeats,
        clock: () => now,
        bootstrapWaitMs: 0,
        regions: { region, regions: [A, B] },
      });
    const a = dimensionedMetrics();
    const b = dimensionedMetrics();
    await make(A, a.sink)();
    // A ran first: B had never beaten, so A reports nothing for B (the alarm's missing data).
    expect(a.seen.filter((m) => m.name === METRIC_NAMES.REPLICA_HEARTBEAT_AGE)).toEqual([]);
    now = T0 + 90_000;
    await make(B, b.sink)();
    expect(b.seen.filter((m) => m.name === METRIC_NAMES.REPLICA_HEARTBEAT_AGE)).toEqual([
      { name: METRIC_NAMES.REPLICA_HEARTBEAT_AGE, value: 90, dimensions: { SourceRegion: A } },
    ]);
  });

  it('beats even when the reconcile fails', async () => {
    const world = makeWorld(policy);
    const heartbeats = sharedHeartbeats();
    const handler = createRotateHandler({
      ...world.ops,
      registry: { ...world.ops.registry, read: () => Promise.reject(new Error('throttled')) },
      heartbeats,
      clock: () => T0,
      bootstrapWaitMs: 0,
      regions: { region: A, regions: [A, B] },
    });
    await expect(handler()).rejects.toThrow('throttled');
    expect((await heartbeats.read([A])).get(A)).toBe(T0);
  });
});
