import { describe, expect, it } from 'vitest';
import { type KeyChange, lifecycleEventOf } from '../../src/core/events.ts';
import { KEY_STATUSES, type KeyRecord, type KeyStatus } from '../../src/core/types.ts';
import { keyRecord, T0 } from '../support/fixtures.ts';

const JWKS_URI = 'https://issuer.example/.well-known/jwks.json';

function change(old: KeyRecord | null, next: KeyRecord | null, extra: Partial<KeyChange> = {}): KeyChange {
  return {
    eventId: 'evt-1',
    eventName: !old ? 'INSERT' : !next ? 'REMOVE' : 'MODIFY',
    sequenceNumber: '100000000000000000001',
    approximateCreationTime: T0 + 9_000,
    keyRef: (next ?? old)?.keyRef ?? 'k1',
    oldRecord: old,
    newRecord: next,
    ...extra,
  };
}

/** A record in `status` carrying the instant field that status is entered with. */
function inStatus(status: KeyStatus, version: number): KeyRecord {
  const instants: Partial<Record<KeyStatus, Partial<KeyRecord>>> = {
    ACTIVE: { activatedAt: T0 + 1_000 },
    RETIRED: { retiredAt: T0 + 2_000 },
    EXPIRED: { expiredAt: T0 + 3_000 },
    REVOKED: { revokedAt: T0 + 4_000 },
    ABANDONED: { abandonedAt: T0 + 5_000 },
  };
  return keyRecord('k1', status, {
    version,
    changedBy: `by-${status}`,
    reason: `why-${status}`,
    ...instants[status],
  });
}

/** The spec (design §6), written out: the status a key enters → the event announcing it. */
const ANNOUNCED: Partial<Record<KeyStatus, string>> = {
  PENDING: 'key.pending',
  ACTIVE: 'key.activated',
  RETIRED: 'key.retired',
  EXPIRED: 'key.expired',
  REVOKED: 'key.revoked',
};

describe('lifecycleEventOf', () => {
  const pairs = KEY_STATUSES.flatMap((from) => KEY_STATUSES.map((to) => [from, to] as const));

  it.each(pairs)('announces exactly the entered status when %s changes to %s', (from, to) => {
    const old = inStatus(from, 4);
    const next = inStatus(to, 5);
    const event = lifecycleEventOf(change(old, next), JWKS_URI);
    const expectedType = from === to ? undefined : ANNOUNCED[to];
    if (!expectedType) {
      expect(event).toBeNull();
      return;
    }
    expect(event).toEqual({
      id: 'evt-1',
      type: expectedType,
      kid: next.kid ?? old.kid ?? null,
      version: 5,
      alg: next.alg,
      status: to,
      previousStatus: from,
      at: expect.any(String),
      jwksUri: JWKS_URI,
      changedBy: `by-${to}`,
      reason: `why-${to}`,
    });
  });

  it('announces a key created directly in PENDING with no previous status when inserted', () => {
    const event = lifecycleEventOf(change(null, inStatus('PENDING', 1)), JWKS_URI);
    expect(event?.type).toBe('key.pending');
    expect(event?.previousStatus).toBeNull();
  });

  it('announces nothing when a write changes no status (publishedAt, disabledAt, deletion marks)', () => {
    const pending = inStatus('PENDING', 2);
    const retired = inStatus('RETIRED', 6);
    const expired = inStatus('EXPIRED', 8);
    const active = inStatus('ACTIVE', 4);
    for (const [old, next] of [
      [pending, { ...pending, version: 3, publishedAt: T0 + 500 }],
      [retired, { ...retired, version: 7, disabledAt: T0 + 600 }],
      [expired, { ...expired, version: 9, deletionScheduledAt: T0 + 700 }],
      [active, { ...active, version: 5, periodEndsAt: T0 + 800 }],
    ] as const) {
      expect(lifecycleEventOf(change(old, next), JWKS_URI)).toBeNull();
    }
  });

  it('announces nothing when the item is removed or an intent is recorded', () => {
    expect(lifecycleEventOf(change(inStatus('EXPIRED', 3), null), JWKS_URI)).toBeNull();
    expect(lifecycleEventOf(change(null, inStatus('CREATING', 1)), JWKS_URI)).toBeNull();
  });

  it('dates the event by the status instant when the record has one, else by the stream record', () => {
    const activated = lifecycleEventOf(change(inStatus('PENDING', 2), inStatus('ACTIVE', 3)), JWKS_URI);
    expect(activated?.at).toBe(new Date(T0 + 1_000).toISOString());
    const pending = lifecycleEventOf(change(inStatus('CREATING', 1), inStatus('PENDING', 2)), JWKS_URI);
    expect(pending?.at).toBe(new Date(T0 + 9_000).toISOString());
  });

  it('carries the registry version only when the change records one', () => {
    const c = change(inStatus('PENDING', 2), inStatus('ACTIVE', 3));
    expect(lifecycleEventOf(c, JWKS_URI)).not.toHaveProperty('registryVersion');
    expect(lifecycleEventOf({ ...c, registryVersion: 42 }, JWKS_URI)?.registryVersion).toBe(42);
  });

  it('gives the same event, id included, when the same stream record is derived twice', () => {
    const c = change(inStatus('ACTIVE', 3), inStatus('REVOKED', 4), { eventId: 'abc123' });
    expect(lifecycleEventOf(c, JWKS_URI)).toEqual(lifecycleEventOf(structuredClone(c), JWKS_URI));
    expect(lifecycleEventOf(c, JWKS_URI)?.id).toBe('abc123');
  });

  it('never carries key material or the vault key id when the record has them', () => {
    const next = inStatus('ACTIVE', 3);
    const event = lifecycleEventOf(change(inStatus('PENDING', 2), next), JWKS_URI);
    const text = JSON.stringify(event);
    expect(Object.keys(event ?? {}).sort()).toEqual(
      [
        'alg',
        'at',
        'changedBy',
        'id',
        'jwksUri',
        'kid',
        'previousStatus',
        'reason',
        'status',
        'type',
        'version',
      ].sort(),
    );
    if (next.publicJwk?.kty !== 'EC') throw new Error('fixture is EC');
    expect(text).not.toContain(next.publicJwk.x);
    expect(text).not.toContain(next.vaultKeyId);
  });
});
