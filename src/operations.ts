/**
 * Operator commands (the CLI's `revoke` and `rotate`). They use the same transitions as the
 * reconciler and finish by running it, so the registry converges to "one ACTIVE, one PENDING".
 * Unlike the scheduled reconciler, an operator command retries a commit that lost a race (after
 * re-reading): the operator asked for this change and should not have to repeat it.
 */
import { applyCommit, buildCommit, byAge } from './core/transitions.ts';
import type { ChangeContext, Commit, KeyRecord, KeyStatus, RegistrySnapshot } from './core/types.ts';
import { ConflictError, KeyNotFoundError, KeyUnusableError } from './errors.ts';
import type { ObjectStore, Registry } from './ports.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from './reconciler.ts';
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

const leadSatisfied = (k: KeyRecord, lead: number, now: number): boolean =>
  k.publishedAt !== undefined && k.publishedAt + lead <= now;

export interface RevokeResult {
  readonly kid: string;
  readonly keyRef: string;
  /** The status the revoke commit found (REVOKED: someone, e.g. a reconciler reading the list, finished it). */
  readonly previousStatus: KeyStatus;
  /** The kid was already REVOKED when the command started (the list entry and vault state were ensured). */
  readonly alreadyRevoked: boolean;
  /** The PENDING key promoted because the ACTIVE key was revoked. */
  readonly promoted?: { readonly keyRef: string; readonly kid: string };
  readonly warnings: string[];
  readonly reconcile: ReconcileResult;
}

/**
 * Revoke `kid` (design §3, Emergency): revocation list first (so the publisher drops the kid even if
 * the registry write never happens or is later undone by a restore), then one commit → REVOKED,
 * promoting the PENDING key if the ACTIVE one was revoked; then disable the vault key and schedule
 * its deletion; then reconcile, which creates the new standby.
 */
export async function revokeKey(
  deps: OperationDeps,
  kid: string,
  change: ChangeContext,
  now: number,
): Promise<RevokeResult> {
  revocationKey(kid); // InvalidArgumentError for a kid that cannot be one
  const first = byKid(await deps.registry.read(), kid);
  if (!first) throw new KeyNotFoundError(`no key with kid ${kid} in the registry`);
  await appendRevocation(deps.store, {
    kid,
    revokedAt: now,
    reason: change.reason,
    changedBy: change.changedBy,
  });

  let promoted: RevokeResult['promoted'];
  let previousStatus: KeyStatus = first.status;
  const afterRevoke = await commitWithRetry(deps.registry, (snapshot) => {
    const record = byKid(snapshot, kid);
    if (!record) throw new KeyNotFoundError(`key ${kid} disappeared from the registry`);
    previousStatus = record.status;
    if (record.status === 'REVOKED') return undefined;
    const commit = buildCommit(snapshot, { type: 'revoke', keyRef: record.keyRef }, now, change);
    const next = commit.keys.find((w) => w.record.keyRef !== record.keyRef)?.record;
    promoted = next?.kid ? { keyRef: next.keyRef, kid: next.kid } : undefined;
    return commit;
  });
  const revoked = byKid(afterRevoke, kid) as KeyRecord;

  if (revoked.vaultKeyId && revoked.deletionScheduledAt === undefined) {
    // Nothing may sign with it from now on (signers fail at once; KMS replicates the state).
    if (revoked.disabledAt === undefined) {
      try {
        await deps.vault.disableKey(revoked.vaultKeyId);
      } catch (err) {
        if (!(err instanceof KeyUnusableError)) throw err;
      }
      await commitWithRetry(deps.registry, (s) => {
        const r = byKid(s, kid);
        return r && r.disabledAt === undefined && r.deletionScheduledAt === undefined
          ? buildCommit(s, { type: 'markDisabled', keyRef: r.keyRef }, now, change)
          : undefined;
      });
    }
    await deps.vault.scheduleDeletion(revoked.vaultKeyId, deps.policy.kmsDeletionWindowDays);
    await commitWithRetry(deps.registry, (s) => {
      const r = byKid(s, kid);
      return r && r.deletionScheduledAt === undefined
        ? buildCommit(s, { type: 'markDeletionScheduled', keyRef: r.keyRef }, now, change)
        : undefined;
    });
  }

  const result = await reconcile(deps, now, change);
  const warnings: string[] = [];
  const promotedRecord = promoted && afterRevoke.keys.find((k) => k.keyRef === promoted?.keyRef);
  if (promotedRecord && !leadSatisfied(promotedRecord, deps.policy.prepublishLead, now)) {
    warnings.push(
      `promoted ${promotedRecord.kid} was published less than prepublishLead ago: verifiers with a cached JWKS may reject its tokens until their cache expires`,
    );
  }
  if (previousStatus === 'ACTIVE' && !promoted) {
    warnings.push(
      'no PENDING key could be promoted: nothing signs until a new key is published and activated (`rotate --now` skips the lead)',
    );
  }
  return {
    kid,
    keyRef: revoked.keyRef,
    previousStatus,
    alreadyRevoked: first.status === 'REVOKED',
    ...(promoted ? { promoted } : {}),
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
 * once, lead or not — creating one first if there is none.
 */
export async function requestRotation(
  deps: ReconcileDeps,
  opts: { readonly immediate?: boolean },
  change: ChangeContext,
  now: number,
): Promise<RotationResult> {
  const standby = (s: RegistrySnapshot) =>
    s.keys.filter((k) => k.status === 'PENDING' && k.kid !== undefined).sort(byAge)[0];
  if (!opts.immediate) {
    await commitWithRetry(deps.registry, (s) => {
      const active = s.keys.find((k) => k.status === 'ACTIVE');
      if (!active || (active.periodEndsAt !== undefined && active.periodEndsAt <= now)) return undefined;
      return buildCommit(s, { type: 'endPeriod', keyRef: active.keyRef }, now, change);
    });
    const result = await reconcile(deps, now, change);
    const done = result.actions.find((a) => a.type === 'activate');
    const warnings = done ? [] : ['the standby activates once it has been published for prepublishLead'];
    return {
      immediate: false,
      ...(done?.kid ? { activated: { keyRef: done.keyRef, kid: done.kid } } : {}),
      verifierCacheWarning: false,
      warnings,
      reconcile: result,
    };
  }

  if (!standby(await deps.registry.read())) await reconcile(deps, now, change);
  let activated: KeyRecord | undefined;
  await commitWithRetry(deps.registry, (s) => {
    activated = standby(s);
    if (!activated) throw new KeyNotFoundError('no PENDING key to activate (is a creation in progress?)');
    return buildCommit(s, { type: 'activate', keyRef: activated.keyRef }, now, change);
  });
  const key = activated as KeyRecord;
  const verifierCacheWarning = !leadSatisfied(key, deps.policy.prepublishLead, now);
  const result = await reconcile(deps, now, change);
  return {
    immediate: true,
    activated: { keyRef: key.keyRef, kid: key.kid as string },
    verifierCacheWarning,
    warnings: verifierCacheWarning
      ? [
          `${key.kid} was activated before it had been published for prepublishLead: verifiers with a cached JWKS may reject its tokens until their cache expires`,
        ]
      : [],
    reconcile: result,
  };
}
