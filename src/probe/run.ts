/**
 * The probe: every check of the issue's contract, in order, against one issuer — the CLI's
 * `jwks probe` and the canary Lambda run exactly this.
 *
 * 1. `discovery`: `<issuer>/.well-known/openid-configuration` (RFC 8414's
 *    `/.well-known/oauth-authorization-server` when that is 404) — the HTTP contract, `issuer` equal to
 *    the issuer asked for, `jwks_uri` and `token_endpoint`.
 * 2. `jwks.*` on the discovered `jwks_uri` (through CloudFront, for this product): the HTTP contract,
 *    304 on If-None-Match, public signing keys with unique kids (≥ 2: ACTIVE and standby), kids are
 *    RFC 7638 thumbprints. `api-jwks.*` the same on the API Gateway URL when given, plus the same kids.
 * 3. `token`, `token.verify`: a token from `token_endpoint` with the given credential, verified with
 *    jose against the JWKS fetched in 2 (its kid, the ACTIVE key's, must be published). Skipped
 *    without a credential.
 *
 * What an outside observer cannot know is which kid the registry calls ACTIVE or PENDING: it learns the
 * signing kid from a fresh token, and that a standby exists from a second key (docs/runbook.md). The
 * canary, which may read the registry, compares the documents `probe` returns with it afterwards
 * (registry-check.ts); `jwks probe` stays registry-less, usable against any issuer.
 */
import { CANARY_PATHS, HEADERS, PATHS } from '../constants.ts';
import {
  checkHttpContract,
  checkKeySet,
  checkNotModified,
  checkSameKeys,
  checkThumbprints,
} from './checks.ts';
import { checkDiscovery } from './discovery-check.ts';
import { type FetchLike, isFailure, request } from './http.ts';
import { checkTokenResponse, checkTokenVerifies } from './token-check.ts';
import { requestToken } from './token-request.ts';
import { type CheckResult, fail, type ProbeCredential, type ProbePath, skip } from './types.ts';

export interface ProbeOptions {
  /** The issuer (for this product an origin: `https://<CloudFront or custom domain>`). */
  readonly issuer: string;
  /** The API Gateway JWKS URL (`https://<api>.execute-api.<region>.amazonaws.com/<env>/.well-known/jwks.json`). */
  readonly apiJwksUrl?: string;
  readonly credential?: ProbeCredential;
  readonly fetch?: FetchLike;
  /** Per request. @default 5000 ms */
  readonly timeoutMs?: number;
  readonly clock?: () => number;
  /** Why there is no credential, when there is none (the line says it). */
  readonly noCredentialReason?: string;
}

const JWKS_TYPES = [HEADERS.JSON, HEADERS.JWK_SET];

/** RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path. */
function oauthMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}${PATHS.OAUTH_METADATA}${path}`;
}

async function discover(
  opts: ProbeOptions,
  out: CheckResult[],
): Promise<{ jwksUri?: string; tokenEndpoint?: string }> {
  const path = CANARY_PATHS.DISCOVERY;
  const base = opts.issuer.replace(/\/$/, '');
  let res = await request(
    `${base}${PATHS.OPENID_CONFIGURATION}`,
    { headers: { accept: HEADERS.JSON } },
    opts,
  );
  if (!isFailure(res) && res.status === 404) {
    res = await request(oauthMetadataUrl(opts.issuer), { headers: { accept: HEADERS.JSON } }, opts);
  }
  if (isFailure(res)) {
    out.push(fail('discovery', path, `${res.url}: no answer (${res.error})`, res.ms));
    return {};
  }
  const result = checkDiscovery('discovery', path, opts.issuer, res);
  out.push(result.check);
  return result;
}

/** A JWKS as one path served it (status 200), for checks made after the probe (the canary's registry check). */
export interface FetchedJwks {
  /** The check-name prefix of the path: `jwks` or `api-jwks`. */
  readonly prefix: string;
  readonly path: ProbePath;
  readonly body: string;
  /** When the answer arrived (the probe's clock, epoch ms). */
  readonly fetchedAt: number;
}

/** The four JWKS checks on one URL; returns the document when there was one to judge. */
async function probeJwks(
  prefix: string,
  path: ProbePath,
  url: string,
  opts: ProbeOptions,
  out: CheckResult[],
): Promise<FetchedJwks | undefined> {
  const first = await request(url, { headers: { accept: JWKS_TYPES.join(', ') } }, opts);
  const fetchedAt = (opts.clock ?? Date.now)();
  if (isFailure(first)) {
    out.push(fail(`${prefix}.http`, path, `${url}: no answer (${first.error})`, first.ms));
    return undefined;
  }
  out.push(checkHttpContract(`${prefix}.http`, path, first, JWKS_TYPES));
  if (first.status !== 200) return undefined;
  const etag = first.headers.etag;
  const second = etag
    ? await request(url, { headers: { accept: JWKS_TYPES.join(', '), 'if-none-match': etag } }, opts)
    : first;
  out.push(
    isFailure(second)
      ? fail(`${prefix}.not-modified`, path, `no answer to If-None-Match (${second.error})`, second.ms)
      : checkNotModified(`${prefix}.not-modified`, path, etag, second),
  );
  out.push(checkKeySet(`${prefix}.keys`, path, first.body));
  out.push(await checkThumbprints(`${prefix}.kids`, path, first.body));
  return { prefix, path, body: first.body, fetchedAt };
}

async function probeToken(
  opts: ProbeOptions,
  tokenEndpoint: string | undefined,
  jwks: string | undefined,
  out: CheckResult[],
) {
  const path = CANARY_PATHS.TOKEN;
  if (!opts.credential) {
    out.push(skip('token', path, opts.noCredentialReason ?? 'no credential given'));
    return;
  }
  if (!tokenEndpoint) {
    out.push(fail('token', path, 'the discovery document names no token_endpoint'));
    return;
  }
  const now = (opts.clock ?? Date.now)();
  const res = await requestToken(tokenEndpoint, opts.credential, { ...opts, now });
  if (isFailure(res)) {
    out.push(fail('token', path, `${tokenEndpoint}: no answer (${res.error})`, res.ms));
    return;
  }
  const { check, token } = checkTokenResponse('token', path, res);
  out.push(check);
  if (!token) return;
  if (jwks === undefined) {
    out.push(fail('token.verify', path, 'not verified: no JWKS was fetched'));
    return;
  }
  out.push(await checkTokenVerifies('token.verify', path, token, jwks, { issuer: opts.issuer, now }));
}

export interface ProbeReport {
  readonly checks: CheckResult[];
  /** The JWKS of each path that answered 200, in probe order. */
  readonly jwks: FetchedJwks[];
}

/** Every check, and the JWKS documents they judged. */
export async function probe(opts: ProbeOptions): Promise<ProbeReport> {
  const out: CheckResult[] = [];
  const fetched: FetchedJwks[] = [];
  const discovery = await discover(opts, out);
  // Without a discovered jwks_uri the JWKS is still probed where this product publishes it.
  const jwksUri = discovery.jwksUri ?? `${opts.issuer.replace(/\/$/, '')}${PATHS.JWKS}`;
  const jwks = await probeJwks('jwks', CANARY_PATHS.CLOUDFRONT_JWKS, jwksUri, opts, out);
  if (jwks) fetched.push(jwks);
  if (opts.apiJwksUrl !== undefined) {
    const api = await probeJwks('api-jwks', CANARY_PATHS.APIGW_JWKS, opts.apiJwksUrl, opts, out);
    if (api) fetched.push(api);
    if (api !== undefined && jwks !== undefined) {
      out.push(checkSameKeys('api-jwks.same-keys', CANARY_PATHS.APIGW_JWKS, jwks.body, api.body));
    }
  }
  await probeToken(opts, discovery.tokenEndpoint, jwks?.body, out);
  return { checks: out, jwks: fetched };
}

export async function runProbe(opts: ProbeOptions): Promise<CheckResult[]> {
  return (await probe(opts)).checks;
}

/** All checks passed (skipped ones count as passed). */
export const allPassed = (results: readonly CheckResult[]): boolean => results.every((r) => r.ok);
