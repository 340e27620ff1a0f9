import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Action, planRotation, transitionOf } from '../../src/core/lifecycle.ts';
import { applyCommit, buildCommit, type Transition } from '../../src/core/transitions.ts';
import type { RegistrySnapshot, VaultKey } from '../../src/core/types.ts';
import { DAY, fakeJwk, HOUR, MINUTE, policyOf, SECOND, T0 } from '../support/fixtures.ts';

const policy = policyOf({ algorithm: 'ES256' });
const change = { changedBy: 'test', reason: 'unit' };

/**
 * A pure model of the system around the planner (vault = a list of tagged keys, publisher = set
 * `publishedAt`), driven by random event sequences, to check that executing a plan reaches a
 * fixpoint and that the standby and ACTIVE slots hold at most one key in every reachable state.
 */
describe('planRotation fixpoint', () => {
  interface World {
    snap: RegistrySnapshot;
    vault: VaultKey[];
    now: number;
    seq: number;
    /** The revocation list. */
    listed: Set<string>;
  }

  const commitT = (w: World, t: Transition): World => ({
    ...w,
    snap: applyCommit(w.snap, buildCommit(w.snap, t, w.now, change)),
  });

  function execute(start: World, actions: readonly Action[], limit = Number.POSITIVE_INFINITY): World {
    let w = start;
    for (const a of actions.slice(0, limit)) {
      if (a.type === 'alarm') continue;
      if (a.type === 'createKey') {
        const keyRef = `k${w.seq}`;
        w = commitT({ ...w, seq: w.seq + 1 }, { type: 'recordIntent', keyRef, alg: a.alg });
        w = { ...w, vault: [...w.vault, { vaultKeyId: `v-${keyRef}`, keyRef }] };
        w = commitT(w, {
          type: 'completeIntent',
          keyRef,
          vaultKeyId: `v-${keyRef}`,
          publicJwk: fakeJwk(keyRef),
        });
      } else if (a.type === 'completeIntent') {
        w = commitT(w, {
          type: 'completeIntent',
          keyRef: a.keyRef,
          vaultKeyId: a.vaultKeyId,
          publicJwk: fakeJwk(a.keyRef),
        });
      } else {
        const t = transitionOf(a);
        if (t) w = commitT(w, t);
      }
    }
    return w;
  }

  const planIn = (w: World) =>
    planRotation({ ...w.snap, vaultKeys: w.vault, revokedKids: w.listed }, policy, w.now);

  type Event =
    | { kind: 'advance'; ms: number }
    | { kind: 'reconcile'; limit: number }
    | { kind: 'publish' }
    | { kind: 'crashedCreate'; withKey: boolean }
    | { kind: 'foreign'; known: boolean }
    | { kind: 'revoke'; pick: number; listOnly: boolean }
    | { kind: 'endPeriod' };

  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(SECOND, 5 * SECOND, MINUTE, 15 * MINUTE, HOUR, DAY, 7 * DAY, 30 * DAY),
    }),
    fc.record({ kind: fc.constant('reconcile' as const), limit: fc.oneof(fc.constant(99), fc.nat(3)) }),
    fc.constant({ kind: 'publish' as const }),
    fc.record({ kind: fc.constant('crashedCreate' as const), withKey: fc.boolean() }),
    fc.record({ kind: fc.constant('foreign' as const), known: fc.boolean() }),
    fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat(5), listOnly: fc.boolean() }),
    fc.constant({ kind: 'endPeriod' as const }),
  );

  function step(w: World, e: Event): World {
    switch (e.kind) {
      case 'advance':
        return { ...w, now: w.now + e.ms };
      case 'reconcile':
        return execute(w, planIn(w), e.limit);
      case 'publish': {
        // Model of markPublished: conditional per item, bumps the item version, not the registry's.
        const keys = w.snap.keys.map((k) =>
          ['PENDING', 'ACTIVE', 'RETIRED'].includes(k.status) && k.publishedAt === undefined
            ? { ...k, publishedAt: w.now, version: k.version + 1 }
            : k,
        );
        return { ...w, snap: { ...w.snap, keys } };
      }
      case 'crashedCreate': {
        if (w.snap.keys.some((k) => k.status === 'CREATING' || k.status === 'PENDING')) return w;
        const keyRef = `k${w.seq}`;
        const next = commitT({ ...w, seq: w.seq + 1 }, { type: 'recordIntent', keyRef, alg: 'ES256' });
        return e.withKey ? { ...next, vault: [...next.vault, { vaultKeyId: `v-${keyRef}`, keyRef }] } : next;
      }
      case 'foreign':
        return {
          ...w,
          seq: w.seq + 1,
          vault: [...w.vault, { vaultKeyId: `f${w.seq}`, ...(e.known ? { keyRef: 'ghost' } : {}) }],
        };
      case 'revoke': {
        const candidates = w.snap.keys.filter((k) => ['PENDING', 'ACTIVE', 'RETIRED'].includes(k.status));
        const target = candidates[e.pick % Math.max(1, candidates.length)];
        if (!target) return w;
        // listOnly: the operator's revoke died after listing the kid, before the registry commit.
        const listed = { ...w, listed: new Set([...w.listed, target.kid as string]) };
        return e.listOnly ? listed : commitT(listed, { type: 'revoke', keyRef: target.keyRef });
      }
      case 'endPeriod': {
        const a = w.snap.keys.find((k) => k.status === 'ACTIVE');
        return a ? commitT(w, { type: 'endPeriod', keyRef: a.keyRef }) : w;
      }
    }
  }

  function checkSlots(w: World): void {
    const actives = w.snap.keys.filter((k) => k.status === 'ACTIVE');
    const standbys = w.snap.keys.filter((k) => k.status === 'CREATING' || k.status === 'PENDING');
    expect(actives.length).toBeLessThanOrEqual(1);
    expect(standbys.length).toBeLessThanOrEqual(1);
    expect(w.snap.state.activeKeyRef).toBe(actives[0]?.keyRef);
    expect(w.snap.state.activeKid).toBe(actives[0]?.kid);
    expect(w.snap.state.pendingKeyRef).toBe(standbys[0]?.keyRef);
  }

  it('leaves nothing to do but the same alarms when a plan was executed, whatever came before', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let w: World = {
          snap: { state: { registryVersion: 0 }, keys: [] },
          vault: [],
          now: T0,
          seq: 0,
          listed: new Set(),
        };
        for (const e of events) {
          w = step(w, e);
          checkSlots(w);
        }
        const first = planIn(w);
        const after = execute(w, first);
        checkSlots(after);
        const again = planIn(after);
        expect(again.filter((a) => a.type !== 'alarm')).toEqual([]);
        expect(again).toEqual(first.filter((a) => a.type === 'alarm'));
      }),
      { numRuns: 300 },
    );
  });
});
