import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_SPECS, algorithmSpec, isAlgorithm } from '../../src/core/algorithms.ts';
import { ALGORITHMS } from '../../src/core/types.ts';

describe('ALGORITHM_SPECS', () => {
  it('maps each algorithm to the KMS key spec and signing algorithm agreed for it', () => {
    const kms = Object.fromEntries(
      ALGORITHMS.map((alg) => [
        alg,
        [ALGORITHM_SPECS[alg].kmsKeySpec, ALGORITHM_SPECS[alg].kmsSigningAlgorithm],
      ]),
    );
    expect(kms).toEqual({
      RS256: ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
      PS256: ['RSA_2048', 'RSASSA_PSS_SHA_256'],
      ES256: ['ECC_NIST_P256', 'ECDSA_SHA_256'],
      ES384: ['ECC_NIST_P384', 'ECDSA_SHA_384'],
    });
  });

  it.each(ALGORITHMS)('keeps the %s digest, its length and the KMS algorithm consistent', (alg) => {
    const spec = ALGORITHM_SPECS[alg];
    expect(spec.alg).toBe(alg);
    expect(createHash(spec.digest).digest()).toHaveLength(spec.digestLength);
    // JWS names end in the SHA-2 size, KMS names too: they must agree with the digest.
    expect(alg.slice(2)).toBe(spec.digest.slice(3));
    expect(spec.kmsSigningAlgorithm.endsWith(`_${spec.digest.slice(3)}`)).toBe(true);
    if (spec.kty === 'EC') expect(spec.componentLength).toBe(spec.digestLength);
  });
});

describe('algorithmSpec', () => {
  it('returns the spec when given a supported algorithm', () => {
    for (const alg of ALGORITHMS) expect(algorithmSpec(alg)).toBe(ALGORITHM_SPECS[alg]);
  });

  it('throws UNSUPPORTED_ALGORITHM when given none, HS256 or a prototype key', () => {
    for (const alg of ['none', 'HS256', 'toString', '']) {
      expect(() => algorithmSpec(alg)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_ALGORITHM' }));
      expect(isAlgorithm(alg)).toBe(false);
    }
  });
});
