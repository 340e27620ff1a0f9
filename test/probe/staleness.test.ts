/**
 * The JWKS staleness decision (src/probe/staleness.ts) and the `*.registry` check built on it
 * (src/probe/registry-check.ts): crafted registries and served kid lists, no mocks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderJwks } from '../../src/core/jwks.ts';
import { KEY_STATUSES, type KeyRecord, type KeyStatus } from '../../src/core/types.ts';
import { checkAgainstRegistry } from '../../src/probe/registry-check.ts';
import { jwksStaleness, PUBLICATION_MARGIN_MS, stalenessThresholdMs } from '../../src/probe/staleness.ts';
import { fakeJwk, keyRecord, MINUTE, policyOf, SECOND, snapshotOf, T0 } from '../support/fixtures.ts';

const policy = policyOf(); // jwksMaxAge 300s, cdnMaxTtl 300s: threshold 900 s
const kid = (ref: string) => fakeJwk(ref).kid;

// A rotation history: r1 expired, r2 retired, r3 active, r4 the standby, r5 revoked, r6 still an intent.
const history: KeyRecord[] = [
  keyRecord('r1', 'EXPIRED', { createdAt: T0, expiredAt: T0 + 40 * MINUTE }),
  keyRecord('r2', 'RETIRED', { createdAt: T0 + MINUTE, retiredAt: T0 + 30 * MINUTE }),
  keyRecord('r3', 'ACTIVE', { createdAt: T0 + 2 * MINUTE, activatedAt: T0 + 30 * MINUTE }),
  keyRecord('r4', 'PENDING', { createdAt: T0 + 50 * MINUTE }),
  keyRecord('r5', 'REVOKED', { createdAt: T0 + 3 * MINUTE, revokedAt: T0 + 60 * MINUTE }),
  keyRecord('r6', 'CREATING', { createdAt: T0 + 61 * MINUTE }),
];
const required = ['r3', 'r4', 'r2'].map(kid);
const at = (minutes: number) => T0 + 60 * MINUTE + minutes * MINUTE;
const judge = (servedKids: string[], observedAt: number, keys: KeyRecord[] = history) =>
  jwksStaleness({ servedKids, snapshot: snapshotOf(keys), observedAt, policy });

describe('stalenessThresholdMs', () => {
  it('is cdnMaxTtl + jwksMaxAge + the publication margin, from the policy', () => {
    expect(stalenessThresholdMs(policy)).toBe(15 * MINUTE);
    expect(stalenessThresholdMs(policyOf({ jwksMaxAge: '60s', cdnMaxTtl: '120s' }))).toBe(
      180 * SECOND + PUBLICATION_MARGIN_MS,
    );
  });
});

describe('jwksStaleness', () => {
  it('is 0 with no difference when the served kids are the PENDING, ACTIVE and RETIRED ones', () => {
    expect(judge(required, at(30))).toEqual({
      seconds: 0,
      differences: [],
      unknown: [],
      thresholdSeconds: 900,
      stale: false,
    });
  });

  it.each([
    ['a REVOKED kid still served', [...required, kid('r5')], 20, 'r5', 'withdrawn', 'REVOKED', 20 * 60],
    ['an EXPIRED kid still served', [...required, kid('r1')], 0, 'r1', 'withdrawn', 'EXPIRED', 20 * 60],
    ['the PENDING kid not served', [kid('r3'), kid('r2')], 0, 'r4', 'missing', 'PENDING', 10 * 60],
    ['the ACTIVE kid not served', [kid('r4'), kid('r2')], 0, 'r3', 'missing', 'ACTIVE', 58 * 60],
    ['a RETIRED kid not served', [kid('r3'), kid('r4')], 0, 'r2', 'missing', 'RETIRED', 59 * 60],
  ] as const)(
    'measures %s from the change that made it differ',
    (_, served, minutes, ref, kind, status, seconds) => {
      const s = judge([...served], at(minutes));
      expect(s.differences).toEqual([expect.objectContaining({ kid: kid(ref), kind, status })]);
      expect(s.seconds).toBe(seconds);
      expect(s.stale).toBe(seconds > 900);
    },
  );

  it('tolerates a lag up to the threshold and calls it stale one second past it', () => {
    const served = [...required, kid('r5')];
    expect(judge(served, at(15))).toMatchObject({ seconds: 900, stale: false });
    expect(judge(served, at(15) + SECOND)).toMatchObject({ seconds: 901, stale: true });
  });

  it('takes the oldest difference, and lists the differences oldest first', () => {
    const s = judge([kid('r4'), kid('r2'), kid('r5'), kid('r1')], at(5));
    expect(s.differences.map((d) => [d.kid, d.kind])).toEqual([
      [kid('r3'), 'missing'],
      [kid('r1'), 'withdrawn'],
      [kid('r5'), 'withdrawn'],
    ]);
    expect(s.seconds).toBe((65 - 2) * 60);
  });

  it('ignores a change made after the document was fetched: that document was right when served', () => {
    // Revoked at +60 min, fetched a second before; the standby created after the fetch.
    const keys = history.map((k) => (k.keyRef === 'r4' ? { ...k, createdAt: at(1) } : k));
    expect(judge([kid('r3'), kid('r2'), kid('r5')], at(0) - SECOND, keys)).toMatchObject({
      seconds: 0,
      differences: [],
    });
  });

  it('never requires a kid a REVOKED record has, even when another record calls it ACTIVE', () => {
    // A table restored to before the revocation: the revocation list still drops the kid.
    const restored = keyRecord('r5-restored', 'ACTIVE', { kid: kid('r5'), publicJwk: fakeJwk('r5') });
    const keys = [...history, restored];
    expect(judge(required, at(30), keys).differences).toEqual([]);
    expect(judge([...required, kid('r5')], at(30), keys).differences).toEqual([
      expect.objectContaining({ kid: kid('r5'), kind: 'withdrawn', status: 'REVOKED' }),
    ]);
  });

  it('requires a kid an EXPIRED record shares with a published one, as the publisher renders it', () => {
    const twin = keyRecord('r3-twin', 'EXPIRED', { kid: kid('r3'), expiredAt: T0 });
    expect(judge(required, at(30), [...history, twin]).differences).toEqual([]);
  });

  it('counts a withdrawn record without its instant from its creation (it can only over-state)', () => {
    const keys = history.map((k) => (k.keyRef === 'r5' ? { ...k, revokedAt: undefined } : k));
    expect(judge([...required, kid('r5')], at(0), keys).seconds).toBe(57 * 60);
  });

  it('reports a served kid no record has as unknown, apart from the staleness', () => {
    const s = judge([...required, 'c3RyYW5nZXI', 'c3RyYW5nZXI'], at(30));
    expect(s).toMatchObject({ unknown: ['c3RyYW5nZXI'], seconds: 0, differences: [] });
  });

  it('never flags the document the publisher renders from the same registry', () => {
    const statuses = fc.constantFrom<KeyStatus>(...KEY_STATUSES);
    const record = fc.record({
      status: statuses,
      seed: fc.integer({ min: 0, max: 5 }), // few kids: records share them
      createdAt: fc.integer({ min: 0, max: 10 * MINUTE }),
      lag: fc.integer({ min: 0, max: 10 * MINUTE }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 8 }), fc.nat(20 * MINUTE), (drafts, observed) => {
        const keys = drafts.map((d, i) => {
          const jwk = fakeJwk(`seed-${d.seed}`);
          const hasKid = d.status !== 'CREATING' && d.status !== 'ABANDONED';
          return keyRecord(`ref-${i}`, d.status, {
            createdAt: T0 + d.createdAt,
            ...(hasKid ? { kid: jwk.kid, publicJwk: jwk } : { kid: undefined, publicJwk: undefined }),
            ...(d.status === 'EXPIRED' ? { expiredAt: T0 + d.createdAt + d.lag } : {}),
            ...(d.status === 'REVOKED' ? { revokedAt: T0 + d.createdAt + d.lag } : {}),
          });
        });
        // The revocation list holds what the REVOKED records name (revokeKey lists before it commits).
        const revoked = new Set(keys.filter((k) => k.status === 'REVOKED').flatMap((k) => k.kid ?? []));
        const served = renderJwks(keys, revoked).kids;
        const s = jwksStaleness({
          servedKids: served,
          snapshot: snapshotOf(keys),
          observedAt: T0 + observed,
          policy,
        });
        expect(s).toMatchObject({ seconds: 0, differences: [], unknown: [] });
      }),
    );
  });

  it('only grows with the time of observation while the served document stays the same', () => {
    fc.assert(
      fc.property(
        fc.subarray([...history.flatMap((k) => k.kid ?? []), 'c3RyYW5nZXI']),
        fc.nat(3 * 60 * MINUTE),
        fc.nat(60 * MINUTE),
        (served, first, later) => {
          const a = judge(served, T0 + first);
          const b = judge(served, T0 + first + later);
          expect(b.seconds).toBeGreaterThanOrEqual(a.seconds);
          expect(b.differences.length).toBeGreaterThanOrEqual(a.differences.length);
        },
      ),
    );
  });
});

describe('checkAgainstRegistry', () => {
  const jwksOf = (kids: string[], fetchedAt: number) => ({
    prefix: 'jwks',
    path: 'cloudfront-jwks' as const,
    body: JSON.stringify({ keys: kids.map((k) => ({ ...fakeJwk('x'), kid: k })) }),
    fetchedAt,
  });

  it('passes with the staleness when the kids lag, naming them and the tolerated lag', () => {
    const { check, staleness } = checkAgainstRegistry(
      jwksOf([...required, kid('r5')], at(20)),
      snapshotOf(history),
      policy,
    );
    expect(check).toMatchObject({ name: 'jwks.registry', ok: true });
    expect(check.detail).toBe(
      `REVOKED ${kid('r5')} still served: 1200s behind the registry (tolerated 900s)`,
    );
    expect(staleness?.seconds).toBe(1200);
  });

  it('fails when a served kid is unknown to the registry', () => {
    const { check } = checkAgainstRegistry(
      jwksOf([...required, 'c3RyYW5nZXI'], at(0)),
      snapshotOf(history),
      policy,
    );
    expect(check).toMatchObject({
      ok: false,
      detail: 'kid(s) c3RyYW5nZXI served but unknown to the registry',
    });
  });

  it('skips, with no staleness, a body that is not a JWK Set (the keys check fails it)', () => {
    const judged = checkAgainstRegistry(
      { ...jwksOf([], at(0)), body: '<html>' },
      snapshotOf(history),
      policy,
    );
    expect(judged).toEqual({ check: expect.objectContaining({ skipped: true, ok: true }) });
  });
});
