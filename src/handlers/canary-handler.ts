/**
 * The verifier canary (issue 10 §2): on a schedule, from outside the trust boundary — plain HTTPS to the
 * public URLs, no bucket, no keys — it runs the probe (src/probe/run.ts) and reports per path:
 * `CanarySuccess` 1/0 and `CanaryLatency` in ms, dimension `Path` ∈ discovery, cloudfront-jwks,
 * apigw-jwks, token. A token check skipped for want of a credential emits no token data point (it is
 * neither a success nor a failure); a credential that cannot be read or parsed is a token failure.
 *
 * Then, to know whether what verifiers got is current, it reads the registry once (read-only, after
 * every fetch) and reports `JwksStalenessSeconds` per JWKS path (src/probe/staleness.ts), with a
 * `*.registry` check that fails on a served kid the registry does not know or an unreadable registry.
 *
 * The credential lives in Secrets Manager and is read on every run (one GetSecretValue per 5 minutes),
 * so registering the canary client after the deploy takes effect at the next run without a redeploy.
 */
import { CANARY_METRICS, CANARY_PATHS } from '../constants.ts';
import type { Policy, RegistrySnapshot } from '../core/types.ts';
import type { Clock, Log, Registry } from '../ports.ts';
import { silentLog } from '../ports.ts';
import type { FetchLike } from '../probe/http.ts';
import { checkAgainstRegistry, registryUnreadable } from '../probe/registry-check.ts';
import { allPassed, type FetchedJwks, probe } from '../probe/run.ts';
import type { Staleness } from '../probe/staleness.ts';
import { type CheckResult, fail, type ProbeCredential, type ProbePath } from '../probe/types.ts';

/** The Powertools Metrics calls the canary makes (a Metrics instance satisfies it). */
export interface CanaryMetricsSink {
  addDimension(name: string, value: string): void;
  addMetric(name: string, unit: 'Count' | 'Milliseconds' | 'Seconds', value: number): void;
  publishStoredMetrics(): void;
}

/** The secret's JSON: `{"client_id","client_secret"}` or `{"client_id","private_jwk"}`; `{}` until registered. */
export type CredentialRead =
  | { readonly credential: ProbeCredential }
  | { readonly missing: string }
  | { readonly error: string };

export interface CanaryDeps {
  readonly issuer: string;
  readonly apiJwksUrl?: string;
  readonly readCredential: () => Promise<CredentialRead>;
  /** Read only: one strongly consistent read of the registry partition per run. */
  readonly registry: Pick<Registry, 'read'>;
  /** The deployment's policy: what caching lets the served JWKS lag (src/probe/staleness.ts). */
  readonly policy: Pick<Policy, 'jwksMaxAge' | 'cdnMaxTtl'>;
  readonly metrics: CanaryMetricsSink;
  readonly log?: Log;
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
  /** @default 5000 ms per request */
  readonly timeoutMs?: number;
}

export interface CanaryResult {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

/** The secret string as a credential; `{}` (the construct's placeholder) means "not registered yet". */
export function parseCanarySecret(value: string | undefined): CredentialRead {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(value ?? '{}') as Record<string, unknown>;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('not an object');
  } catch {
    // Never the secret's content in a message.
    return { error: 'the canary secret is not a JSON object' };
  }
  if (Object.keys(doc).length === 0)
    return { missing: 'no credential in the canary secret yet (docs/runbook.md)' };
  const clientId = doc.client_id;
  if (typeof clientId !== 'string' || clientId === '') return { error: 'the canary secret has no client_id' };
  if (typeof doc.client_secret === 'string' && doc.client_secret !== '') {
    return { credential: { kind: 'secret', clientId, clientSecret: doc.client_secret } };
  }
  const jwk = doc.private_jwk;
  if (typeof jwk === 'object' && jwk !== null && !Array.isArray(jwk)) {
    return { credential: { kind: 'key', clientId, privateJwk: jwk as Record<string, unknown> } };
  }
  return { error: 'the canary secret has neither client_secret nor private_jwk' };
}

function publish(
  metrics: CanaryMetricsSink,
  results: readonly CheckResult[],
  staleness: ReadonlyMap<ProbePath, Staleness>,
): void {
  for (const path of Object.values(CANARY_PATHS)) {
    const ran = results.filter((r) => r.path === path && !r.skipped);
    if (ran.length === 0) continue;
    metrics.addDimension(CANARY_METRICS.PATH_DIMENSION, path);
    metrics.addMetric(CANARY_METRICS.SUCCESS, 'Count', ran.every((r) => r.ok) ? 1 : 0);
    metrics.addMetric(CANARY_METRICS.LATENCY, 'Milliseconds', Math.max(...ran.map((r) => r.ms)));
    const stale = staleness.get(path);
    if (stale) metrics.addMetric(CANARY_METRICS.STALENESS, 'Seconds', stale.seconds);
    // One EMF document per path: Powertools applies a dimension to every metric stored with it.
    metrics.publishStoredMetrics();
  }
}

/**
 * The served documents against one registry read, made after all of them were fetched (so no publisher
 * can have rendered a kid that this read lacks).
 */
async function judgeAgainstRegistry(
  deps: CanaryDeps,
  log: Log,
  fetched: readonly FetchedJwks[],
): Promise<{ checks: CheckResult[]; staleness: Map<ProbePath, Staleness> }> {
  const staleness = new Map<ProbePath, Staleness>();
  if (fetched.length === 0) return { checks: [], staleness };
  let snapshot: RegistrySnapshot;
  try {
    snapshot = await deps.registry.read();
  } catch (err) {
    log.error('canary: cannot read the registry', { error: err });
    return { checks: fetched.map((jwks) => registryUnreadable(jwks, err)), staleness };
  }
  const checks: CheckResult[] = [];
  for (const jwks of fetched) {
    const judged = checkAgainstRegistry(jwks, snapshot, deps.policy);
    checks.push(judged.check);
    const s = judged.staleness;
    if (!s) continue;
    staleness.set(jwks.path, s);
    if (s.differences.length === 0) continue;
    const fields = {
      path: jwks.path,
      seconds: s.seconds,
      thresholdSeconds: s.thresholdSeconds,
      registryVersion: snapshot.state.registryVersion,
      differences: s.differences,
    };
    if (s.stale) log.error('canary: served JWKS is stale', fields);
    else log.info('canary: served JWKS lags the registry within what caching allows', fields);
  }
  return { checks, staleness };
}

export function createCanaryHandler(deps: CanaryDeps): () => Promise<CanaryResult> {
  const log = deps.log ?? silentLog;
  return async () => {
    let read: CredentialRead;
    try {
      read = await deps.readCredential();
    } catch (err) {
      log.error('canary: cannot read its credential', { error: err });
      read = { error: `cannot read the canary secret (${(err as { name?: string }).name ?? 'error'})` };
    }
    const report = await probe({
      issuer: deps.issuer,
      ...(deps.apiJwksUrl ? { apiJwksUrl: deps.apiJwksUrl } : {}),
      ...('credential' in read ? { credential: read.credential } : {}),
      ...('missing' in read ? { noCredentialReason: read.missing } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
    });
    const probed =
      'error' in read
        ? report.checks.map((r) =>
            r.name === 'token' && r.skipped ? fail('token', CANARY_PATHS.TOKEN, read.error) : r,
          )
        : report.checks;
    const registry = await judgeAgainstRegistry(deps, log, report.jwks);
    const checks = [...probed, ...registry.checks];
    publish(deps.metrics, checks, registry.staleness);
    const ok = allPassed(checks);
    for (const c of checks.filter((r) => !r.ok))
      log.error('canary: check failed', { check: c.name, path: c.path, detail: c.detail });
    log.info('canary: probed', {
      ok,
      checks: checks.map((c) => ({ name: c.name, ok: c.ok, skipped: c.skipped ?? false, ms: c.ms })),
    });
    return { ok, checks };
  };
}
