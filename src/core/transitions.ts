/**
 * Registry transitions as pure functions: what each lifecycle step writes, as one `Commit` (every
 * changed key item + the STATE item, conditioned on the versions read), and `applyCommit`, the
 * reducer that gives the registry a successful commit leaves behind. The planner simulates its plan
 * with these, the reconciler and the operator commands build their commits with them, so "what the
 * plan assumed" and "what was written" cannot differ.
 *
 * STATE is derived from the key items on every commit (never edited separately), so it always
 * mirrors them: the ACTIVE key (`activeKeyRef/activeKid/activeAlg/activeVaultKeyId`, what the signer
 * reads) and the standby slot (`pendingKeyRef`, the one CREATING or PENDING successor).
 */
import { InvalidArgumentError } from '../errors.ts';
import { toPublicJwk } from './jwks.ts';
import type {
  Algorithm,
  ChangeContext,
  Commit,
  KeyRecord,
  KeyStatus,
  KeyWrite,
  PublicJwk,
  RegistrySnapshot,
  RegistryState,
} from './types.ts';

export type Transition =
  /** Invariant 7: the intent (fresh keyRef) is recorded before the vault key exists. */
  | { readonly type: 'recordIntent'; readonly keyRef: string; readonly alg: Algorithm }
  | {
      readonly type: 'completeIntent';
      readonly keyRef: string;
      readonly vaultKeyId: string;
      readonly publicJwk: PublicJwk;
    }
  | { readonly type: 'abandonIntent'; readonly keyRef: string }
  /** PENDING → ACTIVE; the previous ACTIVE key is RETIRED in the same commit. */
  | { readonly type: 'activate'; readonly keyRef: string }
  /** Operator rotation: the ACTIVE key's period ends now instead of `activatedAt + rotationPeriod`. */
  | { readonly type: 'endPeriod'; readonly keyRef: string }
  | { readonly type: 'expire'; readonly keyRef: string }
  /**
   * → REVOKED. Revoking the ACTIVE key promotes the PENDING key in the same commit *if it has been
   * published* (design §3, Emergency); otherwise no key is ACTIVE until the publisher has published the
   * standby, which the planner then activates at once. Never a kid that no verifier can have seen.
   */
  | { readonly type: 'revoke'; readonly keyRef: string }
  | { readonly type: 'markDisabled'; readonly keyRef: string }
  /**
   * Multi-region repair (ADR 0008): a replica that received only half of the lost primary's activation
   * (or revoke-and-promote) holds two ACTIVE keys. `keyRef`, the one activated last, stays ACTIVE and
   * every other ACTIVE key is RETIRED now — what the primary's transaction did, with the retention
   * counted from now, never earlier.
   */
  | { readonly type: 'settleActive'; readonly keyRef: string }
  | { readonly type: 'markDeletionScheduled'; readonly keyRef: string; readonly vaultKeyId?: string };

export const isStandby = (k: KeyRecord): boolean => k.status === 'CREATING' || k.status === 'PENDING';

/** Oldest first, then by keyRef: the deterministic order for picking among equals. */
export const byAge = (a: KeyRecord, b: KeyRecord): number =>
  a.createdAt - b.createdAt || (a.keyRef < b.keyRef ? -1 : a.keyRef > b.keyRef ? 1 : 0);

const REVOCABLE: ReadonlySet<KeyStatus> = new Set(['PENDING', 'ACTIVE', 'RETIRED', 'EXPIRED']);

function mustFind(keys: readonly KeyRecord[], keyRef: string, allowed: readonly KeyStatus[]): KeyRecord {
  const record = keys.find((k) => k.keyRef === keyRef);
  if (!record) throw new InvalidArgumentError(`no key ${keyRef} in the registry`);
  if (!allowed.includes(record.status)) {
    throw new InvalidArgumentError(`key ${keyRef} is ${record.status}, not ${allowed.join(' or ')}`);
  }
  return record;
}

/** The records a transition changes, as their new contents (version and change are stamped by buildCommit). */
function changedRecords(keys: readonly KeyRecord[], t: Transition, now: number): KeyRecord[] {
  switch (t.type) {
    case 'recordIntent': {
      if (keys.some((k) => k.keyRef === t.keyRef))
        throw new InvalidArgumentError(`keyRef ${t.keyRef} exists`);
      const standby = keys.find(isStandby);
      if (standby) throw new InvalidArgumentError(`the standby slot is taken by ${standby.keyRef}`);
      return [
        {
          keyRef: t.keyRef,
          alg: t.alg,
          status: 'CREATING',
          version: 0,
          createdAt: now,
          changedBy: '',
          reason: '',
        },
      ];
    }
    case 'completeIntent': {
      const r = mustFind(keys, t.keyRef, ['CREATING']);
      // Rebuilt member by member: whatever the vault returned, only public members are stored.
      const publicJwk = toPublicJwk(t.publicJwk, r.alg);
      return [{ ...r, status: 'PENDING', kid: publicJwk.kid, vaultKeyId: t.vaultKeyId, publicJwk }];
    }
    case 'abandonIntent':
      return [{ ...mustFind(keys, t.keyRef, ['CREATING']), status: 'ABANDONED', abandonedAt: now }];
    case 'activate': {
      const r = mustFind(keys, t.keyRef, ['PENDING']);
      const retiring = keys.filter((k) => k.status === 'ACTIVE');
      return [
        { ...r, status: 'ACTIVE', activatedAt: now },
        ...retiring.map((k): KeyRecord => ({ ...k, status: 'RETIRED', retiredAt: now })),
      ];
    }
    case 'endPeriod':
      return [{ ...mustFind(keys, t.keyRef, ['ACTIVE']), periodEndsAt: now }];
    case 'expire':
      return [{ ...mustFind(keys, t.keyRef, ['RETIRED']), status: 'EXPIRED', expiredAt: now }];
    case 'revoke': {
      const r = mustFind(keys, t.keyRef, [...REVOCABLE]);
      const revoked: KeyRecord = { ...r, status: 'REVOKED', revokedAt: now };
      if (r.status !== 'ACTIVE') return [revoked];
      const successor = keys
        .filter((k) => k.status === 'PENDING' && k.publishedAt !== undefined)
        .sort(byAge)[0];
      return successor ? [revoked, { ...successor, status: 'ACTIVE', activatedAt: now }] : [revoked];
    }
    case 'settleActive': {
      const keep = mustFind(keys, t.keyRef, ['ACTIVE']);
      return keys
        .filter((k) => k.status === 'ACTIVE' && k.keyRef !== keep.keyRef)
        .map((k): KeyRecord => ({ ...k, status: 'RETIRED', retiredAt: now }));
    }
    case 'markDisabled': {
      const r = mustFind(keys, t.keyRef, ['RETIRED', 'EXPIRED', 'REVOKED', 'ABANDONED']);
      return [{ ...r, disabledAt: now }];
    }
    case 'markDeletionScheduled': {
      const r = mustFind(keys, t.keyRef, ['EXPIRED', 'REVOKED', 'ABANDONED']);
      const vaultKeyId = r.vaultKeyId ?? t.vaultKeyId;
      if (!vaultKeyId) throw new InvalidArgumentError(`key ${t.keyRef} has no vault key to delete`);
      return [{ ...r, vaultKeyId, deletionScheduledAt: now }];
    }
  }
}

/** Drops undefined members, so records and STATE marshal cleanly and compare structurally. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The STATE item that mirrors `keys` (design §4: the signer reads only this item). */
export function deriveState(
  keys: readonly KeyRecord[],
  previous: RegistryState,
  now: number,
): Omit<RegistryState, 'registryVersion'> {
  const actives = keys.filter((k) => k.status === 'ACTIVE');
  const active = actives.find((k) => k.keyRef === previous.activeKeyRef) ?? actives.sort(byAge)[0];
  const standby = keys.filter(isStandby).sort(byAge)[0];
  return compact({
    activeKeyRef: active?.keyRef,
    activeKid: active?.kid,
    activeAlg: active?.alg,
    activeVaultKeyId: active?.vaultKeyId,
    pendingKeyRef: standby?.keyRef,
    pendingKid: standby?.kid,
    // Set once, by the first activation; from then on the prepublish lead is never waived.
    bootstrappedAt: previous.bootstrappedAt ?? (active ? now : undefined),
    updatedAt: now,
    // Only promote-region changes who writes (ADR 0008); a lifecycle commit carries it forward.
    primaryRegion: previous.primaryRegion,
    epoch: previous.epoch,
  });
}

/** One transition as one atomic, conditional registry commit. Throws InvalidArgumentError if illegal. */
export function buildCommit(
  snapshot: RegistrySnapshot,
  t: Transition,
  now: number,
  change: ChangeContext,
): Commit {
  const byRef = new Map(snapshot.keys.map((k) => [k.keyRef, k]));
  const writes: KeyWrite[] = changedRecords(snapshot.keys, t, now).map((next) => {
    const current = byRef.get(next.keyRef);
    const record = compact({
      ...next,
      version: (current?.version ?? 0) + 1,
      changedBy: change.changedBy,
      reason: change.reason,
    });
    return { record, expectedVersion: current ? current.version : null };
  });
  const keys = mergeKeys(snapshot.keys, writes);
  const actives = keys.filter((k) => k.status === 'ACTIVE').length;
  if (actives > 1) throw new InvalidArgumentError(`${t.type} would leave ${actives} ACTIVE keys`);
  return {
    expectedRegistryVersion: snapshot.state.registryVersion,
    keys: writes,
    state: deriveState(keys, snapshot.state, now),
    change,
  };
}

function mergeKeys(keys: readonly KeyRecord[], writes: readonly KeyWrite[]): KeyRecord[] {
  const merged = new Map(keys.map((k) => [k.keyRef, k]));
  for (const w of writes) merged.set(w.record.keyRef, w.record);
  return [...merged.values()];
}

/** What the registry holds after `commit` succeeded on `snapshot` (the local mirror of Registry.commit). */
export function applyCommit(snapshot: RegistrySnapshot, commit: Commit): RegistrySnapshot {
  return {
    // A commit writes key items and STATE only: the region items (ADR 0008) stay as read.
    ...snapshot,
    state: { ...commit.state, registryVersion: commit.expectedRegistryVersion + 1 },
    keys: mergeKeys(snapshot.keys, commit.keys),
  };
}
