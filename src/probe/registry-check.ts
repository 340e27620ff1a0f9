/**
 * The canary's `*.registry` check (issue 10 §2): a served JWKS judged against a registry read made after
 * it was fetched (src/probe/staleness.ts). Pure, like the other checks.
 *
 * The check fails only for what the staleness figure cannot say: a served kid the registry has no
 * record of (someone else wrote the document, or the table went back to before that key), or a
 * registry the canary could not read. A document that lags the registry is not a failure of this
 * check: its staleness is the `JwksStalenessSeconds` metric, whose own alarm allows for caching, so
 * one cause never pages twice.
 */
import type { Policy, RegistrySnapshot } from '../core/types.ts';
import { parseJwkSet } from './checks.ts';
import type { FetchedJwks } from './run.ts';
import { describeStaleness, jwksStaleness, type Staleness } from './staleness.ts';
import { type CheckResult, fail, pass, skip } from './types.ts';

export interface RegistryJudgement {
  readonly check: CheckResult;
  /** Undefined when there is nothing to measure (the body is not a JWK Set: the check is skipped). */
  readonly staleness?: Staleness;
}

export const registryCheckName = (jwks: Pick<FetchedJwks, 'prefix'>): string => `${jwks.prefix}.registry`;

/** The served kids of `jwks` against `snapshot`, as of when the document was fetched. */
export function checkAgainstRegistry(
  jwks: FetchedJwks,
  snapshot: RegistrySnapshot,
  policy: Pick<Policy, 'jwksMaxAge' | 'cdnMaxTtl'>,
): RegistryJudgement {
  const name = registryCheckName(jwks);
  const set = parseJwkSet(jwks.body);
  // `*.keys` has failed already: a second failure would say nothing new.
  if (typeof set === 'string') return { check: skip(name, jwks.path, `not compared: ${set}`) };
  const servedKids = set.keys.flatMap((k) => (typeof k.kid === 'string' ? [k.kid] : []));
  const staleness = jwksStaleness({ servedKids, snapshot, observedAt: jwks.fetchedAt, policy });
  if (staleness.unknown.length > 0) {
    const detail = `kid(s) ${staleness.unknown.join(', ')} served but unknown to the registry`;
    return { check: fail(name, jwks.path, detail), staleness };
  }
  return { check: pass(name, jwks.path, describeStaleness(staleness)), staleness };
}

/** The check of every fetched document when the registry could not be read: no staleness then. */
export function registryUnreadable(jwks: FetchedJwks, err: unknown): CheckResult {
  // The error's name only (AccessDeniedException, ProvisionedThroughputExceededException…): no request ids.
  const reason = (err as { name?: string } | undefined)?.name ?? 'error';
  return fail(registryCheckName(jwks), jwks.path, `cannot read the registry (${reason})`);
}
