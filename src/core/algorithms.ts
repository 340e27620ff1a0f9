/**
 * One table for everything that depends on the JWS algorithm: the key it needs, the KMS key spec
 * and signing algorithm, the digest, and the ECDSA signature size. Strings only (no SDK import):
 * the KMS adapter passes them through, node:crypto uses the digest names as they are.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html
 */
import { UnsupportedAlgorithmError } from '../errors.ts';
import { ALGORITHMS, type Algorithm } from './types.ts';

export type KmsKeySpec = 'RSA_2048' | 'ECC_NIST_P256' | 'ECC_NIST_P384';
export type KmsSigningAlgorithm =
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PSS_SHA_256'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384';

interface CommonSpec {
  readonly alg: Algorithm;
  readonly kmsKeySpec: KmsKeySpec;
  readonly kmsSigningAlgorithm: KmsSigningAlgorithm;
  /** node:crypto digest name. */
  readonly digest: 'sha256' | 'sha384';
  /** Digest length in bytes (also the PSS salt length KMS uses). */
  readonly digestLength: 32 | 48;
}

export interface RsaSpec extends CommonSpec {
  readonly kty: 'RSA';
  readonly padding: 'pkcs1' | 'pss';
  /** Smallest modulus we accept, in bits (RFC 7518 §3.3 and §3.5: 2048 or larger). */
  readonly minModulusBits: 2048;
}

export interface EcSpec extends CommonSpec {
  readonly kty: 'EC';
  readonly crv: 'P-256' | 'P-384';
  /** node:crypto's name for the curve (KeyObject.asymmetricKeyDetails.namedCurve). */
  readonly namedCurve: 'prime256v1' | 'secp384r1';
  /** Bytes per ECDSA component in the JOSE R‖S form (RFC 7518 §3.4). */
  readonly componentLength: 32 | 48;
}

export type AlgorithmSpec = RsaSpec | EcSpec;

export const ALGORITHM_SPECS: { readonly [A in Algorithm]: AlgorithmSpec } = {
  RS256: {
    alg: 'RS256',
    kty: 'RSA',
    padding: 'pkcs1',
    minModulusBits: 2048,
    kmsKeySpec: 'RSA_2048',
    kmsSigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    digest: 'sha256',
    digestLength: 32,
  },
  PS256: {
    alg: 'PS256',
    kty: 'RSA',
    padding: 'pss',
    minModulusBits: 2048,
    kmsKeySpec: 'RSA_2048',
    kmsSigningAlgorithm: 'RSASSA_PSS_SHA_256',
    digest: 'sha256',
    digestLength: 32,
  },
  ES256: {
    alg: 'ES256',
    kty: 'EC',
    crv: 'P-256',
    namedCurve: 'prime256v1',
    componentLength: 32,
    kmsKeySpec: 'ECC_NIST_P256',
    kmsSigningAlgorithm: 'ECDSA_SHA_256',
    digest: 'sha256',
    digestLength: 32,
  },
  ES384: {
    alg: 'ES384',
    kty: 'EC',
    crv: 'P-384',
    namedCurve: 'secp384r1',
    componentLength: 48,
    kmsKeySpec: 'ECC_NIST_P384',
    kmsSigningAlgorithm: 'ECDSA_SHA_384',
    digest: 'sha384',
    digestLength: 48,
  },
};

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value);
}

/** The spec of a supported algorithm; anything else (including `none`) → UnsupportedAlgorithmError. */
export function algorithmSpec(alg: string): AlgorithmSpec {
  if (!isAlgorithm(alg)) throw new UnsupportedAlgorithmError(alg);
  return ALGORITHM_SPECS[alg];
}
