/**
 * How stale a served JWKS is against the registry (issue 10 §2, "JWKS age vs registry version"). Pure:
 * the served kids, a registry snapshot read after the document was fetched, the instant it was fetched
 * and the policy in; the staleness and the kids that differ out.
 *
 * The served document carries no registry version, and the publisher skips writing unchanged bytes,
 * so "stored version vs registry version" would differ in normal operation. What verifiers depend on
 * is the set of kids, so that is compared with what the registry requires:
 * - **required** (must be served): the kid of every PENDING, ACTIVE or RETIRED record — the states the
 *   publisher renders (core/jwks.ts) — unless a REVOKED record has the same kid (the revocation list
 *   drops it whatever else the registry says, invariant 4);
 * - **withdrawn** (must no longer be served): the kid of an EXPIRED or REVOKED record that is not
 *   required;
 * - **unknown**: a served kid no record has. Key items are never deleted and the registry is read after
 *   the fetch, so no publisher can have rendered it from this registry: a document written by someone
 *   else, or a table restored to before that key. It has no instant to measure from, so it is reported
 *   apart (the canary fails its `*.registry` check), not as staleness.
 *
 * A difference is measured from the lifecycle change that caused it: `createdAt` for a missing kid (a
 * record does not say when it left CREATING; the intent is written seconds before, in the same run,
 * so this can only over-state), `revokedAt` / `expiredAt` for a withdrawn one. A change made after the
 * document was fetched is no difference: that document was right when it was served.
 *
 * The staleness is the age of the oldest difference, 0 when there is none. Caches may hold the old
 * document for a while (see stalenessThresholdMs), so a small non-zero staleness is normal right after a
 * change; only one beyond the threshold means verifiers are not getting the registry's keys.
 */
import type { KeyRecord, KeyStatus, Policy, RegistrySnapshot } from '../core/types.ts';
import { PUBLISHED_STATES } from '../core/vault-proof.ts';

/** A kid on which the served document and the registry disagree. */
export interface KidDifference {
  readonly kid: string;
  /** `missing`: required but not served; `withdrawn`: served but EXPIRED or REVOKED. */
  readonly kind: 'missing' | 'withdrawn';
  /** The status of the record that decides (the earliest one, when several records share the kid). */
  readonly status: KeyStatus;
  /** The instant of the change the document does not reflect (epoch ms). */
  readonly since: number;
}

export interface Staleness {
  /** Whole seconds since the oldest change the served document does not reflect; 0 when it reflects all. */
  readonly seconds: number;
  /** Oldest first, ties by kid. */
  readonly differences: readonly KidDifference[];
  /** Served kids the registry has no record of, in document order. */
  readonly unknown: readonly string[];
  /** stalenessThresholdMs(policy) in whole seconds (what the alarm compares with). */
  readonly thresholdSeconds: number;
  /** `seconds > thresholdSeconds`: past anything caching explains. */
  readonly stale: boolean;
}

/**
 * Time for the publisher to follow a registry change before the served document may lag at all: the
 * registry stream delivers within seconds and the publisher retries failures (its own alarm,
 * PublicationLag, fires at 5 minutes of iterator age), and a CloudFront invalidation normally
 * completes within minutes.
 */
export const PUBLICATION_MARGIN_MS = 5 * 60_000;

/**
 * How far the served document may legitimately lag a registry change:
 * `cdnMaxTtl + jwksMaxAge + PUBLICATION_MARGIN_MS` (15 minutes with the default policy).
 * A CloudFront copy lives at most its TTL (≤ `cdnMaxTtl`) when an invalidation does not reach it, and
 * `stale-if-error=<jwksMaxAge>` (publisher.ts) lets it serve that copy for another `jwksMaxAge` while
 * the origin fails. The canary keeps no cache of its own, so a verifier's `max-age` does not count.
 */
export function stalenessThresholdMs(policy: Pick<Policy, 'jwksMaxAge' | 'cdnMaxTtl'>): number {
  return policy.cdnMaxTtl + policy.jwksMaxAge + PUBLICATION_MARGIN_MS;
}

const WITHDRAWN_AT: Partial<Record<KeyStatus, (k: KeyRecord) => number | undefined>> = {
  EXPIRED: (k) => k.expiredAt,
  REVOKED: (k) => k.revokedAt,
};

/** Per kid, the earliest of `records` by the instant `at` gives it, as a `kind` difference. */
function earliest(
  records: readonly KeyRecord[],
  kind: KidDifference['kind'],
  at: (k: KeyRecord) => number,
): Map<string, KidDifference> {
  const out = new Map<string, KidDifference>();
  for (const k of records) {
    if (k.kid === undefined) continue;
    const since = at(k);
    const seen = out.get(k.kid);
    if (!seen || since < seen.since) out.set(k.kid, { kid: k.kid, kind, status: k.status, since });
  }
  return out;
}

export interface StalenessInput {
  /** The kids of the served document, in document order. */
  readonly servedKids: readonly string[];
  /** A strongly consistent registry read made after the document was fetched. */
  readonly snapshot: RegistrySnapshot;
  /** When the document was fetched (epoch ms). */
  readonly observedAt: number;
  readonly policy: Pick<Policy, 'jwksMaxAge' | 'cdnMaxTtl'>;
}

export function jwksStaleness(input: StalenessInput): Staleness {
  const { snapshot, observedAt } = input;
  const served = new Set(input.servedKids);
  const revokedKids = new Set(
    snapshot.keys.filter((k) => k.status === 'REVOKED' && k.kid !== undefined).map((k) => k.kid),
  );
  const required = earliest(
    snapshot.keys.filter((k) => PUBLISHED_STATES.has(k.status) && !revokedKids.has(k.kid)),
    'missing',
    (k) => k.createdAt,
  );
  const withdrawn = earliest(
    snapshot.keys.filter((k) => WITHDRAWN_AT[k.status] !== undefined && !required.has(k.kid ?? '')),
    'withdrawn',
    // A record without its instant (never written so by a transition) counts from its creation: the
    // figure can then only over-state.
    (k) => WITHDRAWN_AT[k.status]?.(k) ?? k.createdAt,
  );
  const differences = [
    ...[...required.values()].filter((d) => !served.has(d.kid)),
    ...[...withdrawn.values()].filter((d) => served.has(d.kid)),
  ]
    .filter((d) => d.since <= observedAt)
    .sort((a, b) => a.since - b.since || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  const known = new Set(snapshot.keys.map((k) => k.kid));
  const unknown = [...served].filter((kid) => !known.has(kid));
  const oldest = differences[0];
  const seconds = oldest ? Math.floor((observedAt - oldest.since) / 1000) : 0;
  const thresholdSeconds = Math.ceil(stalenessThresholdMs(input.policy) / 1000);
  return { seconds, differences, unknown, thresholdSeconds, stale: seconds > thresholdSeconds };
}

/** One line for logs and the check's detail: what differs and for how long. No key material (kids are public). */
export function describeStaleness(s: Staleness): string {
  if (s.differences.length === 0) return 'the served kids are the ones the registry requires';
  const parts = s.differences.map((d) =>
    d.kind === 'missing' ? `${d.status} ${d.kid} not served` : `${d.status} ${d.kid} still served`,
  );
  return `${parts.join('; ')}: ${s.seconds}s behind the registry (tolerated ${s.thresholdSeconds}s)`;
}
