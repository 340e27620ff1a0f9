/**
 * The rotate job as a reconciler (design §2): read the registry and the vault's tagged keys, plan
 * what is due now (core/lifecycle.ts), execute it. Running it again changes nothing.
 *
 * Every registry write is one conditional commit built from the snapshot this run read (advanced
 * locally after each of its own commits). If anyone else committed in between, the commit fails
 * with ConflictError and this run stops there: the next run re-reads and re-plans. That is what
 * keeps two racing reconcilers from ever creating two ACTIVE keys or two standbys. A commit refused by
 * the fence of a newer promotion (FencedError, multi-region) is final: the run stops and reports it.
 *
 * Key creation is crash-safe (invariant 7): the CREATING intent with a fresh keyRef is committed
 * BEFORE the vault key is created (tagged with that keyRef), and completed after. A crash in
 * between leaves either an intent with no key (abandoned after `intentTimeout`) or an intent whose
 * key exists (completed by the next run); never a key the registry does not know.
 */
import { randomUUID } from 'node:crypto';
import { leadNotice, leadWarning } from './core/lead.ts';
import { type Action, type ChangeAction, planRotation, transitionOf } from './core/lifecycle.ts';
import { type RegionConfig, vaultRegions } from './core/regions.ts';
import { applyCommit, buildCommit, type Transition } from './core/transitions.ts';
import type { ChangeContext, Commit, Policy, RegistrySnapshot } from './core/types.ts';
import { ConflictError, FencedError, InvalidArgumentError, KeyUnusableError } from './errors.ts';
import type { Clock, KeyVault, Log, ObjectStore, Registry } from './ports.ts';
import { silentLog } from './ports.ts';
import { prepareRegion, type RegionOutcome } from './region-writer.ts';
import { listRevokedKids, readRevocation } from './revocations.ts';

export interface ReconcileDeps {
  readonly registry: Registry;
  readonly vault: KeyVault;
  readonly policy: Policy;
  /** Fresh keyRef for a creation intent (default: a random UUID). */
  readonly newKeyRef?: () => string;
  readonly log?: Log;
  /**
   * The object store holding the revocation list. When given (the rotate handler should), a listed
   * kid that the registry still shows as PENDING/ACTIVE/RETIRED is revoked again: this finishes an
   * operator's revoke that died after listing the kid, and undoes a point-in-time restore of it.
   */
  readonly store?: ObjectStore;
  /**
   * The control plane's clock (design §11: one clock decides). When given, the plan is made at its
   * reading when the run starts and every commit is stamped with its reading at commit time (never
   * earlier than the plan's), so `activatedAt`/`retiredAt`/`expiredAt` say when the change was
   * made, not when a long run began. Without it (pure tests), everything happens at `now`.
   */
  readonly clock?: Clock;
  /**
   * Multi-region (ADR 0008): only the primary region writes; any other region plans, reports what is
   * overdue and writes nothing. Absent: a single-region deployment.
   */
  readonly regions?: RegionConfig;
}

/** The instant for planning, and a stamp for each commit: the clock's reading then, never going back. */
export function commitClock(clock: Clock | undefined, now: number): { start: number; stamp: () => number } {
  const start = clock ? clock() : now;
  let last = start;
  return {
    start,
    stamp: () => {
      last = clock ? Math.max(last, clock()) : last;
      return last;
    },
  };
}

/**
 * The warning a commit owes the operator when it makes a key sign before its prepublish lead passed:
 * an emergency promotion (revoke of the ACTIVE key) or the activation that ends a window with no ACTIVE
 * key. Undefined when the commit activates nothing or the lead was met.
 */
export function activationWarning(
  before: RegistrySnapshot,
  commit: Commit,
  at: number,
  policy: Policy,
): string | undefined {
  // The deployment's first key: no verifier can have cached a JWKS without it.
  if (before.state.bootstrappedAt === undefined) return undefined;
  const wasActive = new Set(before.keys.filter((k) => k.status === 'ACTIVE').map((k) => k.keyRef));
  const activated = commit.keys.find((w) => w.record.status === 'ACTIVE' && !wasActive.has(w.record.keyRef));
  const notice = activated && leadNotice(activated.record, at, policy);
  if (!notice || notice.leadMet) return undefined;
  const revoked = commit.keys.some((w) => w.record.status === 'REVOKED');
  return leadWarning(notice, revoked ? 'promoted' : 'activated', policy);
}

/** One executed action: what the planner asked for, plus what execution learned. */
export interface DoneAction {
  readonly type: ChangeAction['type'];
  readonly keyRef: string;
  readonly kid?: string;
  readonly vaultKeyId?: string;
  readonly why: string;
}

export interface UnknownVaultKey {
  readonly vaultKeyId: string;
  readonly keyRef?: string;
  readonly problem: Extract<Action, { type: 'alarm' }>['problem'];
}

export interface ReconcileResult {
  /** Actions completed by this run, in order. */
  readonly actions: DoneAction[];
  /** The whole plan of this run (alarms included). */
  readonly planned: Action[];
  /** Tagged vault keys the registry cannot account for: alarm, never delete. */
  readonly unknownVaultKeys: UnknownVaultKey[];
  /** 1 when another writer committed first and this run stopped early (the next run re-plans). */
  readonly conflicts: number;
  /** The registry version after this run's last commit. */
  readonly registryVersion: number;
  /** Keys this run made sign before their prepublish lead passed, with their exact publication age. */
  readonly warnings: string[];
  /** Multi-region only: this region's role and what it found. */
  readonly region?: RegionOutcome;
  /**
   * Multi-region only: a commit of this run was refused because a newer promotion exists in this
   * region's table (FENCED, ADR 0008). The run stopped there; nothing retries it.
   */
  readonly fenced?: { readonly epoch: number };
}

export const SCHEDULE_CHANGE: ChangeContext = { changedBy: 'schedule', reason: 'scheduled reconciliation' };

export async function reconcile(
  deps: ReconcileDeps,
  now: number,
  change: ChangeContext = SCHEDULE_CHANGE,
): Promise<ReconcileResult> {
  const log = deps.log ?? silentLog;
  const newKeyRef = deps.newKeyRef ?? randomUUID;
  const clock = commitClock(deps.clock, now);
  let snapshot: RegistrySnapshot = await deps.registry.read();
  let regional: Awaited<ReturnType<typeof prepareRegion>> | undefined;
  try {
    regional = deps.regions
      ? await prepareRegion(deps.registry, snapshot, deps.regions, clock.stamp, log)
      : undefined;
  } catch (err) {
    // Re-asserting STATE or settling a torn activation under an epoch a newer promotion ended.
    if (!(err instanceof FencedError)) throw err;
    return fencedResult(err, snapshot, log);
  }
  if (regional) snapshot = regional.snapshot;
  const vaultKeys = await deps.vault.listKeys();
  const revokedKids = deps.store ? await listRevokedKids(deps.store) : undefined;
  const planned = planOrTorn(
    () => planRotation({ ...snapshot, vaultKeys, revokedKids }, deps.policy, clock.start),
    regional?.role.role === 'watch',
    log,
  );
  const warnings: string[] = [];
  const region = deps.regions?.region;
  // The regions the vault must reach: all of them, or the serving set once a lost one was excluded.
  const serving = vaultRegions(snapshot, deps.regions);
  const regionOutcome = (overdueActions: number): RegionOutcome | undefined =>
    regional && region
      ? { ...regional.role, region, overdueActions, rolledUp: regional.rolledUp }
      : undefined;
  if (regional?.role.role === 'watch') {
    // Watch mode: the primary is the one writer. What it has not done yet is reported, never done here.
    const overdue = planned.filter((a) => a.type !== 'alarm').length;
    if (overdue > 0) log.warn('actions due that the primary region has not taken', { overdue });
    return {
      actions: [],
      planned,
      unknownVaultKeys: unknownOf(planned),
      conflicts: 0,
      registryVersion: snapshot.state.registryVersion,
      warnings,
      region: regionOutcome(overdue),
    };
  }

  const commit = async (t: Transition, why: string, by?: ChangeContext): Promise<void> => {
    const at = clock.stamp();
    const c = buildCommit(
      snapshot,
      t,
      at,
      by ?? { changedBy: change.changedBy, reason: `${change.reason}: ${why}` },
    );
    await deps.registry.commit(c);
    const warning = activationWarning(snapshot, c, at, deps.policy);
    if (warning) {
      warnings.push(warning);
      log.warn('key signs before its prepublish lead', { transition: t.type, warning });
    }
    snapshot = applyCommit(snapshot, c);
  };

  const execute = async (action: ChangeAction): Promise<DoneAction> => {
    switch (action.type) {
      case 'createKey': {
        const keyRef = newKeyRef();
        await commit({ type: 'recordIntent', keyRef, alg: action.alg }, action.why);
        const { vaultKeyId } = await deps.vault.createKey({ keyRef, alg: action.alg });
        // PENDING only once every serving region can sign with it (ADR 0008; a no-op in one region).
        await deps.vault.ensureReplicas(vaultKeyId, serving);
        const publicJwk = await deps.vault.getPublicJwk(vaultKeyId, action.alg);
        await commit({ type: 'completeIntent', keyRef, vaultKeyId, publicJwk }, action.why);
        return { type: action.type, keyRef, kid: publicJwk.kid, vaultKeyId, why: action.why };
      }
      case 'completeIntent': {
        const record = snapshot.keys.find((k) => k.keyRef === action.keyRef);
        if (!record) throw new ConflictError(`intent ${action.keyRef} vanished`);
        // A crash may have come between the creation and the replicas: finish them first.
        await deps.vault.ensureReplicas(action.vaultKeyId, serving);
        const publicJwk = await deps.vault.getPublicJwk(action.vaultKeyId, record.alg);
        const { vaultKeyId } = action;
        await commit({ type: 'completeIntent', keyRef: action.keyRef, vaultKeyId, publicJwk }, action.why);
        return { type: action.type, keyRef: action.keyRef, kid: publicJwk.kid, vaultKeyId, why: action.why };
      }
      case 'disableKey':
        try {
          await deps.vault.disableKey(action.vaultKeyId, serving);
        } catch (err) {
          // Already pending deletion (a crashed run got further): it cannot sign, which is the point.
          if (!(err instanceof KeyUnusableError)) throw err;
        }
        break;
      case 'scheduleDeletion':
        await deps.vault.scheduleDeletion(action.vaultKeyId, action.windowDays, serving);
        break;
    }
    const t = transitionOf(action);
    // Finishing an operator's revoke from the list: the registry (and the audit trail) records who
    // revoked and why, as the list entry says, not the scheduler that happened to get there first.
    const revocation =
      action.type === 'revoke' && deps.store ? await readRevocation(deps.store, action.kid) : null;
    const by = revocation ? { changedBy: revocation.changedBy, reason: revocation.reason } : undefined;
    if (t) await commit(t, action.why, by);
    const record = snapshot.keys.find((k) => k.keyRef === action.keyRef);
    return {
      type: action.type,
      keyRef: action.keyRef,
      kid: record?.kid,
      vaultKeyId: record?.vaultKeyId,
      why: action.why,
    };
  };

  const actions: DoneAction[] = [];
  let conflicts = 0;
  let fenced: { epoch: number } | undefined;
  for (const action of planned) {
    if (action.type === 'alarm') continue;
    try {
      const done = await execute(action);
      actions.push(done);
      log.info('reconciler action', { ...done });
    } catch (err) {
      if (err instanceof FencedError) {
        // Final: a newer promotion made another region the writer. Stop; the next run reads the
        // promotion (it is in this table: the fence saw it) and steps down to watch mode.
        fenced = { epoch: err.epoch };
        log.error('commit refused: this region was fenced off by a newer promotion; stopping', {
          action: action.type,
          epoch: err.epoch,
          done: actions.map((a) => a.type),
        });
        break;
      }
      if (!(err instanceof ConflictError)) {
        log.error('reconciler action failed', { action: action.type, done: actions.map((a) => a.type) });
        throw err;
      }
      conflicts = 1;
      log.warn('registry changed under the reconciler; stopping, the next run re-plans', {
        action: action.type,
      });
      break;
    }
  }
  const unknownVaultKeys = unknownOf(planned);
  for (const k of unknownVaultKeys) log.error('unaccounted vault key; not deleting it', { ...k });
  return {
    actions,
    planned,
    unknownVaultKeys,
    conflicts,
    registryVersion: snapshot.state.registryVersion,
    warnings,
    region: regionOutcome(0),
    ...(fenced ? { fenced } : {}),
  };
}

/** A run whose first commit (re-assertion, settling) was fenced: nothing done, reported once. */
function fencedResult(err: FencedError, snapshot: RegistrySnapshot, log: Log): ReconcileResult {
  log.error('commit refused: this region was fenced off by a newer promotion; stopping', {
    epoch: err.epoch,
  });
  return {
    actions: [],
    planned: [],
    unknownVaultKeys: [],
    conflicts: 0,
    registryVersion: snapshot.state.registryVersion,
    warnings: [],
    fenced: { epoch: err.epoch },
  };
}

/**
 * A watching region reads a replica that global table replication fills item by item: a transaction
 * of the primary (the new key ACTIVE, the old one RETIRED, STATE) can be seen half applied, which the
 * planner rightly refuses. Watching, that is a moment to report nothing, not an error; the primary's
 * own table is never torn (its transactions are atomic there).
 */
function planOrTorn(plan: () => Action[], watching: boolean, log: Log): Action[] {
  try {
    return plan();
  } catch (err) {
    if (!watching || !(err instanceof InvalidArgumentError)) throw err;
    log.info('replica holds a transaction of the primary half replicated; nothing to report this run', {
      message: err.message,
    });
    return [];
  }
}

const unknownOf = (planned: readonly Action[]): UnknownVaultKey[] =>
  planned.flatMap((a): UnknownVaultKey[] =>
    a.type === 'alarm' ? [{ vaultKeyId: a.vaultKeyId, keyRef: a.keyRef, problem: a.problem }] : [],
  );
