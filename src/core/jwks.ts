/**
 * The published JWK Set (design §5), rendered deterministically: the same registry and revocation
 * list always give the same bytes, so "bytes equal" means "nothing to publish" (invariant 6).
 *
 * - Body `{"keys":[...]}` (RFC 7517 §5), compact JSON.
 * - Only PENDING, ACTIVE and RETIRED keys; never a kid on the revocation list; never two keys with
 *   one kid (RFC 7517 §4.5: kids are how verifiers choose a key).
 * - Ordered ACTIVE, PENDING, RETIRED, newest first within a state, ties by kid.
 * - Each key is rebuilt member by member (`kty, kid, use, alg` then `n, e` or `crv, x, y`) from the
 *   stored public JWK, so a private member (`d, p, q, dp, dq, qi, oth, k`) can never pass through,
 *   whatever a record holds (invariant 5).
 * `kid` is the RFC 7638 JWK thumbprint computed when the key was created (src/core/jwk.ts).
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 * @see https://www.rfc-editor.org/rfc/rfc7638
 */
import { MalformedRecordError } from '../errors.ts';
import type { Algorithm, KeyRecord, KeyStatus, PublicJwk } from './types.ts';

/** RFC 7518 §3.1: the key type (and curve) each algorithm signs with. */
const KEY_TYPE: Record<Algorithm, { kty: 'RSA' } | { kty: 'EC'; crv: 'P-256' | 'P-384' }> = {
  RS256: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
};

/** JWK members are base64url without padding (RFC 7515 §2); a kid is used the same way here. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function member(jwk: Record<string, unknown>, name: string): string {
  const value = jwk[name];
  if (typeof value !== 'string' || !BASE64URL.test(value)) {
    throw new MalformedRecordError(`public JWK member ${name} is not a base64url string`);
  }
  return value;
}

/**
 * Exactly the public members of a signing key, in the fixed order, for `alg`. Anything that is not
 * a well-formed public key for that algorithm raises MalformedRecordError.
 */
export function toPublicJwk(input: PublicJwk | Readonly<Record<string, unknown>>, alg: Algorithm): PublicJwk {
  const jwk = input as Record<string, unknown>;
  const expected = KEY_TYPE[alg];
  if (!expected) throw new MalformedRecordError(`unsupported algorithm ${String(alg)}`);
  if (jwk.kty !== expected.kty) throw new MalformedRecordError(`a ${alg} key must have kty ${expected.kty}`);
  if (jwk.alg !== undefined && jwk.alg !== alg)
    throw new MalformedRecordError(`public JWK alg is not ${alg}`);
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new MalformedRecordError('public JWK use is not sig');
  const kid = member(jwk, 'kid');
  if (expected.kty === 'RSA') {
    return { kty: 'RSA', kid, use: 'sig', alg, n: member(jwk, 'n'), e: member(jwk, 'e') };
  }
  if (jwk.crv !== expected.crv) throw new MalformedRecordError(`a ${alg} key must be on ${expected.crv}`);
  return { kty: 'EC', kid, use: 'sig', alg, crv: expected.crv, x: member(jwk, 'x'), y: member(jwk, 'y') };
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const STATE_ORDER: Partial<Record<KeyStatus, number>> = { ACTIVE: 0, PENDING: 1, RETIRED: 2 };

export interface RenderedJwks {
  /** The exact bytes to publish (UTF-8 of this string). */
  readonly body: string;
  /** The kids in the document, in document order. */
  readonly kids: string[];
  /** The keyRefs of the records behind those kids, same order (for `markPublished`). */
  readonly keyRefs: string[];
}

export function renderJwks(keys: readonly KeyRecord[], revokedKids: ReadonlySet<string>): RenderedJwks {
  const entries = keys
    .filter((k) => STATE_ORDER[k.status] !== undefined)
    .map((k) => {
      if (!k.publicJwk) throw new MalformedRecordError(`${k.status} key ${k.keyRef} has no public JWK`);
      const jwk = toPublicJwk(k.publicJwk, k.alg);
      if (k.kid !== undefined && k.kid !== jwk.kid) {
        throw new MalformedRecordError(`key ${k.keyRef}: kid differs from its public JWK's kid`);
      }
      return { record: k, jwk, rank: STATE_ORDER[k.status] ?? 0 };
    })
    .filter((e) => !revokedKids.has(e.jwk.kid))
    .sort(
      (a, b) =>
        a.rank - b.rank ||
        b.record.createdAt - a.record.createdAt ||
        compareStrings(a.jwk.kid, b.jwk.kid) ||
        compareStrings(a.record.keyRef, b.record.keyRef),
    );
  const seen = new Set<string>();
  const published = entries.filter((e) => {
    // The first (highest-ranked) record with a kid wins; a duplicate would make verifiers guess.
    if (seen.has(e.jwk.kid)) return false;
    seen.add(e.jwk.kid);
    return true;
  });
  return {
    body: JSON.stringify({ keys: published.map((e) => e.jwk) }),
    kids: published.map((e) => e.jwk.kid),
    keyRefs: published.map((e) => e.record.keyRef),
  };
}
