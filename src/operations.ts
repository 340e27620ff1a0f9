/**
 * Operator commands (the CLI's `revoke` and `rotate`). They use the same transitions as the
 * reconciler and finish by running it, so the registry converges to "one ACTIVE, one PENDING".
 * Unlike the scheduled reconciler, an operator command retries a commit that lost a race (after
 * re-reading): the operator asked for this change and should not have to repeat it.
 */
import { leadNotice } from './core/lead.ts';
import { vaultRegions } from './core/regions.ts';
import { applyCommit, buildCommit, byAge } from './core/transitions.ts';
import type { ChangeContext, Commit, KeyRecord, KeyStatus, RegistrySnapshot } from './core/types.ts';
import { ConflictError, KeyNotFoundError, KeyNotPublishedError, KeyUnusableError } from './errors.ts';
import type { ObjectStore, Registry } from './ports.ts';
import { silentLog } from './ports.ts';
import {
  activationWarning,
  commitClock,
  type ReconcileDeps,
  type ReconcileResult,
  reconcile,
} from './reconciler.ts';
import { appendRevocation, revocationKey } from './revocations.ts';

export interface OperationDeps extends ReconcileDeps {
  readonly store: ObjectStore;
}

/** Re-read and rebuild on ConflictError; `build` returns undefined when nothing is left to do. */
async function commitWithRetry(
  registry: Registry,
  build: (snapshot: RegistrySnapshot) => Commit | undefined,
  attempts = 5,
): Promise<RegistrySnapshot> {
  for (let i = 1; ; i++) {
    const snapshot = await registry.read();
    const commit = build(snapshot);
    if (!commit) return snapshot;
    try {
      await registry.commit(commit);
      return applyCommit(snapshot, commit);
    } catch (err) {
      if (!(err instanceof ConflictError) || i >= attempts) throw err;
    }
  }
}

const byKid = (snapshot: RegistrySnapshot, kid: string): KeyRecord | undefined =>
  snapshot.keys.find((k) => k.kid === kid);

export interface RevokeResult {
  readonly kid: string;
  readonly keyRef: string;
  /** The status the revoke commit found (REVOKED: someone, e.g. a reconciler reading the list, finished it). */
  readonly previousStatus: KeyStatus;
  /** The kid was already REVOKED when the command started (the list entry and vault state were ensured). */
  readonly alreadyRevoked: boolean;
  /** The published PENDING key promoted because the ACTIVE key was revoked, and how long it had been published. */
  readonly promoted?: {
    readonly keyRef: string;
    readonly kid: string;
    readonly publishedAgeMs: number;
    readonly leadMet: boolean;
  };
  /**
   * The ACTIVE key was revoked and no standby had been published: no key signs (the token endpoint
   * answers 503) until this standby is published and the reconciler activates it. Undefined otherwise,
   * and once it has been activated.
   */
  readonly awaitingPublication?: { readonly keyRef: string; readonly kid?: string };
  readonly warnings: string[];
  readonly reconcile: ReconcileResult;
}

/**
 * Revoke `kid` (design §3, Emergency): revocation list first (so the publisher drops the kid even if
 * the registry write never happens or is later undone by a restore), then one commit → REVOKED,
 * promoting the PENDING key if the ACTIVE one was revoked *and the standby has been published*; then
 * disable the vault key and schedule its deletion; then reconcile, which creates the new standby and
 * activates a standby published meanwhile. With no published standby no key is ACTIVE until the
 * publisher has published one (`awaitingPublication`).
 *
 * Every commit is stamped with `deps.clock` read at commit time (the control plane's clock; `now`
 * only when no clock is given), never with an instant the caller read before a long run.
 */
export async function revokeKey(
  deps: OperationDeps,
  kid: string,
  change: ChangeContext,
  now: number,
): Promise<RevokeResult> {
  const log = deps.log ?? silentLog;
  const clock = commitClock(deps.clock, now);
  revocationKey(kid); // InvalidArgumentError for a kid that cannot be one
  const first = byKid(await deps.registry.read(), kid);
  if (!first) throw new KeyNotFoundError(`no key with kid ${kid} in the registry`);
  await appendRevocation(deps.store, {
    kid,
    revokedAt: clock.stamp(),
    reason: change.reason,
    changedBy: change.changedBy,
  });

  const warnings: string[] = [];
  let promoted: RevokeResult['promoted'];
  let previousStatus: KeyStatus = first.status;
  let promotionWarning: string | undefined;
  const afterRevoke = await commitWithRetry(deps.registry, (snapshot) => {
    const record = byKid(snapshot, kid);
    if (!record) throw new KeyNotFoundError(`key ${kid} disappeared from the registry`);
    previousStatus = record.status;
    if (record.status === 'REVOKED') return undefined;
    const at = clock.stamp();
    const commit = buildCommit(snapshot, { type: 'revoke', keyRef: record.keyRef }, at, change);
    const next = commit.keys.find((w) => w.record.keyRef !== record.keyRef)?.record;
    const notice = next && leadNotice(next, at, deps.policy);
    promoted = notice && {
      keyRef: notice.keyRef,
      kid: notice.kid,
      publishedAgeMs: notice.publishedAgeMs,
      leadMet: notice.leadMet,
    };
    promotionWarning = activationWarning(snapshot, commit, at, deps.policy);
    return commit;
  });
  if (promotionWarning) {
    warnings.push(promotionWarning);
    log.warn('emergency revoke promoted a key before its prepublish lead', {
      kid,
      warning: promotionWarning,
    });
  }
  const revoked = byKid(afterRevoke, kid) as KeyRecord;
  // Multi-region: every region's copy, though a lost region an operator excluded cannot fail it.
  const serving = vaultRegions(afterRevoke, deps.regions);

  if (revoked.vaultKeyId && revoked.deletionScheduledAt === undefined) {
    // Nothing may sign with it from now on (signers fail at once; KMS replicates the state).
    if (revoked.disabledAt === undefined) {
      try {
        await deps.vault.disableKey(revoked.vaultKeyId, serving);
      } catch (err) {
        if (!(err instanceof KeyUnusableError)) throw err;
      }
      await commitWithRetry(deps.registry, (s) => {
        const r = byKid(s, kid);
        return r && r.disabledAt === undefined && r.deletionScheduledAt === undefined
          ? buildCommit(s, { type: 'markDisabled', keyRef: r.keyRef }, clock.stamp(), change)
          : undefined;
      });
    }
    await deps.vault.scheduleDeletion(revoked.vaultKeyId, deps.policy.kmsDeletionWindowDays, serving);
    await commitWithRetry(deps.registry, (s) => {
      const r = byKid(s, kid);
      return r && r.deletionScheduledAt === undefined
        ? buildCommit(s, { type: 'markDeletionScheduled', keyRef: r.keyRef }, clock.stamp(), change)
        : undefined;
    });
  }

  const result = await reconcile(deps, clock.stamp(), change);
  warnings.push(...result.warnings);
  const after = await deps.registry.read();
  const standby = after.keys.find((k) => k.keyRef === after.state.pendingKeyRef);
  const awaitingPublication =
    after.state.activeKid === undefined && standby
      ? { keyRef: standby.keyRef, ...(standby.kid ? { kid: standby.kid } : {}) }
      : undefined;
  if (awaitingPublication) {
    const warning =
      `no key is ACTIVE: no standby had been published, so none was promoted; the token endpoint answers ` +
      `503 temporarily_unavailable until ${awaitingPublication.kid ?? 'the new standby'} is published, ` +
      'and the reconciler activates it then (prepublish lead waived)';
    warnings.push(warning);
    log.warn('emergency revoke left no ACTIVE key', { kid, awaiting: awaitingPublication.kid });
  }
  return {
    kid,
    keyRef: revoked.keyRef,
    previousStatus,
    alreadyRevoked: first.status === 'REVOKED',
    ...(promoted ? { promoted } : {}),
    ...(awaitingPublication ? { awaitingPublication } : {}),
    warnings,
    reconcile: result,
  };
}

export interface RotationResult {
  readonly immediate: boolean;
  /** The key that became ACTIVE during this command (immediately, or in its reconcile run). */
  readonly activated?: { readonly keyRef: string; readonly kid: string };
  /** Verifiers with a cached JWKS may not know the new ACTIVE key yet: its lead was not satisfied. */
  readonly verifierCacheWarning: boolean;
  readonly warnings: string[];
  readonly reconcile: ReconcileResult;
}

/**
 * `rotate`: end the ACTIVE key's period now, so the standby activates as soon as its prepublish lead
 * is satisfied (possibly in this very run). `rotate --now` (`immediate`): activate the standby at
 * once, lead or not — but only a standby that has been published (invariant 2: the lead may be
 * waived, publication never); an unpublished one is refused with KEY_NOT_PUBLISHED.
 */
export async function requestRotation(
  deps: ReconcileDeps,
  opts: { readonly immediate?: boolean },
  change: ChangeContext,
  now: number,
): Promise<RotationResult> {
  const clock = commitClock(deps.clock, now);
  const standby = (s: RegistrySnapshot) =>
    s.keys.filter((k) => k.status === 'PENDING' && k.kid !== undefined).sort(byAge)[0];
  if (!opts.immediate) {
    await commitWithRetry(deps.registry, (s) => {
      const active = s.keys.find((k) => k.status === 'ACTIVE');
      const at = clock.stamp();
      if (!active || (active.periodEndsAt !== undefined && active.periodEndsAt <= at)) return undefined;
      return buildCommit(s, { type: 'endPeriod', keyRef: active.keyRef }, at, change);
    });
    const result = await reconcile(deps, clock.stamp(), change);
    const done = result.actions.find((a) => a.type === 'activate');
    const warnings = done
      ? result.warnings
      : ['the standby activates once it has been published for prepublishLead'];
    return {
      immediate: false,
      ...(done?.kid ? { activated: { keyRef: done.keyRef, kid: done.kid } } : {}),
      verifierCacheWarning: result.warnings.length > 0,
      warnings,
      reconcile: result,
    };
  }

  if (!standby(await deps.registry.read())) await reconcile(deps, clock.stamp(), change);
  let activated: KeyRecord | undefined;
  let warning: string | undefined;
  await commitWithRetry(deps.registry, (s) => {
    activated = standby(s);
    if (!activated) throw new KeyNotFoundError('no PENDING key to activate (is a creation in progress?)');
    if (activated.publishedAt === undefined) {
      throw new KeyNotPublishedError(
        activated.kid,
        `the standby ${activated.kid} has not been published yet, so no verifier knows it: it can be ` +
          'activated once the publisher has published it (usually seconds; retry then)',
      );
    }
    const at = clock.stamp();
    const commit = buildCommit(s, { type: 'activate', keyRef: activated.keyRef }, at, change);
    warning = activationWarning(s, commit, at, deps.policy);
    return commit;
  });
  const key = activated as KeyRecord;
  if (warning) (deps.log ?? silentLog).warn('rotate --now activated a key before its lead', { warning });
  const result = await reconcile(deps, clock.stamp(), change);
  return {
    immediate: true,
    activated: { keyRef: key.keyRef, kid: key.kid as string },
    verifierCacheWarning: warning !== undefined,
    warnings: warning ? [warning] : [],
    reconcile: result,
  };
}
