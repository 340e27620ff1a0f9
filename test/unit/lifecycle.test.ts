import { describe, expect, it } from 'vitest';
import { type Action, type PlanInput, planRotation } from '../../src/core/lifecycle.ts';
import type { KeyRecord, VaultKey } from '../../src/core/types.ts';
import { DAY, HOUR, keyRecord, MINUTE, policyOf, SECOND, snapshotOf, T0 } from '../support/fixtures.ts';

const policy = policyOf({ algorithm: 'ES256' }); // 30d period, 7d lead, 1d retention, 5s signer cache, 15m intent timeout

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

    it('activates a published standby at once when no key is ACTIVE after bootstrap (emergency revoke), waiving the lead only', () => {
      // No ACTIVE key (it was revoked before its standby was published), but bootstrappedAt is set.
      const standby = pending({ publishedAt: T0 });
      const bootstrapped = { bootstrappedAt: T0 - 60 * DAY };
      const actions = plan([standby], T0 + SECOND, bootstrapped);
      expect(types(actions)).toEqual(['activate', 'createKey']);
      expect(actions[0]).toMatchObject({ keyRef: 'p', leadWaived: true });
    });

    it('never activates an unpublished standby, even with no key ACTIVE after an emergency revoke', () => {
      const standby = pending({ publishedAt: undefined });
      expect(plan([standby], T0 + 365 * DAY, { bootstrappedAt: T0 - 60 * DAY })).toEqual([]);
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

    it('disables a RETIRED key once signerCacheTtl and maxReplicationLag have passed', () => {
      const due = retiredAt + policy.signerCacheTtl + policy.maxReplicationLag;
      expect(plan([retired(), ...current()], due)).toEqual([
        { type: 'disableKey', keyRef: 'r', vaultKeyId: 'vault-r', why: expect.any(String) },
      ]);
      // A region whose replica still names the key ACTIVE may be signing with it until then.
      expect(plan([retired(), ...current()], due - 1)).toEqual([]);
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
