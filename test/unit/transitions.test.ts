import { describe, expect, it } from 'vitest';
import { applyCommit, buildCommit } from '../../src/core/transitions.ts';
import type { KeyRecord } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import { DAY, fakeJwk, keyRecord, MINUTE, snapshotOf, T0 } from '../support/fixtures.ts';

const change = { changedBy: 'test', reason: 'unit' };

/** The steady state: a key ACTIVE since T0 and its standby published right after. */
const active = (extra: Partial<KeyRecord> = {}) =>
  keyRecord('a', 'ACTIVE', { activatedAt: T0, publishedAt: T0, ...extra });
const pending = (extra: Partial<KeyRecord> = {}) =>
  keyRecord('p', 'PENDING', { createdAt: T0 + 1, publishedAt: T0 + MINUTE, ...extra });

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

  it('promotes no unpublished PENDING key when the ACTIVE key is revoked: no key is ACTIVE', () => {
    const snap = snapshotOf([active(), pending({ publishedAt: undefined })], { bootstrappedAt: T0 });
    const commit = buildCommit(snap, { type: 'revoke', keyRef: 'a' }, T0 + DAY, change);
    expect(commit.keys.map((w) => [w.record.keyRef, w.record.status])).toEqual([['a', 'REVOKED']]);
    expect(commit.state.activeKeyRef).toBeUndefined();
    expect(commit.state).toMatchObject({ pendingKeyRef: 'p', pendingKid: pending().kid });
  });

  it('promotes the published PENDING key in the same commit when the ACTIVE key is revoked', () => {
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
