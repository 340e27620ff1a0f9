/**
 * Key generation and signing with node:crypto, as KMS does them for the local vault: RSA 2048 with
 * e = 65537, the NIST curves; PS256 with a salt as long as the digest (KMS's choice; node's default is
 * the maximum); ECDSA signatures as JOSE R‖S (IEEE P1363), not DER.
 */
import { constants, generateKeyPair, type KeyObject, sign } from 'node:crypto';
import type { AlgorithmSpec } from '../../core/algorithms.ts';

export function generate(spec: AlgorithmSpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, priv: KeyObject) => (err ? reject(err) : resolve(priv));
    if (spec.kty === 'RSA') generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, done);
    else generateKeyPair('ec', { namedCurve: spec.namedCurve }, done);
  });
}

export function signWith(spec: AlgorithmSpec, key: KeyObject, data: Uint8Array): Promise<Uint8Array> {
  const options =
    spec.kty === 'EC'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : spec.padding === 'pss'
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : { key, padding: constants.RSA_PKCS1_PADDING };
  return new Promise((resolve, reject) =>
    sign(spec.digest, data, options, (err, sig) => (err ? reject(err) : resolve(new Uint8Array(sig)))),
  );
}
