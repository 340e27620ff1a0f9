/**
 * `planRotation`: the actions due now (design §3), as a pure function of the registry, the vault's
 * tagged keys, the policy and the instant. The rotate handler runs it often; running the plan and
 * planning again at the same instant yields no action but the level-triggered alarms (see below).
 *
 * The planner picks one due action at a time, simulates it with the same transitions the executor
 * commits (transitions.ts), and repeats until nothing is due. Chains therefore come out whole and in
 * order: activating the standby frees the standby slot, so the same plan creates the next standby.
 */
import { buildCommit, byAge, applyCommit as commitOn, isStandby, type Transition } from './transitions.ts';
import type { Algorithm, KeyRecord, Policy, RegistrySnapshot, VaultKey } from './types.ts';

export interface PlanInput extends RegistrySnapshot {
  /** Every key the vault holds with this deployment's tag. */
  readonly vaultKeys: readonly VaultKey[];
  /**
   * The append-only revocation list, when the caller read it. A listed kid whose record is still
   * PENDING/ACTIVE/RETIRED (an operator's revoke died between the list and the registry, or a
   * point-in-time restore undid it) is revoked again before anything else is planned.
   */
  readonly revokedKids?: ReadonlySet<string>;
}

export type Action =
  /** The kid is on the revocation list: → REVOKED (promoting the standby if it was ACTIVE). */
  | { readonly type: 'revoke'; readonly keyRef: string; readonly kid: string; readonly why: string }
  /** Record a CREATING intent (fresh keyRef), create the vault key tagged with it, complete the record. */
  | { readonly type: 'createKey'; readonly alg: Algorithm; readonly why: string }
  /** A CREATING intent whose vault key exists (a crashed creation): read its public key, make it PENDING. */
  | {
      readonly type: 'completeIntent';
      readonly keyRef: string;
      readonly vaultKeyId: string;
      readonly why: string;
    }
  /** A CREATING intent older than `intentTimeout` with no vault key: ABANDONED, the standby slot is freed. */
  | { readonly type: 'abandonIntent'; readonly keyRef: string; readonly why: string }
  /** PENDING → ACTIVE, retiring the current ACTIVE key in the same commit. */
  | {
      readonly type: 'activate';
      readonly keyRef: string;
      readonly kid: string;
      readonly retiringKeyRef?: string;
      /**
       * No key was ACTIVE (the deployment's first key, or after an emergency revoke): the prepublish lead
       * was waived. Publication never is.
       */
      readonly leadWaived: boolean;
      readonly why: string;
    }
  /** Disable the vault key (nothing may sign with it any more), then record `disabledAt`. */
  | {
      readonly type: 'disableKey';
      readonly keyRef: string;
      readonly vaultKeyId: string;
      readonly why: string;
    }
  /** RETIRED → EXPIRED: the key leaves the JWKS. */
  | { readonly type: 'expire'; readonly keyRef: string; readonly why: string }
  /** Schedule the vault key's deletion (`kmsDeletionWindowDays`), then record `deletionScheduledAt`. */
  | {
      readonly type: 'scheduleDeletion';
      readonly keyRef: string;
      readonly vaultKeyId: string;
      readonly windowDays: number;
      readonly why: string;
    }
  /**
   * A tagged vault key the registry cannot account for. Never deleted (invariant 7): reported every
   * run until an operator deals with it, like a CloudWatch alarm stays in ALARM.
   */
  | {
      readonly type: 'alarm';
      readonly vaultKeyId: string;
      readonly keyRef?: string;
      readonly problem: 'no-key-ref' | 'unknown-key-ref' | 'duplicate-key-ref';
      readonly why: string;
    };

export type ChangeAction = Exclude<Action, { type: 'alarm' }>;

/** When the ACTIVE key's period ends: the operator's override, or a full rotation period. */
export const periodEnd = (active: KeyRecord, policy: Policy): number =>
  active.periodEndsAt ?? (active.activatedAt ?? active.createdAt) + policy.rotationPeriod;

/** Statuses in which a key is (or may become) published, so a listed kid must be revoked. */
const REVOCABLE: ReadonlySet<KeyRecord['status']> = new Set(['PENDING', 'ACTIVE', 'RETIRED']);

const vaultKeysOf = (vaultKeys: readonly VaultKey[], keyRef: string): VaultKey[] =>
  vaultKeys.filter((v) => v.keyRef === keyRef).sort((a, b) => (a.vaultKeyId < b.vaultKeyId ? -1 : 1));

function nextAction(input: PlanInput, policy: Policy, now: number): ChangeAction | undefined {
  const keys = [...input.keys].sort(byAge);
  const { state, vaultKeys } = input;

  for (const k of keys) {
    if (k.kid !== undefined && input.revokedKids?.has(k.kid) && REVOCABLE.has(k.status)) {
      return { type: 'revoke', keyRef: k.keyRef, kid: k.kid, why: 'its kid is on the revocation list' };
    }
  }

  for (const k of keys.filter((k) => k.status === 'CREATING')) {
    const found = vaultKeysOf(vaultKeys, k.keyRef)[0];
    if (found)
      return {
        type: 'completeIntent',
        keyRef: k.keyRef,
        vaultKeyId: found.vaultKeyId,
        why: 'its vault key exists',
      };
    if (k.createdAt + policy.intentTimeout <= now) {
      return { type: 'abandonIntent', keyRef: k.keyRef, why: 'no vault key appeared within intentTimeout' };
    }
  }

  const active =
    keys.find((k) => k.keyRef === state.activeKeyRef && k.status === 'ACTIVE') ??
    keys.find((k) => k.status === 'ACTIVE');
  for (const k of keys.filter(
    (k) => k.status === 'PENDING' && k.kid !== undefined && k.publishedAt !== undefined,
  )) {
    const published = k.publishedAt as number;
    const base = {
      type: 'activate',
      keyRef: k.keyRef,
      kid: k.kid as string,
      retiringKeyRef: active?.keyRef,
    } as const;
    if (!active) {
      // No key signs: the deployment's first key, or an emergency revoke found no published standby
      // (design §3). Publication is what verifiers need to know the kid, so it is never waived; the
      // lead is, because every minute without an ACTIVE key is a minute of 503s at the token endpoint.
      const why =
        state.bootstrappedAt === undefined
          ? 'first key of the deployment, published'
          : 'no ACTIVE key since an emergency revoke; the standby is published (lead waived)';
      return { ...base, leadWaived: true, why };
    }
    const leadOk = published + policy.prepublishLead <= now;
    const periodOver = periodEnd(active, policy) <= now;
    if (leadOk && periodOver) {
      return {
        ...base,
        leadWaived: false,
        why: 'rotation period over, successor published ≥ lead',
      };
    }
  }

  if (!keys.some(isStandby)) {
    return {
      type: 'createKey',
      alg: policy.algorithm,
      why: active ? 'standby for the ACTIVE key' : 'bootstrap: first key',
    };
  }

  for (const k of keys) {
    if (!k.vaultKeyId || k.disabledAt !== undefined || k.deletionScheduledAt !== undefined) continue;
    // A signer may go on using its cached view for signerCacheTtl, and a region's replica of STATE may
    // name the key ACTIVE for maxReplicationLag after the retirement (ADR 0008): disable after both.
    const signersDone = (k.retiredAt ?? 0) + policy.signerCacheTtl + policy.maxReplicationLag;
    const retiredLongEnough = k.status === 'RETIRED' && signersDone <= now;
    if (retiredLongEnough || k.status === 'EXPIRED' || k.status === 'REVOKED') {
      const why = retiredLongEnough ? 'retired, and signer caches have expired' : `${k.status.toLowerCase()}`;
      return { type: 'disableKey', keyRef: k.keyRef, vaultKeyId: k.vaultKeyId, why };
    }
  }

  for (const k of keys) {
    if (k.status === 'RETIRED' && (k.retiredAt ?? 0) + policy.retention <= now) {
      return { type: 'expire', keyRef: k.keyRef, why: 'retention after retirement over' };
    }
  }

  for (const k of keys) {
    if (k.deletionScheduledAt !== undefined) continue;
    const vaultKeyId =
      k.status === 'EXPIRED' || k.status === 'REVOKED'
        ? k.vaultKeyId
        : k.status === 'ABANDONED'
          ? vaultKeysOf(vaultKeys, k.keyRef)[0]?.vaultKeyId
          : undefined;
    if (vaultKeyId) {
      const windowDays = policy.kmsDeletionWindowDays;
      return {
        type: 'scheduleDeletion',
        keyRef: k.keyRef,
        vaultKeyId,
        windowDays,
        why: `${k.status.toLowerCase()} key`,
      };
    }
  }
  return undefined;
}

/** The registry transition a (non-vault) action commits; createKey/completeIntent need vault results first. */
export function transitionOf(action: ChangeAction): Transition | undefined {
  switch (action.type) {
    case 'abandonIntent':
    case 'activate':
    case 'expire':
    case 'revoke':
      return { type: action.type, keyRef: action.keyRef };
    case 'disableKey':
      return { type: 'markDisabled', keyRef: action.keyRef };
    case 'scheduleDeletion':
      return { type: 'markDeletionScheduled', keyRef: action.keyRef, vaultKeyId: action.vaultKeyId };
    default:
      return undefined;
  }
}

const SIMULATION = { changedBy: 'plan', reason: 'simulated' } as const;

/** What executing `action` leaves in the registry (vault results stubbed: only statuses matter here). */
function simulate(
  snapshot: RegistrySnapshot,
  action: ChangeAction,
  now: number,
  step: number,
): RegistrySnapshot {
  if (action.type === 'createKey') {
    const t: Transition = { type: 'recordIntent', keyRef: `planned:${step}`, alg: action.alg };
    return commitOn(snapshot, buildCommit(snapshot, t, now, SIMULATION));
  }
  if (action.type === 'completeIntent') {
    const keys = snapshot.keys.map(
      (k): KeyRecord =>
        k.keyRef === action.keyRef ? { ...k, status: 'PENDING', vaultKeyId: action.vaultKeyId } : k,
    );
    return { ...snapshot, keys };
  }
  const t = transitionOf(action);
  return t ? commitOn(snapshot, buildCommit(snapshot, t, now, SIMULATION)) : snapshot;
}

function alarms(keys: readonly KeyRecord[], vaultKeys: readonly VaultKey[]): Action[] {
  const byRef = new Map(keys.map((k) => [k.keyRef, k]));
  const out: Action[] = [];
  for (const v of [...vaultKeys].sort((a, b) => (a.vaultKeyId < b.vaultKeyId ? -1 : 1))) {
    const record = v.keyRef === undefined ? undefined : byRef.get(v.keyRef);
    const base = { type: 'alarm', vaultKeyId: v.vaultKeyId, keyRef: v.keyRef } as const;
    if (v.keyRef === undefined) {
      out.push({ ...base, problem: 'no-key-ref', why: 'tagged for this deployment but has no keyRef tag' });
    } else if (!record) {
      out.push({ ...base, problem: 'unknown-key-ref', why: 'its keyRef is unknown to the registry' });
    } else if (record.vaultKeyId !== undefined && record.vaultKeyId !== v.vaultKeyId) {
      out.push({
        ...base,
        problem: 'duplicate-key-ref',
        why: `keyRef ${v.keyRef} belongs to ${record.vaultKeyId}`,
      });
    }
  }
  return out;
}

export function planRotation(input: PlanInput, policy: Policy, now: number): Action[] {
  const actions: Action[] = [];
  let snapshot: RegistrySnapshot = { state: input.state, keys: input.keys };
  // Each action moves one record strictly forward in its lifecycle, so this bound is never reached
  // unless a transition fails to change what nextAction looks at (a bug, reported loudly).
  const bound = 8 * (input.keys.length + input.vaultKeys.length) + 16;
  for (let step = 0; ; step++) {
    if (step > bound) throw new Error('planRotation did not converge');
    const action = nextAction(
      { ...snapshot, vaultKeys: input.vaultKeys, revokedKids: input.revokedKids },
      policy,
      now,
    );
    if (!action) break;
    actions.push(action);
    snapshot = simulate(snapshot, action, now, step);
  }
  return [...actions, ...alarms(snapshot.keys, input.vaultKeys)];
}
