import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Action, type PlanInput, planRotation, transitionOf } from '../../src/core/lifecycle.ts';
import { applyCommit, buildCommit, type Transition } from '../../src/core/transitions.ts';
import type { KeyRecord, RegistrySnapshot, VaultKey } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import {
  DAY,
  fakeJwk,
  HOUR,
  keyRecord,
  MINUTE,
  policyOf,
  SECOND,
  snapshotOf,
  T0,
} from '../support/fixtures.ts';

const policy = policyOf({ algorithm: 'ES256' }); // 30d period, 7d lead, 1d retention, 5s signer cache, 15m intent timeout
const change = { changedBy: 'test', reason: 'unit' };

function plan(
  keys: KeyRecord[],
  now: number,
  opts: { vault?: VaultKey[]; bootstrappedAt?: number } = {},
): Action[] {
  const snap = snapshotOf(keys, 'bootstrappedAt' in opts ? { bootstrappedAt: opts.bootstrappedAt } : {});
  const vaultKeys =
    opts.vault ?? keys.flatMap((k) => (k.vaultKeyId ? [{ vaultKeyId: k.vaultKeyId, keyRef: k.keyRef }] : []));
  const input: PlanInput = { ...snap, vaultKeys };
  return planRotation(input, policy, now);
}

const types = (actions: Action[]) => actions.map((a) => a.type);

/** The steady state: a key ACTIVE since T0 and its standby published right after. */
const active = (extra: Partial<KeyRecord> = {}) =>
  keyRecord('a', 'ACTIVE', { activatedAt: T0, publishedAt: T0, ...extra });
const pending = (extra: Partial<KeyRecord> = {}) =>
  keyRecord('p', 'PENDING', { createdAt: T0 + 1, publishedAt: T0 + MINUTE, ...extra });

describe('planRotation', () => {
  it('creates the first key when the registry is empty', () => {
    expect(plan([], T0)).toEqual([{ type: 'createKey', alg: policy.algorithm, why: expect.any(String) }]);
  });

  it('does nothing when in the steady state mid-period', () => {
    expect(plan([active(), pending()], T0 + 10 * DAY)).toEqual([]);
  });

  describe('creation intents', () => {
    it('completes an intent when its vault key exists', () => {
      const intent = keyRecord('c', 'CREATING', { createdAt: T0 });
      const actions = plan([active(), intent], T0 + MINUTE, {
        vault: [
          { vaultKeyId: 'v-c', keyRef: 'c' },
          { vaultKeyId: 'vault-a', keyRef: 'a' },
        ],
      });
      expect(actions).toEqual([
        { type: 'completeIntent', keyRef: 'c', vaultKeyId: 'v-c', why: expect.any(String) },
      ]);
    });

    it('waits for a young intent without a vault key and creates no second standby', () => {
      const intent = keyRecord('c', 'CREATING', { createdAt: T0 });
      expect(plan([active(), intent], T0 + policy.intentTimeout - 1)).toEqual([]);
    });

    it('abandons a stale intent without a vault key and creates a new standby', () => {
      const intent = keyRecord('c', 'CREATING', { createdAt: T0 });
      const actions = plan([active(), intent], T0 + policy.intentTimeout);
      expect(actions.map((a) => [a.type, 'keyRef' in a ? a.keyRef : undefined])).toEqual([
        ['abandonIntent', 'c'],
        ['createKey', undefined],
      ]);
    });

    it('schedules deletion of a key that appears for an abandoned intent, without an alarm', () => {
      const abandoned = keyRecord('c', 'ABANDONED', { abandonedAt: T0 });
      const vault = [
        { vaultKeyId: 'vault-a', keyRef: 'a' },
        { vaultKeyId: 'vault-p', keyRef: 'p' },
        { vaultKeyId: 'late', keyRef: 'c' },
      ];
      expect(plan([active(), pending(), abandoned], T0 + HOUR, { vault })).toEqual([
        {
          type: 'scheduleDeletion',
          keyRef: 'c',
          vaultKeyId: 'late',
          windowDays: 30,
          why: expect.any(String),
        },
      ]);
    });
  });

  describe('activation', () => {
    it('does not activate the first key before it is published', () => {
      const first = keyRecord('f', 'PENDING');
      expect(plan([first], T0 + 365 * DAY, { bootstrappedAt: undefined })).toEqual([]);
    });

    it('activates the first key as soon as it is published (lead waived) and creates its standby', () => {
      const first = keyRecord('f', 'PENDING', { publishedAt: T0 + SECOND });
      const actions = plan([first], T0 + SECOND, { bootstrappedAt: undefined });
      expect(types(actions)).toEqual(['activate', 'createKey']);
      expect(actions[0]).toMatchObject({ keyRef: 'f', leadWaived: true });
    });

    it('never waives the lead once the deployment is bootstrapped', () => {
      // No ACTIVE key (it was revoked), but bootstrappedAt is set: the standby waits for its lead.
      const standby = pending({ publishedAt: T0 });
      const bootstrapped = { bootstrappedAt: T0 - 60 * DAY };
      expect(plan([standby], T0 + policy.prepublishLead - 1, bootstrapped)).toEqual([]);
      const actions = plan([standby], T0 + policy.prepublishLead, bootstrapped);
      expect(types(actions)).toEqual(['activate', 'createKey']);
      expect(actions[0]).toMatchObject({ leadWaived: false });
    });

    it('waits for the lead even when the period is over', () => {
      const late = pending({ publishedAt: T0 + 30 * DAY - policy.prepublishLead + 1 });
      expect(plan([active(), late], T0 + 30 * DAY)).toEqual([]);
      expect(types(plan([active(), late], T0 + 30 * DAY + 1))).toEqual(['activate', 'createKey']);
    });

    it('waits for the period even when the lead is satisfied', () => {
      expect(plan([active(), pending()], T0 + policy.rotationPeriod - 1)).toEqual([]);
    });

    it('does not activate an unpublished standby however long the period is over', () => {
      expect(plan([active(), pending({ publishedAt: undefined })], T0 + 90 * DAY)).toEqual([]);
    });

    it('activates at the end of the period, retiring the ACTIVE key, then creates the next standby', () => {
      const actions = plan([active(), pending()], T0 + policy.rotationPeriod);
      expect(types(actions)).toEqual(['activate', 'createKey']);
      expect(actions[0]).toMatchObject({ keyRef: 'p', retiringKeyRef: 'a', leadWaived: false });
    });

    it('honours an operator periodEndsAt instead of the rotation period', () => {
      const ended = active({ periodEndsAt: T0 + 8 * DAY });
      expect(plan([ended, pending()], T0 + 8 * DAY - 1)).toEqual([]);
      expect(types(plan([ended, pending()], T0 + 8 * DAY))).toEqual(['activate', 'createKey']);
    });
  });

  describe('retirement', () => {
    const retiredAt = T0 + 30 * DAY;
    const retired = (extra: Partial<KeyRecord> = {}) =>
      keyRecord('r', 'RETIRED', { activatedAt: T0 - 30 * DAY, retiredAt, ...extra });
    const current = () => [active({ activatedAt: retiredAt }), pending({ publishedAt: retiredAt + MINUTE })];

    it('keeps a RETIRED key enabled while signers may still use their cached view', () => {
      expect(plan([retired(), ...current()], retiredAt + policy.signerCacheTtl - 1)).toEqual([]);
    });

    it('disables a RETIRED key once signerCacheTtl has passed', () => {
      expect(plan([retired(), ...current()], retiredAt + policy.signerCacheTtl)).toEqual([
        { type: 'disableKey', keyRef: 'r', vaultKeyId: 'vault-r', why: expect.any(String) },
      ]);
    });

    it('expires a RETIRED key at retention and schedules its deletion', () => {
      const actions = plan(
        [retired({ disabledAt: retiredAt + HOUR }), ...current()],
        retiredAt + policy.retention,
      );
      expect(actions).toEqual([
        { type: 'expire', keyRef: 'r', why: expect.any(String) },
        {
          type: 'scheduleDeletion',
          keyRef: 'r',
          vaultKeyId: 'vault-r',
          windowDays: 30,
          why: expect.any(String),
        },
      ]);
      expect(
        plan([retired({ disabledAt: retiredAt + HOUR }), ...current()], retiredAt + policy.retention - 1),
      ).toEqual([]);
    });

    it('disables before expiring when the reconciler missed both moments', () => {
      expect(types(plan([retired(), ...current()], retiredAt + 3 * DAY))).toEqual([
        'disableKey',
        'expire',
        'scheduleDeletion',
      ]);
    });

    it('disables and schedules deletion of a REVOKED key, once', () => {
      const revoked = keyRecord('x', 'REVOKED', { revokedAt: T0 });
      expect(types(plan([active(), pending(), revoked], T0 + HOUR))).toEqual([
        'disableKey',
        'scheduleDeletion',
      ]);
      const done = keyRecord('x', 'REVOKED', { revokedAt: T0, disabledAt: T0, deletionScheduledAt: T0 });
      expect(plan([active(), pending(), done], T0 + HOUR)).toEqual([]);
    });

    it('uses the policy deletion window', () => {
      const expired = keyRecord('e', 'EXPIRED', { disabledAt: T0 });
      const p = policyOf({ kmsDeletionWindow: 7 });
      const snap = snapshotOf([active(), pending(), expired]);
      const vaultKeys = snap.keys.map((k) => ({ vaultKeyId: k.vaultKeyId as string, keyRef: k.keyRef }));
      expect(planRotation({ ...snap, vaultKeys }, p, T0)).toEqual([
        {
          type: 'scheduleDeletion',
          keyRef: 'e',
          vaultKeyId: 'vault-e',
          windowDays: 7,
          why: expect.any(String),
        },
      ]);
    });
  });

  describe('revocation list', () => {
    it('revokes a listed kid the registry still shows, before anything else, promoting the standby', () => {
      const a = active();
      const snap = snapshotOf([a, pending()]);
      const vaultKeys = snap.keys.map((k) => ({ vaultKeyId: k.vaultKeyId as string, keyRef: k.keyRef }));
      const actions = planRotation(
        { ...snap, vaultKeys, revokedKids: new Set([a.kid as string]) },
        policy,
        T0 + HOUR,
      );
      expect(actions.map((x) => [x.type, 'keyRef' in x ? x.keyRef : undefined])).toEqual([
        ['revoke', 'a'],
        ['createKey', undefined],
        ['disableKey', 'a'],
        ['scheduleDeletion', 'a'],
      ]);
    });

    it('ignores listed kids that are already out of the JWKS', () => {
      const expired = keyRecord('e', 'EXPIRED', { disabledAt: T0, deletionScheduledAt: T0 });
      const snap = snapshotOf([active(), pending(), expired]);
      const vaultKeys = snap.keys.map((k) => ({ vaultKeyId: k.vaultKeyId as string, keyRef: k.keyRef }));
      expect(
        planRotation(
          { ...snap, vaultKeys, revokedKids: new Set([expired.kid as string]) },
          policy,
          T0 + HOUR,
        ),
      ).toEqual([]);
    });
  });

  describe('alarms', () => {
    it('raises an alarm, never a deletion, for tagged keys the registry cannot account for', () => {
      const vault = [
        { vaultKeyId: 'vault-a', keyRef: 'a' },
        { vaultKeyId: 'vault-p', keyRef: 'p' },
        { vaultKeyId: 'stray-1' },
        { vaultKeyId: 'stray-2', keyRef: 'nobody' },
        { vaultKeyId: 'stray-3', keyRef: 'a' },
      ];
      const actions = plan([active(), pending()], T0 + HOUR, { vault });
      expect(actions.map((a) => (a.type === 'alarm' ? [a.vaultKeyId, a.problem] : a.type))).toEqual([
        ['stray-1', 'no-key-ref'],
        ['stray-2', 'unknown-key-ref'],
        ['stray-3', 'duplicate-key-ref'],
      ]);
    });
  });
});

describe('buildCommit', () => {
  it('conditions an activation on the registry version and both item versions, and mirrors STATE', () => {
    const snap = snapshotOf([active({ version: 4 }), pending({ version: 2 })], {}, 11);
    const commit = buildCommit(snap, { type: 'activate', keyRef: 'p' }, T0 + 30 * DAY, change);
    expect(commit.expectedRegistryVersion).toBe(11);
    expect(
      commit.keys.map((w) => [w.record.keyRef, w.record.status, w.expectedVersion, w.record.version]),
    ).toEqual([
      ['p', 'ACTIVE', 2, 3],
      ['a', 'RETIRED', 4, 5],
    ]);
    const p = snap.keys[1] as KeyRecord;
    expect(commit.state).toEqual({
      activeKeyRef: 'p',
      activeKid: p.kid,
      activeAlg: 'ES256',
      activeVaultKeyId: 'vault-p',
      bootstrappedAt: snap.state.bootstrappedAt,
      updatedAt: T0 + 30 * DAY,
    });
    expect(commit.keys.every((w) => w.record.changedBy === 'test' && w.record.reason === 'unit')).toBe(true);
  });

  it('records an intent as a new item and takes the standby slot', () => {
    const snap = snapshotOf([active()]);
    const commit = buildCommit(snap, { type: 'recordIntent', keyRef: 'n', alg: 'ES256' }, T0, change);
    expect(commit.keys).toEqual([
      {
        expectedVersion: null,
        record: expect.objectContaining({ keyRef: 'n', status: 'CREATING', version: 1, createdAt: T0 }),
      },
    ]);
    expect(commit.state.pendingKeyRef).toBe('n');
  });

  it('refuses a second standby', () => {
    let err: unknown;
    try {
      buildCommit(
        snapshotOf([active(), pending()]),
        { type: 'recordIntent', keyRef: 'n', alg: 'ES256' },
        T0,
        change,
      );
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('sets bootstrappedAt once, at the first activation', () => {
    const first = keyRecord('f', 'PENDING', { publishedAt: T0 });
    const snap = snapshotOf([first], {}, 2);
    const c1 = buildCommit(snap, { type: 'activate', keyRef: 'f' }, T0 + 5, change);
    expect(c1.state.bootstrappedAt).toBe(T0 + 5);
    const after = applyCommit(snap, c1);
    const c2 = buildCommit(after, { type: 'endPeriod', keyRef: 'f' }, T0 + 99, change);
    expect(c2.state.bootstrappedAt).toBe(T0 + 5);
    expect(applyCommit(after, c2).state.registryVersion).toBe(4);
  });

  it('promotes the PENDING key in the same commit when the ACTIVE key is revoked', () => {
    const snap = snapshotOf([active(), pending()]);
    const commit = buildCommit(snap, { type: 'revoke', keyRef: 'a' }, T0 + DAY, change);
    expect(commit.keys.map((w) => [w.record.keyRef, w.record.status])).toEqual([
      ['a', 'REVOKED'],
      ['p', 'ACTIVE'],
    ]);
    expect(commit.state.activeKeyRef).toBe('p');
    expect(commit.state.pendingKeyRef).toBeUndefined();
  });

  it('stores only the public members when completing an intent with a JWK that carries private ones', () => {
    const snap = snapshotOf([keyRecord('c', 'CREATING')]);
    const leaky = { ...fakeJwk('c'), d: 'secret' } as unknown as ReturnType<typeof fakeJwk>;
    const commit = buildCommit(
      snap,
      { type: 'completeIntent', keyRef: 'c', vaultKeyId: 'v', publicJwk: leaky },
      T0,
      change,
    );
    expect(JSON.stringify(commit)).not.toContain('secret');
    expect(commit.keys[0]?.record).toMatchObject({
      status: 'PENDING',
      kid: fakeJwk('c').kid,
      vaultKeyId: 'v',
    });
  });
});

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
