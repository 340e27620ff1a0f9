/**
 * Verifies a JWT against a published JWKS the way a careful resource server should, and names WHY a
 * token fails with a stable reason code (scripts and tests branch on it, never on the message).
 *
 * The header is judged before any key is looked at: `none` and HMAC algorithms are refused outright,
 * because a verifier that lets the token pick the algorithm can be fooled into treating a public key as
 * an HMAC secret (RFC 8725 §2.1, §3.1). The `kid` must name a key of the published set — jose would
 * otherwise try every key of a matching type.
 * @see https://www.rfc-editor.org/rfc/rfc8725
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { ALGORITHMS, type Algorithm } from '../core/types.ts';
import { JwksError } from '../errors.ts';

export const VERIFY_REASONS = [
  'malformed',
  'alg_not_allowed',
  'missing_kid',
  'unknown_kid',
  'alg_mismatch',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'missing_claim',
  'invalid_claims',
] as const;
export type VerifyReason = (typeof VERIFY_REASONS)[number];

export type Verdict =
  | { readonly valid: true; readonly kid: string; readonly alg: Algorithm; readonly claims: JWTPayload }
  | { readonly valid: false; readonly reason: VerifyReason; readonly message: string };

const fail = (reason: VerifyReason, message: string): Verdict => ({ valid: false, reason, message });

const isAllowed = (alg: unknown): alg is Algorithm =>
  typeof alg === 'string' && (ALGORITHMS as readonly string[]).includes(alg);

/** The published set, or UPSTREAM: a broken JWKS says nothing about the token. */
function asKeySet(jwks: unknown): JSONWebKeySet {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new JwksError('UPSTREAM', 'the published JWKS has no "keys" array');
  return jwks as JSONWebKeySet;
}

/** Only the header, no key yet: the checks that must not depend on the published set. */
export function checkHeader(token: string): Verdict | { readonly kid: string; readonly alg: Algorithm } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    if (token.split('.').length !== 3) throw new Error('not a JWS compact serialization');
    header = decodeProtectedHeader(token);
  } catch (err) {
    return fail('malformed', `the token cannot be decoded: ${(err as Error).message}`);
  }
  if (!isAllowed(header.alg)) {
    return fail(
      'alg_not_allowed',
      `alg ${JSON.stringify(header.alg)} is not one of ${ALGORITHMS.join(', ')}`,
    );
  }
  if (typeof header.kid !== 'string' || header.kid === '') return fail('missing_kid', 'the token has no kid');
  return { kid: header.kid, alg: header.alg };
}

export async function verifyToken(
  token: string,
  jwks: unknown,
  opts: { readonly clockSkewMs: number; readonly now: number },
): Promise<Verdict> {
  const header = checkHeader(token);
  if ('valid' in header) return header;
  const set = asKeySet(jwks);
  const jwk = set.keys.find((k) => k.kid === header.kid);
  if (!jwk) return fail('unknown_kid', `kid ${header.kid} is not in the published JWKS`);
  if (jwk.alg !== undefined && jwk.alg !== header.alg) {
    return fail('alg_mismatch', `kid ${header.kid} is a ${jwk.alg} key, the token says ${header.alg}`);
  }
  const skew = Math.floor(opts.clockSkewMs / 1000);
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, createLocalJWKSet(set), {
      algorithms: [...ALGORITHMS],
      clockTolerance: skew,
      currentDate: new Date(opts.now),
      // A token without exp never expires; everything this system signs has one.
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    return fromJoseError(err);
  }
  const nowSec = Math.floor(opts.now / 1000);
  // jose checks iat against the clock only with maxTokenAge; the skew bound is checked here.
  if (typeof claims.iat === 'number' && claims.iat > nowSec + skew) {
    return fail('issued_in_future', `iat ${claims.iat} is more than ${skew}s after now (${nowSec})`);
  }
  return { valid: true, kid: header.kid, alg: header.alg, claims };
}

function fromJoseError(err: unknown): Verdict {
  if (err instanceof errors.JWTExpired) return fail('expired', err.message);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return fail('not_yet_valid', err.message);
    if (err.reason === 'missing') return fail('missing_claim', err.message);
    return fail('invalid_claims', err.message);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail('bad_signature', err.message);
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('alg_not_allowed', err.message);
  if (err instanceof errors.JWKSNoMatchingKey) return fail('unknown_kid', err.message);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return fail('malformed', err.message);
  if (err instanceof errors.JWKSInvalid || err instanceof errors.JWKInvalid) {
    throw new JwksError('UPSTREAM', `the published JWKS is invalid: ${err.message}`, { cause: err });
  }
  throw err;
}
