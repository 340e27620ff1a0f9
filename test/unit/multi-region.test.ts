/**
 * Two regions on one global table (ADR 0008), in memory: one registry (replication without lag), one
 * vault (multi-Region keys share material), a bucket and a CDN per region. Region B's processes get a
 * registry that counts every write, so "watch mode writes nothing" is checked, not assumed.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import type { RegionConfig } from '../../src/core/regions.ts';
import type { Policy } from '../../src/core/types.ts';
import type { Registry } from '../../src/ports.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { revocationKey } from '../../src/revocations.ts';
import { COMPRESSED_POLICY, HOUR, MINUTE, T0 } from '../support/fixtures.ts';
import { MemoryCdn, MemoryKeyVault, MemoryObjectStore, MemoryRegistry } from '../support/memory.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const REGIONS = [A, B];
const policy: Policy = parsePolicy(COMPRESSED_POLICY, { multiRegion: true }).policy;

/** The registry as one region's processes see it; writes are counted per region. */
function regional(registry: MemoryRegistry, writes: string[]): Registry {
  const count = (what: string): void => {
    writes.push(what);
  };
  return {
    read: () => registry.read(),
    readState: () => registry.readState(),
    commit: async (c) => {
      count('commit');
      await registry.commit(c);
    },
    markPublished: async (refs, at) => {
      count('markPublished');
      await registry.markPublished(refs, at);
    },
    markRegionPublished: async (region, keys, at) => {
      count(`mark:${region}`);
      await registry.markRegionPublished(region, keys, at);
    },
    promote: async (input) => {
      count('promote');
      await registry.promote(input);
    },
  };
}

function twoRegions() {
  const registry = new MemoryRegistry();
  const vault = new MemoryKeyVault();
  let n = 0;
  const newKeyRef = () => `ref-${String(++n).padStart(3, '0')}`;
  const region = (name: string) => {
    const writes: string[] = [];
    const store = new MemoryObjectStore();
    const cdn = new MemoryCdn();
    const regions: RegionConfig = { region: name, regions: REGIONS };
    const reg = regional(registry, writes);
    return {
      writes,
      store,
      reconcile: (now: number) => reconcile({ registry: reg, vault, store, policy, newKeyRef, regions }, now),
      publish: (now: number) => publishJwks({ registry: reg, store, cdn, policy, vault, regions }, now),
      served: () =>
        JSON.parse(store.text('.well-known/jwks.json') ?? '{"keys":[]}').keys.map(
          (k: { kid: string }) => k.kid,
        ),
    };
  };
  return { registry, vault, a: region(A), b: region(B) };
}

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 12));

describe('multi-region reconcile and publish', () => {
  it('writes nothing in a region that is not the primary, and reports what the primary has not done', async () => {
    const { b } = twoRegions();
    const result = await b.reconcile(T0);
    expect(b.writes).toEqual([]);
    expect(result.actions).toEqual([]);
    expect(result.region).toMatchObject({ role: 'watch', primaryRegion: A, overdueActions: 1 });
  });

  it('activates the first key only once every region has served it', async () => {
    const { registry, a, b } = twoRegions();
    await a.reconcile(T0); // primary recorded in STATE, first key created (PENDING)
    expect(registry.snapshot().state).toMatchObject({ primaryRegion: A, epoch: 0 });
    await a.publish(T0 + 1);
    expect(a.writes).toContain(`mark:${A}`);
    expect(a.writes).not.toContain('markPublished'); // a publisher never writes a key item here
    await a.reconcile(T0 + 2);
    expect(registry.snapshot().keys.map((k) => k.status)).toEqual(['PENDING']);

    await b.publish(T0 + MINUTE);
    expect(b.writes).toEqual([`mark:${B}`]);
    const run = await a.reconcile(T0 + MINUTE + 1);
    expect(run.region?.rolledUp).toEqual(['ref-001']);
    const [first] = registry.snapshot().keys;
    expect(first).toMatchObject({ status: 'ACTIVE', publishedAt: T0 + MINUTE });
    expect(b.served()).toContain(first?.kid);
    expect(a.served()).toContain(first?.kid);
  });

  it('counts the prepublish lead from the last region to serve the successor', async () => {
    const { registry, a, b } = twoRegions();
    for (const t of [T0, T0 + 1, T0 + 2, T0 + 3]) {
      await a.reconcile(t);
      await a.publish(t);
      await b.publish(t);
    }
    const standby = registry.snapshot().keys.find((k) => k.status === 'PENDING');
    const periodEnd = T0 + 4 * HOUR;
    await a.publish(periodEnd - 2 * HOUR);
    // B serves the standby only 10 minutes before the period ends: the lead is 1h from then.
    const late = periodEnd - 10 * MINUTE;
    // (B had served it already above; model a region that was down by clearing its mark.)
    const snap = registry.snapshot();
    registry.restore({
      ...snap,
      keys: snap.keys.map((k) => (k.keyRef === standby?.keyRef ? { ...k, publishedAt: undefined } : k)),
      publications: (snap.publications ?? []).filter(
        (p) => !(p.region === B && p.keyRef === standby?.keyRef),
      ),
    });
    await b.publish(late);
    await a.reconcile(periodEnd);
    expect(registry.snapshot().keys.find((k) => k.keyRef === standby?.keyRef)).toMatchObject({
      status: 'PENDING',
      publishedAt: late,
    });
    await a.reconcile(late + HOUR);
    expect(registry.snapshot().keys.find((k) => k.keyRef === standby?.keyRef)?.status).toBe('ACTIVE');
  });

  it('hands writing over on promote-region, and the promoted region re-asserts STATE after a fenced write', async () => {
    const { registry, a, b } = twoRegions();
    await a.reconcile(T0);
    const version = registry.snapshot().state.registryVersion;
    await registry.promote({
      region: B,
      epoch: 1,
      expectedRegistryVersion: version,
      at: T0 + 1,
      change: { changedBy: 'cli:ops', reason: 'drill' },
    });
    a.writes.length = 0;
    expect((await a.reconcile(T0 + 2)).region).toMatchObject({ role: 'watch', primaryRegion: B });
    expect(a.writes).toEqual([]);

    // The old primary, cut off, overwrote STATE after the promotion (last writer wins on the item).
    const snap = registry.snapshot();
    registry.restore({ ...snap, state: { ...snap.state, primaryRegion: A, epoch: 0 } });
    const run = await b.reconcile(T0 + 3);
    expect(run.region).toMatchObject({ role: 'primary', fencedWrite: true, epoch: 1 });
    expect(registry.snapshot().state).toMatchObject({ primaryRegion: B, epoch: 1 });
    expect(a.writes).toEqual([]);
  });

  it('stops the old primary with FENCED when B’s promotion reaches its table after its read, and never retries', async () => {
    const { registry, vault, a, b } = twoRegions();
    await a.reconcile(T0); // STATE records A at epoch 0; the first key is created (PENDING)
    await a.publish(T0 + 1);
    await b.publish(T0 + 1); // the activation is due now
    const writes: string[] = [];
    let arrived = false;
    const fencedA: Registry = {
      ...regional(registry, writes),
      read: async () => {
        const read = await registry.read();
        if (!arrived) {
          // PROMOTION#1 replicates into A's table alone, right after this run read it (STATE not yet).
          arrived = true;
          const now = registry.snapshot();
          const promotion = {
            epoch: 1,
            region: B,
            promotedAt: T0 + 2,
            changedBy: 'cli:ops',
            reason: 'drill',
          };
          registry.restore({ ...now, promotions: [...(now.promotions ?? []), promotion] });
        }
        return read;
      },
    };
    const regions: RegionConfig = { region: A, regions: REGIONS };
    const run = await reconcile({ registry: fencedA, vault, policy, regions }, T0 + MINUTE);
    expect(run.fenced).toEqual({ epoch: 0 });
    expect(run.actions).toEqual([]);
    expect(writes.filter((w) => w === 'commit')).toHaveLength(1); // refused once, not retried
    expect(registry.snapshot().keys.map((k) => k.status)).toEqual(['PENDING']);
    expect(registry.snapshot().state).toMatchObject({ primaryRegion: A, epoch: 0 });
    // The next run reads the promotion and steps down.
    a.writes.length = 0;
    expect((await a.reconcile(T0 + MINUTE + 1)).region).toMatchObject({ role: 'watch', primaryRegion: B });
    expect(a.writes).toEqual([]);
  });
});

describe('the revocation list in every region', () => {
  it('copies a REVOKED record into each region’s own list, so restoring that region’s table cannot serve the key again', async () => {
    const { registry, a, b } = twoRegions();
    let t = T0;
    while (registry.snapshot().keys.filter((k) => k.kid !== undefined).length < 2 && t < T0 + 24 * HOUR) {
      await a.reconcile(t);
      await a.publish(t);
      await b.publish(t);
      t += 20 * MINUTE;
    }
    const before = registry.snapshot();
    const victim = before.keys.find((k) => k.status === 'PENDING' && k.kid);
    expect(victim?.kid).toBeDefined();
    // The primary's revoke reached B's table by replication; B's bucket has no list entry yet.
    registry.restore({
      ...before,
      keys: before.keys.map((k) => (k === victim ? { ...k, status: 'REVOKED' as const, revokedAt: t } : k)),
    });
    await b.publish(t);
    expect(b.store.text(revocationKey(victim?.kid as string))).toContain(victim?.kid);
    expect(b.served()).not.toContain(victim?.kid);
    // A point-in-time restore of B's table from before the revoke: the list still keeps it out.
    registry.restore(before);
    await b.publish(t + 1);
    expect(b.served()).not.toContain(victim?.kid);
  });
});

describe('a replica holding half of a primary transaction', () => {
  it('reports nothing from a watching region; the primary settles on the key activated last and goes on', async () => {
    const { registry, a, b } = twoRegions();
    let t = T0;
    // Until a second key has been activated (the first one retired in the same transaction).
    while (
      registry.snapshot().keys.filter((k) => k.activatedAt !== undefined).length < 2 &&
      t < T0 + 48 * HOUR
    ) {
      await a.reconcile(t);
      await a.publish(t);
      await b.publish(t);
      t += 20 * MINUTE;
    }
    const snap = registry.snapshot();
    const retired = snap.keys.find((k) => k.status === 'RETIRED');
    const active = snap.keys.find((k) => k.status === 'ACTIVE');
    expect(retired && active).toBeTruthy();
    // The activation arrived in this replica, the matching retirement not: two ACTIVE keys.
    registry.restore({
      ...snap,
      keys: snap.keys.map((k) =>
        k.keyRef === retired?.keyRef ? { ...k, status: 'ACTIVE' as const, retiredAt: undefined } : k,
      ),
    });
    const watched = await b.reconcile(t);
    expect(watched.planned).toEqual([]);
    expect(b.writes).not.toContain('commit');

    await a.reconcile(t);
    const after = registry.snapshot();
    expect(after.keys.filter((k) => k.status === 'ACTIVE').map((k) => k.keyRef)).toEqual([active?.keyRef]);
    const settled = after.keys.find((k) => k.keyRef === retired?.keyRef);
    expect(settled?.status).toBe('RETIRED');
    // Retired now, not back when the lost transaction ran: its retention only gets longer.
    expect(settled?.retiredAt).toBeGreaterThanOrEqual(t);
    expect(after.state.activeKeyRef).toBe(active?.keyRef);
    // And the lifecycle goes on from there.
    await expect(a.reconcile(t + policy.rotationPeriod)).resolves.toBeDefined();
  });
});

describe('multi-region invariants (property)', () => {
  type Step = { kind: 'advance'; ms: number } | { kind: 'reconcile' | 'publish'; region: 'a' | 'b' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(5_000, MINUTE, 20 * MINUTE, HOUR, 3 * HOUR),
    }),
    fc.record({
      kind: fc.constantFrom('reconcile' as const, 'publish' as const),
      region: fc.constantFrom('a' as const, 'b' as const),
    }),
  );

  it('never activates a key some region has not served for the lead, and region B never writes a key item', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
        const world = twoRegions();
        let now = T0;
        for (const s of steps) {
          if (s.kind === 'advance') now += s.ms;
          else await world[s.region][s.kind](now);
          const snap = world.registry.snapshot();
          const bootstrapped = snap.state.bootstrappedAt;
          for (const k of snap.keys.filter((k) => k.activatedAt !== undefined)) {
            for (const region of REGIONS) {
              const m = snap.publications?.find((p) => p.region === region && p.keyRef === k.keyRef);
              expect(m, `${k.keyRef} activated before ${region} served it`).toBeDefined();
              const lead = k.activatedAt === bootstrapped ? 0 : policy.prepublishLead;
              expect((m?.publishedAt ?? Infinity) + lead).toBeLessThanOrEqual(k.activatedAt as number);
            }
          }
          expect(world.b.writes.filter((w) => w !== `mark:${B}`)).toEqual([]);
        }
      }),
      { numRuns: 60 },
    );
  });
});
