import * as crypto from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretVerifier } from '../../src/token/secret-verifier.ts';
import {
  generateSecret,
  hashSecret,
  parseSecretHash,
  SCRYPT_PARAMS,
  verifySecretHash,
} from '../../src/token/secrets.ts';
import { basic, createHarness, form, post } from './harness.ts';

// Spy on the real primitives (not replace them): the tests check they are the ones doing the work.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: vi.fn(actual.timingSafeEqual),
    scrypt: vi.fn(actual.scrypt),
  };
});

const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);
const scrypt = vi.mocked(crypto.scrypt);

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

beforeEach(() => {
  timingSafeEqual.mockClear();
  scrypt.mockClear();
});

describe('generateSecret', () => {
  it('returns 32 random bytes as unpadded base64url when called', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe('hashSecret / verifySecretHash', () => {
  it('encodes the scrypt parameters, a per-hash salt and never the secret when hashing', async () => {
    const secret = generateSecret();
    const [h1, h2] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    expect(h1).toMatch(/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(parseSecretHash(h1).params).toEqual(SCRYPT_PARAMS);
    expect(h1).not.toBe(h2);
    for (const form of [secret, Buffer.from(secret, 'base64url').toString('base64')]) {
      expect(h1).not.toContain(form);
    }
  });

  it('accepts the secret and refuses any other when verifying, comparing in constant time', async () => {
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    timingSafeEqual.mockClear();
    expect(await verifySecretHash(secret, hash)).toBe(true);
    expect(await verifySecretHash(generateSecret(), hash)).toBe(false);
    expect(await verifySecretHash(`${secret}x`, hash)).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(3);
    for (const [a, b] of timingSafeEqual.mock.calls) {
      expect((a as Buffer).length).toBe((b as Buffer).length);
    }
  });

  it('verifies with the parameters stored in the hash when they differ from the defaults', async () => {
    const secret = generateSecret();
    const hash = await hashSecret(secret, { ln: 10, r: 4, p: 2 });
    expect(hash.startsWith('$scrypt$ln=10,r=4,p=2$')).toBe(true);
    expect(await verifySecretHash(secret, hash)).toBe(true);
  });

  it.each([
    ['not PHC', 'plaintext'],
    [
      'another algorithm',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    ],
    [
      'cost too high',
      '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    ],
    [
      'cost too low',
      '$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    ],
  ])('throws MALFORMED_RECORD when the stored hash is %s', (_name, encoded) => {
    expect(codeOf(() => parseSecretHash(encoded))).toBe('MALFORMED_RECORD');
  });
});

describe('SecretVerifier', () => {
  let now = 1_000_000;
  afterEach(() => {
    now = 1_000_000;
  });

  it('runs scrypt and a constant-time compare against a dummy hash when the client is unknown', async () => {
    const verifier = new SecretVerifier({ clock: () => now });
    await verifier.warmUp();
    scrypt.mockClear();
    timingSafeEqual.mockClear();
    expect(await verifier.verify('nobody', generateSecret(), undefined)).toBe(false);
    expect(scrypt).toHaveBeenCalledTimes(1);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
  });

  it('does the same work for a wrong secret as for an unknown client when verifying', async () => {
    const verifier = new SecretVerifier({ clock: () => now });
    await verifier.warmUp();
    const hash = await hashSecret(generateSecret());
    scrypt.mockClear();
    expect(await verifier.verify('svc', generateSecret(), hash)).toBe(false);
    expect(await verifier.verify('nobody', generateSecret(), undefined)).toBe(false);
    expect(scrypt).toHaveBeenCalledTimes(2);
    const costs = scrypt.mock.calls.map((c) => c[3]);
    expect(costs[0]).toEqual(costs[1]);
  });

  it('skips scrypt for a secret it verified before when the stored hash is unchanged', async () => {
    const verifier = new SecretVerifier({ clock: () => now, cacheTtlMs: 60_000 });
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    scrypt.mockClear();
    expect(await verifier.verify('svc', secret, hash)).toBe(true);
    expect(await verifier.verify('svc', secret, hash)).toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(1);
  });

  it('still refuses a wrong secret with full work when a right one is cached', async () => {
    const verifier = new SecretVerifier({ clock: () => now, cacheTtlMs: 60_000 });
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    await verifier.verify('svc', secret, hash);
    scrypt.mockClear();
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(await verifier.verify('svc', wrong, hash)).toBe(false);
    expect(await verifier.verify('other', secret, hash)).toBe(true); // same hash, other id: re-derived
    expect(scrypt).toHaveBeenCalledTimes(2);
  });

  it('re-derives when the stored hash changed or the entry expired', async () => {
    const verifier = new SecretVerifier({ clock: () => now, cacheTtlMs: 60_000 });
    const secret = generateSecret();
    const [hash1, hash2] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    await verifier.verify('svc', secret, hash1);
    scrypt.mockClear();
    expect(await verifier.verify('svc', secret, hash2)).toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(1);
    now += 60_000;
    expect(await verifier.verify('svc', secret, hash2)).toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(2);
  });

  it('shares one scrypt between concurrent identical verifications, right or wrong', async () => {
    const verifier = new SecretVerifier({ clock: () => now, cacheTtlMs: 60_000 });
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    scrypt.mockClear();
    const right = await Promise.all(Array.from({ length: 8 }, () => verifier.verify('svc', secret, hash)));
    expect(right).toEqual(Array(8).fill(true));
    expect(scrypt).toHaveBeenCalledTimes(1);
    scrypt.mockClear();
    const wrong = await Promise.all(Array.from({ length: 8 }, () => verifier.verify('svc', 'guess', hash)));
    expect(wrong).toEqual(Array(8).fill(false));
    expect(scrypt).toHaveBeenCalledTimes(1);
    expect(await verifier.verify('svc', 'guess', hash)).toBe(false);
    expect(scrypt).toHaveBeenCalledTimes(2);
  });

  it('never caches when the TTL is 0', async () => {
    const verifier = new SecretVerifier({ clock: () => now, cacheTtlMs: 0 });
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    scrypt.mockClear();
    await verifier.verify('svc', secret, hash);
    await verifier.verify('svc', secret, hash);
    expect(scrypt).toHaveBeenCalledTimes(2);
  });

  it('returns false after the same work when the stored hash is malformed', async () => {
    const verifier = new SecretVerifier({ clock: () => now });
    await verifier.warmUp();
    scrypt.mockClear();
    expect(await verifier.verify('svc', 'whatever', 'not-a-hash')).toBe(false);
    expect(scrypt).toHaveBeenCalledTimes(1);
  });
});

describe('token endpoint secret checks', () => {
  it('runs scrypt once for an unknown client, a disabled one and a wrong secret alike', async () => {
    const h = await createHarness();
    await h.endpoint.warmUp();
    const cc = form({ grant_type: 'client_credentials' });
    for (const [id, secret] of [
      ['nobody', 'guess'],
      ['svc-off', 'guess'],
      ['svc-a', 'guess'],
      ['svc-a', 'guess'], // a failure is never cached
    ] as const) {
      scrypt.mockClear();
      timingSafeEqual.mockClear();
      const res = await h.endpoint.handle(post(cc, { authorization: basic(id, secret) }));
      expect(res.status).toBe(401);
      expect(scrypt, id).toHaveBeenCalledTimes(1);
      expect(timingSafeEqual, id).toHaveBeenCalledTimes(1);
    }
  });
});
