/**
 * The token the probe obtained, verified as a resource server would (src/cli/verify-token.ts: the
 * header's alg and kid judged first, then jose's `jwtVerify` against the JWKS the probe fetched), plus
 * what that generic verifier leaves to its caller: the issuer, and `typ: at+jwt` (RFC 9068 §4).
 * The token's kid is the ACTIVE key's: finding it in the served JWKS is how an outside observer
 * knows the signing key is published.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
import { decodeProtectedHeader } from 'jose';
import { verifyToken } from '../cli/verify-token.ts';
import { parseJwkSet } from './checks.ts';
import { type CheckResult, fail, type ProbePath, pass } from './types.ts';

export interface TokenCheckOptions {
  readonly issuer: string;
  readonly now: number;
  /** @default 60 s: the probe's clock and the issuer's may differ a little. */
  readonly clockSkewMs?: number;
}

export async function checkTokenVerifies(
  name: string,
  path: ProbePath,
  token: string,
  jwksBody: string,
  opts: TokenCheckOptions,
): Promise<CheckResult> {
  const set = parseJwkSet(jwksBody);
  if (typeof set === 'string') return fail(name, path, `not verified: ${set}`);
  let verdict: Awaited<ReturnType<typeof verifyToken>>;
  try {
    verdict = await verifyToken(token, set, { clockSkewMs: opts.clockSkewMs ?? 60_000, now: opts.now });
  } catch (err) {
    return fail(name, path, `not verified: ${(err as Error).message}`);
  }
  if (!verdict.valid) return fail(name, path, `${verdict.reason}: ${verdict.message}`);
  const problems: string[] = [];
  if (verdict.claims.iss !== opts.issuer) {
    problems.push(`iss ${JSON.stringify(verdict.claims.iss)} is not ${JSON.stringify(opts.issuer)}`);
  }
  const typ = decodeProtectedHeader(token).typ;
  if (typ !== 'at+jwt') problems.push(`typ ${JSON.stringify(typ)}, expected "at+jwt"`);
  if (problems.length > 0) return fail(name, path, problems.join('; '));
  return pass(
    name,
    path,
    `signed by kid ${verdict.kid} (${verdict.alg}), which the JWKS publishes; iss and typ right`,
  );
}

/**
 * The token endpoint's answer (RFC 6749 §5.1): 200, JSON with a Bearer `access_token`, and
 * `Cache-Control: no-store` (a token must not sit in a cache). On an error the OAuth `error` code is
 * named, never the body's other content.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function checkTokenResponse(
  name: string,
  path: ProbePath,
  res: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
    readonly ms: number;
  },
): { check: CheckResult; token?: string } {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    // Judged below: a token answer must be JSON.
  }
  if (res.status !== 200) {
    const error = typeof body.error === 'string' ? ` ${body.error}` : '';
    return { check: fail(name, path, `status ${res.status}${error}, expected 200`, res.ms) };
  }
  const problems: string[] = [];
  const token =
    typeof body.access_token === 'string' && body.access_token !== '' ? body.access_token : undefined;
  if (!token) problems.push('no access_token');
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
    problems.push(`token_type ${JSON.stringify(body.token_type)}, expected Bearer`);
  }
  if (!/(?:^|,)\s*no-store\s*(?:,|$)/i.test(res.headers['cache-control'] ?? '')) {
    problems.push('no Cache-Control: no-store');
  }
  if (problems.length > 0) return { check: fail(name, path, problems.join('; '), res.ms) };
  return {
    check: pass(name, path, `200 Bearer token, expires_in ${String(body.expires_in)}`, res.ms),
    ...(token ? { token } : {}),
  };
}
