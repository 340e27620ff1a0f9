import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderJwks } from '../../src/core/jwks.ts';
import { type Algorithm, KEY_STATUSES, type KeyRecord, type PublicJwk } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import { keyRecord, T0 } from '../support/fixtures.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MEMBERS = {
  RSA: ['kty', 'kid', 'use', 'alg', 'n', 'e'],
  EC: ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y'],
};

interface RealKey {
  readonly alg: Algorithm;
  /** The private JWK plus kid/use/alg: what a careless vault adapter might hand over. */
  readonly leaky: Record<string, unknown>;
  readonly publicJwk: PublicJwk;
}

const realKeys: RealKey[] = [];

async function makeKey(alg: Algorithm): Promise<RealKey> {
  const { privateKey } =
    alg === 'RS256' || alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  const priv = privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const kid = await calculateJwkThumbprint(priv as JWK, 'sha256');
  const publicJwk: PublicJwk =
    priv.kty === 'RSA'
      ? { kty: 'RSA', kid, use: 'sig', alg, n: String(priv.n), e: String(priv.e) }
      : { kty: 'EC', kid, use: 'sig', alg, crv: priv.crv as 'P-256', x: String(priv.x), y: String(priv.y) };
  return { alg, leaky: { ...priv, kid, use: 'sig', alg, oth: [], k: 'c2VjcmV0' }, publicJwk };
}

beforeAll(async () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'ES256', 'ES256', 'ES384', 'ES384'] as const) {
    realKeys.push(await makeKey(alg));
  }
});

function recordFor(
  key: RealKey,
  keyRef: string,
  status: KeyRecord['status'],
  createdAt: number,
  leaky = false,
) {
  return keyRecord(keyRef, status, {
    alg: key.alg,
    kid: key.publicJwk.kid,
    publicJwk: (leaky ? key.leaky : key.publicJwk) as PublicJwk,
    createdAt,
  });
}

const parse = (body: string) => JSON.parse(body) as { keys: Array<Record<string, unknown>> };

describe('renderJwks', () => {
  it('orders ACTIVE, PENDING, RETIRED, newest first within a state', () => {
    const keys = [
      keyRecord('r-old', 'RETIRED', { createdAt: T0 }),
      keyRecord('p', 'PENDING', { createdAt: T0 + 3 }),
      keyRecord('r-new', 'RETIRED', { createdAt: T0 + 1 }),
      keyRecord('a', 'ACTIVE', { createdAt: T0 + 2 }),
    ];
    const { keyRefs, kids, body } = renderJwks(keys, new Set());
    expect(keyRefs).toEqual(['a', 'p', 'r-new', 'r-old']);
    expect(parse(body).keys.map((k) => k.kid)).toEqual(kids);
  });

  it('breaks ties within a state by kid', () => {
    const keys = [keyRecord('x', 'RETIRED'), keyRecord('y', 'RETIRED')];
    const kids = renderJwks(keys, new Set()).kids;
    expect(kids).toEqual([...kids].sort());
    expect(renderJwks([...keys].reverse(), new Set()).kids).toEqual(kids);
  });

  it('publishes only PENDING, ACTIVE and RETIRED keys', () => {
    const keys = KEY_STATUSES.map((status) => keyRecord(status.toLowerCase(), status));
    expect(renderJwks(keys, new Set()).keyRefs.sort()).toEqual(['active', 'pending', 'retired']);
  });

  it('drops a kid on the revocation list even when the registry says ACTIVE', () => {
    const a = keyRecord('a', 'ACTIVE');
    const p = keyRecord('p', 'PENDING');
    const { keyRefs, body } = renderJwks([a, p], new Set([a.kid as string]));
    expect(keyRefs).toEqual(['p']);
    expect(body).not.toContain(a.kid as string);
  });

  it('publishes a kid once when two records carry it', () => {
    const a = keyRecord('a', 'ACTIVE');
    const twin = { ...keyRecord('b', 'RETIRED'), kid: a.kid, publicJwk: a.publicJwk };
    expect(renderJwks([twin, a], new Set())).toMatchObject({ keyRefs: ['a'], kids: [a.kid] });
  });

  it('renders an empty set as {"keys":[]}', () => {
    expect(renderJwks([], new Set()).body).toBe('{"keys":[]}');
  });

  it('writes exactly kty, kid, use, alg and the public members, in that order', () => {
    const rsa = realKeys[0] as RealKey;
    const ec = realKeys[2] as RealKey;
    const { body } = renderJwks(
      [recordFor(rsa, 'r', 'ACTIVE', T0, true), recordFor(ec, 'e', 'PENDING', T0, true)],
      new Set(),
    );
    const [first, second] = parse(body).keys;
    expect(Object.keys(first ?? {})).toEqual(MEMBERS.RSA);
    expect(Object.keys(second ?? {})).toEqual(MEMBERS.EC);
    expect(first).toEqual(rsa.publicJwk);
    expect(second).toEqual(ec.publicJwk);
  });

  it.each([
    ['a record without a public JWK', { publicJwk: undefined }],
    ['a kid that differs from the public JWK', { kid: 'other' }],
    ['an algorithm the key type cannot do', { alg: 'RS256' as const }],
    [
      'a non-base64url member',
      {
        publicJwk: {
          kty: 'EC',
          kid: 'k',
          use: 'sig',
          alg: 'ES256',
          crv: 'P-256',
          x: 'a+b',
          y: 'c',
        } as PublicJwk,
      },
    ],
  ])('throws MALFORMED_RECORD when given %s', (_name, extra) => {
    let err: unknown;
    try {
      renderJwks([keyRecord('a', 'ACTIVE', extra as Partial<KeyRecord>)], new Set());
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'MALFORMED_RECORD')).toBe(true);
  });

  it('is deterministic, public-only and duplicate-free for any registry (real keys, every algorithm)', () => {
    const entry = fc.record({
      key: fc.nat(realKeys.length - 1),
      status: fc.constantFrom(...KEY_STATUSES),
      createdAt: fc.integer({ min: 0, max: 5 }),
      leaky: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 10 }),
        fc.array(fc.nat(realKeys.length - 1), { maxLength: 3 }),
        (entries, revokedIdx) => {
          const records = entries.map((e, i) => {
            const key = realKeys[e.key] as RealKey;
            const withKey = e.status !== 'CREATING' && e.status !== 'ABANDONED';
            return withKey
              ? recordFor(key, `ref-${i}`, e.status, T0 + e.createdAt, e.leaky)
              : keyRecord(`ref-${i}`, e.status, { createdAt: T0 + e.createdAt });
          });
          const revoked = new Set(revokedIdx.map((i) => (realKeys[i] as RealKey).publicJwk.kid));
          const out = renderJwks(records, revoked);
          const doc = parse(out.body);
          expect(JSON.stringify(doc)).toBe(out.body);
          expect(renderJwks([...records].reverse(), revoked).body).toBe(out.body);
          expect(new Set(out.kids).size).toBe(out.kids.length);
          const publishable = records.filter(
            (r) => ['PENDING', 'ACTIVE', 'RETIRED'].includes(r.status) && !revoked.has(r.kid as string),
          );
          expect(new Set(out.kids)).toEqual(new Set(publishable.map((r) => r.kid)));
          for (const jwk of doc.keys) {
            expect(PRIVATE_MEMBERS.filter((m) => m in jwk)).toEqual([]);
            const real = realKeys.find((k) => k.publicJwk.kid === jwk.kid) as RealKey;
            expect(jwk).toEqual(real.publicJwk);
            expect(Object.keys(jwk)).toEqual(MEMBERS[real.publicJwk.kty]);
          }
          const ranks = out.keyRefs.map((ref) =>
            ['ACTIVE', 'PENDING', 'RETIRED'].indexOf(records.find((r) => r.keyRef === ref)?.status ?? ''),
          );
          expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        },
      ),
      { numRuns: 200 },
    );
  });
});
