/**
 * The pure checks of the probe: each judges HTTP answers or documents already fetched and returns one
 * CheckResult. No I/O here (src/probe/http.ts fetches), so every rule is unit-tested on crafted answers.
 *
 * The rules are the published HTTP contract of design §5 and what verifiers rely on:
 * - a 200 (never a redirect) with `Content-Type: application/json` (or `application/jwk-set+json`,
 *   RFC 7517 §8.5), a `Cache-Control` with `max-age` (what bounds every verifier's cache, and what the
 *   prepublish lead was computed from), an `ETag`, `Access-Control-Allow-Origin: *`;
 * - `If-None-Match` with that ETag answered by 304;
 * - a JWK Set of public signing keys only: `kty`, `kid`, `use: "sig"`, `alg` on each, no private member
 *   (invariant 5), no two keys with one kid, at least two keys (the signing key and its standby);
 * - every kid the RFC 7638 SHA-256 thumbprint of its key.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 * @see https://www.rfc-editor.org/rfc/rfc7638
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import { HEADERS } from '../constants.ts';
import { type CheckResult, fail, type HttpSnapshot, type ProbePath, pass } from './types.ts';

/** RFC 7517/7518 private key members: none may ever be published (design §3 invariant 5). */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A quoted entity tag, strong or weak (RFC 9110 §8.8.3). */
const ENTITY_TAG = /^(W\/)?"[^"]*"$/;

const mediaType = (contentType: string | undefined): string =>
  (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** `max-age` of a Cache-Control header in seconds, or undefined when it has none (or a malformed one). */
export function maxAgeOf(cacheControl: string | undefined): number | undefined {
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i.exec(cacheControl ?? '');
  return m ? Number(m[1]) : undefined;
}

/** What makes a shared or private cache refuse to keep the document at all. */
const UNCACHEABLE = /(?:^|,)\s*(no-store|no-cache|private)\s*(?:,|$)/i;

const statusProblem = (res: HttpSnapshot): string | undefined => {
  if (res.status === 200) return undefined;
  if (res.status >= 300 && res.status < 400) {
    return `status ${res.status} (redirect to ${res.headers.location ?? '?'}; verifiers must not be redirected)`;
  }
  return `status ${res.status}, expected 200`;
};

/**
 * The HTTP contract of a published document: 200, JSON media type, Cache-Control with max-age, ETag,
 * CORS for any origin. `mediaTypes` are the accepted ones (the JWKS may also be jwk-set+json).
 */
export function checkHttpContract(
  name: string,
  path: ProbePath,
  res: HttpSnapshot,
  mediaTypes: readonly string[] = [HEADERS.JSON],
): CheckResult {
  const problems: string[] = [];
  const status = statusProblem(res);
  if (status) return fail(name, path, status, res.ms);
  const type = mediaType(res.headers['content-type']);
  if (!mediaTypes.includes(type)) {
    problems.push(
      `Content-Type ${JSON.stringify(res.headers['content-type'] ?? '')}, expected ${mediaTypes.join(' or ')}`,
    );
  }
  const cacheControl = res.headers['cache-control'];
  const maxAge = maxAgeOf(cacheControl);
  if (maxAge === undefined)
    problems.push(`Cache-Control ${JSON.stringify(cacheControl ?? '')} has no max-age`);
  else if (maxAge === 0 || UNCACHEABLE.test(cacheControl ?? '')) {
    problems.push(`Cache-Control ${JSON.stringify(cacheControl)} forbids caching`);
  }
  const etag = res.headers.etag;
  if (etag === undefined) problems.push('no ETag');
  else if (!ENTITY_TAG.test(etag)) problems.push(`ETag ${etag} is not a quoted entity tag`);
  if (res.headers['access-control-allow-origin'] !== '*') {
    problems.push(
      `Access-Control-Allow-Origin ${JSON.stringify(res.headers['access-control-allow-origin'] ?? '')}, expected *`,
    );
  }
  if (problems.length > 0) return fail(name, path, problems.join('; '), res.ms);
  return pass(name, path, `200 ${type}, max-age=${maxAge}, ETag ${etag}`, res.ms);
}

/** The answer to a GET with `If-None-Match: <etag>` of the first answer must be 304 with no body. */
export function checkNotModified(
  name: string,
  path: ProbePath,
  etag: string | undefined,
  res: HttpSnapshot,
): CheckResult {
  if (etag === undefined) return fail(name, path, 'not tried: the document has no ETag', res.ms);
  if (res.status !== 304) {
    return fail(name, path, `If-None-Match ${etag} got status ${res.status}, expected 304`, res.ms);
  }
  if (res.body.length > 0) return fail(name, path, '304 with a body', res.ms);
  return pass(name, path, `304 for If-None-Match ${etag}`, res.ms);
}

/** The body as a JWK Set, or the reason it is not one. */
export function parseJwkSet(body: string): { keys: Record<string, unknown>[] } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'the body has no "keys" array';
  if (keys.some((k) => typeof k !== 'object' || k === null || Array.isArray(k))) {
    return 'a member of "keys" is not a JSON object';
  }
  return { keys: keys as Record<string, unknown>[] };
}

const keyLabel = (key: Record<string, unknown>, i: number): string =>
  typeof key.kid === 'string' ? `key ${i} (kid ${key.kid})` : `key ${i}`;

/**
 * The JWK Set's content: public signing keys only, each named by a unique kid, at least `minKeys` of
 * them (the ACTIVE key and its PENDING standby: after bootstrap there are always both).
 */
export function checkKeySet(name: string, path: ProbePath, body: string, minKeys = 2): CheckResult {
  const set = parseJwkSet(body);
  if (typeof set === 'string') return fail(name, path, set);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, key] of set.keys.entries()) {
    const label = keyLabel(key, i);
    const secret = PRIVATE_MEMBERS.filter((m) => m in key);
    if (secret.length > 0) problems.push(`${label} has private member(s) ${secret.join(', ')}`);
    for (const member of ['kty', 'kid', 'alg'] as const) {
      if (typeof key[member] !== 'string' || key[member] === '') problems.push(`${label} has no ${member}`);
    }
    if (key.use !== 'sig') problems.push(`${label} has use ${JSON.stringify(key.use)}, expected "sig"`);
    if (typeof key.kid === 'string') {
      if (seen.has(key.kid)) problems.push(`kid ${key.kid} appears twice`);
      seen.add(key.kid);
    }
  }
  if (set.keys.length < minKeys) {
    problems.push(
      `${set.keys.length} key(s), expected at least ${minKeys} (the signing key and its standby)`,
    );
  }
  if (problems.length > 0) return fail(name, path, problems.join('; '));
  return pass(name, path, `${set.keys.length} public signing keys, kids unique`);
}

/** Every kid equals the RFC 7638 SHA-256 thumbprint of its key (what this product's kids are). */
export async function checkThumbprints(name: string, path: ProbePath, body: string): Promise<CheckResult> {
  const set = parseJwkSet(body);
  if (typeof set === 'string') return fail(name, path, set);
  const problems: string[] = [];
  for (const [i, key] of set.keys.entries()) {
    try {
      const thumbprint = await calculateJwkThumbprint(key as JWK, 'sha256');
      if (key.kid !== thumbprint) problems.push(`${keyLabel(key, i)} is not its thumbprint ${thumbprint}`);
    } catch (err) {
      problems.push(`${keyLabel(key, i)}: no thumbprint (${(err as Error).message})`);
    }
  }
  if (problems.length > 0) return fail(name, path, problems.join('; '));
  return pass(name, path, `${set.keys.length} kids are RFC 7638 thumbprints`);
}

/** Both serving paths publish the same keys (same kids in the same order). */
export function checkSameKeys(name: string, path: ProbePath, expected: string, actual: string): CheckResult {
  const kids = (body: string) => {
    const set = parseJwkSet(body);
    return typeof set === 'string' ? undefined : set.keys.map((k) => String(k.kid));
  };
  const a = kids(expected);
  const b = kids(actual);
  if (!a || !b) return fail(name, path, 'not compared: a JWKS is not a JWK Set');
  if (a.join(',') !== b.join(',')) {
    return fail(name, path, `kids [${b.join(', ')}] differ from the issuer's JWKS [${a.join(', ')}]`);
  }
  return pass(name, path, `the same ${a.length} kids as the issuer's JWKS`);
}
