/**
 * Public key (SPKI DER as KMS `GetPublicKey` returns it, or a node KeyObject) → the PublicJwk we
 * publish: exactly `kty, kid, use, alg` and the public members, `kid` = RFC 7638 thumbprint.
 *
 * The JWK is built member by member from an allow-list rather than by deleting private members
 * from an export, so a private key given by mistake can never leak `d`, `p`, `q`, `dp`, `dq`,
 * `qi`, `oth` or `k` (design §3 invariant 5).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-6
 * @see https://www.rfc-editor.org/rfc/rfc7638
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { InvalidArgumentError } from '../errors.ts';
import { type AlgorithmSpec, algorithmSpec } from './algorithms.ts';
import type { Algorithm, PublicJwk } from './types.ts';

function toPublicKeyObject(key: Uint8Array | KeyObject): KeyObject {
  if (key instanceof Uint8Array) {
    try {
      return createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
    } catch (cause) {
      throw new InvalidArgumentError('not a DER SubjectPublicKeyInfo', { cause });
    }
  }
  if (key.type === 'public') return key;
  // Deriving the public half of a private key keeps the private material out of everything below.
  if (key.type === 'private') return createPublicKey(key);
  throw new InvalidArgumentError('a symmetric key has no public JWK');
}

/** Throws InvalidArgumentError unless the key is the type, curve and size the algorithm needs. */
function assertKeyFits(key: KeyObject, spec: AlgorithmSpec): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (spec.kty === 'RSA') {
    if (key.asymmetricKeyType !== 'rsa') {
      throw new InvalidArgumentError(`${spec.alg} needs an RSA key, got ${key.asymmetricKeyType}`);
    }
    const bits = details.modulusLength ?? 0;
    if (bits < spec.minModulusBits) {
      throw new InvalidArgumentError(`${spec.alg} needs an RSA modulus of ≥ ${spec.minModulusBits} bits`);
    }
    return;
  }
  if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== spec.namedCurve) {
    throw new InvalidArgumentError(`${spec.alg} needs an EC ${spec.crv} key`);
  }
}

function member(jwk: Record<string, unknown>, name: string): string {
  const value = jwk[name];
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`JWK lacks "${name}"`);
  return value;
}

/**
 * The published JWK of a public key for `alg`.
 * @throws UnsupportedAlgorithmError when `alg` is not one we sign with.
 * @throws InvalidArgumentError when the key does not fit `alg` (type, curve, RSA size) or is not a key.
 */
export async function publicJwkFromKey(key: Uint8Array | KeyObject, alg: Algorithm): Promise<PublicJwk> {
  const spec = algorithmSpec(alg);
  const publicKey = toPublicKeyObject(key);
  assertKeyFits(publicKey, spec);
  const exported = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  if (spec.kty === 'RSA') {
    const required = { e: member(exported, 'e'), kty: 'RSA' as const, n: member(exported, 'n') };
    const kid = await calculateJwkThumbprint(required, 'sha256');
    return { kty: 'RSA', kid, use: 'sig', alg: spec.alg, n: required.n, e: required.e };
  }
  const required = { crv: spec.crv, kty: 'EC' as const, x: member(exported, 'x'), y: member(exported, 'y') };
  const kid = await calculateJwkThumbprint(required, 'sha256');
  return { kty: 'EC', kid, use: 'sig', alg: spec.alg, crv: spec.crv, x: required.x, y: required.y };
}
