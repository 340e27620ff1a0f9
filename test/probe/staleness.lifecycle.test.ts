/**
 * The staleness decision against the real lifecycle: the reconciler, operator rotations and
 * revocations and the publisher (vault proofs and revocation list included) run on in-memory
 * adapters, and what the publisher stored is judged as the canary would judge it.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { hasCode } from '../../src/errors.ts';
import { requestRotation, revokeKey } from '../../src/operations.ts';
import { jwksStaleness } from '../../src/probe/staleness.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { COMPRESSED_POLICY, MINUTE, policyOf, SECOND, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const policy = policyOf(COMPRESSED_POLICY);
const operator = { changedBy: 'cli:test', reason: 'staleness property' };

type Op = { kind: 'reconcile' } | { kind: 'rotate'; immediate: boolean } | { kind: 'revoke'; pick: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'reconcile' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rotate' as const), immediate: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat(5) }) },
);
const step = fc.record({ ms: fc.constantFrom(5 * SECOND, 10 * MINUTE, 45 * MINUTE, 2 * 60 * MINUTE), op });

const servedKids = (w: World): string[] => {
  const text = w.store.text(OBJECT_KEYS.JWKS);
  return text ? (JSON.parse(text) as { keys: { kid: string }[] }).keys.map((k) => k.kid) : [];
};

const revocable = (w: World, pick: number): string | undefined => {
  const keys = w.registry.snapshot().keys.filter((k) => ['PENDING', 'ACTIVE', 'RETIRED'].includes(k.status));
  return keys[pick % Math.max(1, keys.length)]?.kid;
};

async function apply(w: World, o: Op, now: number): Promise<void> {
  if (o.kind === 'reconcile') await reconcile(w.ops, now);
  else if (o.kind === 'rotate') {
    await requestRotation(w.ops, { immediate: o.immediate }, operator, now).catch((err: unknown) => {
      if (!(hasCode(err, 'KEY_NOT_FOUND') || hasCode(err, 'KEY_NOT_PUBLISHED'))) throw err;
    });
  } else {
    const kid = revocable(w, o.pick);
    if (kid) await revokeKey(w.ops, kid, operator, now);
  }
}

describe('jwksStaleness on the real lifecycle', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 64));

  it('is 0 after every publication, and measures an unpublished revocation from revokedAt', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 12 }), fc.nat(5), async (steps, pick) => {
        const w = makeWorld(policy);
        let now = T0;
        for (const s of steps) {
          now += s.ms;
          await apply(w, s.op, now);
          await publishJwks(w.publish, now);
          const judged = jwksStaleness({
            servedKids: servedKids(w),
            snapshot: await w.registry.read(),
            observedAt: now,
            policy,
          });
          expect(judged).toMatchObject({ seconds: 0, differences: [], unknown: [] });
        }
        // A revocation the publisher has not followed yet: the served kid is withdrawn since revokedAt.
        const kid = revocable(w, pick);
        if (!kid) return;
        now += MINUTE;
        await revokeKey(w.ops, kid, operator, now);
        const later = now + 20 * MINUTE;
        const judged = jwksStaleness({
          servedKids: servedKids(w),
          snapshot: await w.registry.read(),
          observedAt: later,
          policy,
        });
        expect(judged.differences).toContainEqual(
          expect.objectContaining({ kid, kind: 'withdrawn', status: 'REVOKED', since: now }),
        );
        expect(judged.seconds).toBeGreaterThanOrEqual(20 * 60);
        expect(judged.stale).toBe(true); // 20 min > 60 s + 60 s + 5 min
      }),
      { numRuns: 40 },
    );
  });
});
