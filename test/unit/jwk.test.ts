import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import type { Algorithm } from '../../src/core/types.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const captureCode = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

const generate = (alg: Algorithm): { privateKey: KeyObject; publicKey: KeyObject } => {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ES384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  }
};

describe('publicJwkFromKey', () => {
  it('computes the RFC 7638 §3.1 example thumbprint as kid when given the example RSA key', async () => {
    // RFC 7638 §3.1: the example key and its SHA-256 thumbprint.
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    const key = createPublicKey({ key: { kty: 'RSA', n, e: 'AQAB' }, format: 'jwk' });
    const jwk = await publicJwkFromKey(key, 'RS256');
    expect(jwk.kid).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    expect(jwk).toMatchObject({ kty: 'RSA', n, e: 'AQAB', use: 'sig', alg: 'RS256' });
  });

  describe.each(['RS256', 'PS256', 'ES256', 'ES384'] as const)('%s', (alg) => {
    let privateKey: KeyObject;
    let publicKey: KeyObject;
    beforeAll(() => {
      ({ privateKey, publicKey } = generate(alg));
    });

    it('gives the same JWK for SPKI DER bytes, the public KeyObject and the private KeyObject', async () => {
      const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
      const fromSpki = await publicJwkFromKey(spki, alg);
      expect(await publicJwkFromKey(publicKey, alg)).toEqual(fromSpki);
      expect(await publicJwkFromKey(privateKey, alg)).toEqual(fromSpki);
    });

    it("uses jose's RFC 7638 thumbprint of the key as kid", async () => {
      const jwk = await publicJwkFromKey(publicKey, alg);
      expect(jwk.kid).toBe(await calculateJwkThumbprint(await exportJWK(publicKey), 'sha256'));
    });

    it('has exactly the public members when given a private key (KeyObject or imported private JWK)', async () => {
      const privateJwk = privateKey.export({ format: 'jwk' });
      expect(Object.keys(privateJwk)).toContain('d');
      for (const key of [privateKey, createPrivateKey({ key: privateJwk, format: 'jwk' })]) {
        const jwk = await publicJwkFromKey(key, alg);
        const expected =
          jwk.kty === 'RSA'
            ? ['alg', 'e', 'kid', 'kty', 'n', 'use']
            : ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'];
        expect(Object.keys(jwk).sort()).toEqual(expected);
        for (const name of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(name);
        expect(jwk).toMatchObject({ use: 'sig', alg });
      }
    });
  });

  it('rejects a key whose type does not fit the algorithm with INVALID_ARGUMENT', async () => {
    const ec = generate('ES256').publicKey;
    const rsa = generate('RS256').publicKey;
    expect(await captureCode(publicJwkFromKey(ec, 'RS256'))).toBe('INVALID_ARGUMENT');
    expect(await captureCode(publicJwkFromKey(ec, 'PS256'))).toBe('INVALID_ARGUMENT');
    expect(await captureCode(publicJwkFromKey(rsa, 'ES256'))).toBe('INVALID_ARGUMENT');
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(await captureCode(publicJwkFromKey(ed, 'ES256'))).toBe('INVALID_ARGUMENT');
  });

  it('rejects an EC key on the other curve with INVALID_ARGUMENT', async () => {
    expect(await captureCode(publicJwkFromKey(generate('ES384').publicKey, 'ES256'))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await captureCode(publicJwkFromKey(generate('ES256').publicKey, 'ES384'))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('rejects an RSA key shorter than 2048 bits with INVALID_ARGUMENT', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(await captureCode(publicJwkFromKey(small, 'RS256'))).toBe('INVALID_ARGUMENT');
    expect(await captureCode(publicJwkFromKey(small, 'PS256'))).toBe('INVALID_ARGUMENT');
  });

  it('rejects bytes that are not SPKI DER and symmetric keys with INVALID_ARGUMENT', async () => {
    expect(await captureCode(publicJwkFromKey(new Uint8Array([1, 2, 3]), 'ES256'))).toBe('INVALID_ARGUMENT');
    const secret = createSecretKey(Buffer.alloc(32, 7));
    expect(await captureCode(publicJwkFromKey(secret, 'ES256'))).toBe('INVALID_ARGUMENT');
  });

  it('rejects an algorithm we do not sign with with UNSUPPORTED_ALGORITHM', async () => {
    const rsa = generate('RS256').publicKey;
    for (const alg of ['HS256', 'none', 'RS512', 'EdDSA']) {
      expect(await captureCode(publicJwkFromKey(rsa, alg as Algorithm))).toBe('UNSUPPORTED_ALGORITHM');
    }
  });
});
