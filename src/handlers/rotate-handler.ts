/**
 * The rotate handler: an EventBridge schedule tick in, one reconcile out.
 *
 * It emits `ReconcileSucceeded` (the "no successful reconcile in 2 periods" alarm reads it) and
 * `UnknownVaultKeys` (a key tagged for this deployment that the registry does not know: never
 * deleted, only reported, design §3 invariant 7).
 *
 * It also takes an operator's `rotate` or `revoke` (`jwks … --stack`, src/operator/action.ts): the same
 * operations the CLI runs locally, with this function's clock, answered as an OperatorResponse.
 */
import { METRIC_DIMENSIONS, METRICS } from '../constants.ts';
import { gateRegions, rollUpPublications } from '../core/regions.ts';
import { ConfigError } from '../errors.ts';
import { type HeartbeatStore, heartbeat } from '../heartbeat.ts';
import {
  answer,
  changeOf,
  isOperatorEvent,
  type OperatorEvent,
  type OperatorResponse,
} from '../operator/action.ts';
import { primaryOnly, promoteAction, revokeAction, rotateAction } from '../operator/run.ts';
import type { Clock, Log } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../reconciler.ts';

/** The metric names, shared with the alarms through src/constants.ts. */
export const METRIC_NAMES = METRICS;

/** What the handler needs to report numbers; the Powertools Metrics instance satisfies it. */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void;
  publishStoredMetrics(): void;
  /**
   * A metric with dimensions of its own besides the sink's defaults, emitted at once (Powertools
   * `singleMetric()`): the heartbeat ages, one per source region.
   */
  singleMetric?(): {
    addDimension(name: string, value: string): void;
    addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void;
  };
}

export interface RotateHandlerDeps extends ReconcileDeps {
  readonly clock?: Clock;
  readonly log?: Log;
  readonly metrics?: MetricsSink;
  /**
   * A run that leaves no ACTIVE key (a new deployment's first key, or an emergency revoke that found no
   * published standby, design §3) waits up to this long for the publisher to publish the standby, then
   * reconciles again to activate it (lead waived, publication never). Without it nothing could sign
   * until the next schedule period — an hour on AWS. Stays below the rotate function's timeout: 60 s,
   * or 2 minutes across regions, where creating the key first waits for its replicas
   * (infra/rotation-schedule.ts ROTATE_TIMEOUT). 0 disables it.
   * @default 40 s
   */
  readonly bootstrapWaitMs?: number;
  /** @default 500 ms */
  readonly bootstrapPollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Multi-region (with `regions`): every run writes this region's heartbeat and reports the age of
   * every other region's, as this replica has it (src/heartbeat.ts).
   */
  readonly heartbeats?: HeartbeatStore;
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** With no ACTIVE key: whether the standby that will take over is published yet ('no': nothing to wait for). */
async function standbyAwaitingPublication(
  deps: RotateHandlerDeps,
): Promise<'unpublished' | 'published' | 'no'> {
  const snapshot = await deps.registry.read();
  const { state, keys } = snapshot;
  if (state.activeKid !== undefined) return 'no';
  const standby = keys.find((k) => k.keyRef === state.pendingKeyRef);
  if (standby?.status !== 'PENDING') return 'no';
  if (standby.publishedAt !== undefined) return 'published';
  // Multi-region: published once every region marked it; the next reconcile rolls the marks up.
  if (
    deps.regions &&
    rollUpPublications(snapshot, gateRegions(snapshot, deps.regions)).some((m) => m.keyRef === standby.keyRef)
  ) {
    return 'published';
  }
  return 'unpublished';
}

function merge(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  return {
    actions: [...a.actions, ...b.actions],
    planned: [...a.planned, ...b.planned],
    unknownVaultKeys: b.unknownVaultKeys,
    conflicts: Math.max(a.conflicts, b.conflicts),
    registryVersion: b.registryVersion,
    warnings: [...a.warnings, ...b.warnings],
    ...(b.region ? { region: b.region } : {}),
    ...(a.fenced || b.fenced ? { fenced: (b.fenced ?? a.fenced) as { epoch: number } } : {}),
  };
}

/**
 * The dashboard's "rotation age vs period" and "time since last publication": read after the run, so
 * they describe the registry the run left. A failed read only loses the two numbers.
 */
async function reportAges(
  deps: RotateHandlerDeps,
  metrics: MetricsSink,
  now: number,
  log: Log,
): Promise<void> {
  try {
    const { state, keys } = await deps.registry.read();
    const active = keys.find((k) => k.keyRef === state.activeKeyRef);
    if (active?.activatedAt !== undefined) {
      metrics.addMetric(METRIC_NAMES.ACTIVE_KEY_AGE, 'Seconds', Math.max(0, now - active.activatedAt) / 1000);
    }
    const published = keys.flatMap((k) => (k.publishedAt === undefined ? [] : [k.publishedAt]));
    if (published.length > 0) {
      metrics.addMetric(
        METRIC_NAMES.SINCE_LAST_PUBLICATION,
        'Seconds',
        Math.max(0, now - Math.max(...published)) / 1000,
      );
    }
  } catch (err) {
    log.warn('could not read the registry for the age metrics', { message: (err as Error).message });
  }
}

/** A schedule tick (any event without an `action`) reconciles; an operator action is answered. */
export interface RotateHandler {
  (event: OperatorEvent): Promise<OperatorResponse>;
  (event?: unknown): Promise<ReconcileResult>;
}

export function createRotateHandler(deps: RotateHandlerDeps): RotateHandler {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? silentLog;
  const waitMs = deps.bootstrapWaitMs ?? 40_000;
  const pollMs = deps.bootstrapPollMs ?? 500;
  const sleep = deps.sleep ?? sleepFor;

  // The control plane's clock decides every timestamp of the run, read at each commit.
  const reconcileDeps = { ...deps, log, clock };
  const awaitActivation = async (first: ReconcileResult): Promise<ReconcileResult> => {
    const deadline = clock() + waitMs;
    for (
      let status = await standbyAwaitingPublication(deps);
      status !== 'no';
      status = await standbyAwaitingPublication(deps)
    ) {
      if (status === 'published') return merge(first, await reconcile(reconcileDeps, clock()));
      if (clock() >= deadline) {
        log.warn('no ACTIVE key and the standby is not published yet; it activates on a later run', {
          waitedMs: waitMs,
        });
        break;
      }
      await sleep(pollMs);
    }
    return first;
  };

  const operatorAction = (event: unknown): Promise<OperatorResponse> =>
    answer(log, event, ['rotate', 'revoke', 'promote-region'], async (action) => {
      // rotate.ts always passes the bucket: a revoke must list the kid before anything else.
      if (!deps.store) throw new ConfigError('BUCKET_NAME');
      const ops = { ...deps, store: deps.store, log, clock };
      if (action.action === 'promote-region')
        return promoteAction(ops, action.region, changeOf(action), clock(), action.exclude);
      // Only the primary commits lifecycle changes (ADR 0008): say where to ask instead.
      await primaryOnly(
        { registry: deps.registry, ...(deps.regions ? { regions: deps.regions } : {}) },
        action.action,
      );
      if (action.action === 'revoke') {
        const outcome = await revokeAction(ops, action.kid, changeOf(action), clock());
        // A revoke that left no ACTIVE key (no published standby, design §3): wait here for the
        // publisher and activate then, instead of answering 503 until the next scheduled run.
        if (waitMs > 0) await awaitActivation(await reconcile(reconcileDeps, clock()));
        return outcome;
      }
      return rotateAction(
        ops,
        action.action === 'rotate' && action.immediate === true,
        changeOf(action),
        clock(),
      );
    });

  /** Before the reconcile, so that a failing reconcile still beats and still reports the ages. */
  const beat = async (): Promise<void> => {
    if (!deps.regions || !deps.heartbeats) return;
    for (const { region, ageSeconds } of await heartbeat(deps.heartbeats, deps.regions, clock(), log)) {
      if (ageSeconds === undefined) continue; // no value: the alarm treats missing data as breaching
      const metric = deps.metrics?.singleMetric?.();
      metric?.addDimension(METRIC_DIMENSIONS.SOURCE_REGION, region);
      metric?.addMetric(METRIC_NAMES.REPLICA_HEARTBEAT_AGE, 'Seconds', ageSeconds);
    }
  };

  const tick = async (): Promise<ReconcileResult> => {
    try {
      await beat();
      let result = await reconcile(reconcileDeps, clock());
      // A watching region writes nothing, so it has nothing to wait for.
      // A fenced run is final (ADR 0008): no second attempt after the wait either.
      if (waitMs > 0 && result.region?.role !== 'watch' && !result.fenced) {
        result = await awaitActivation(result);
      }
      for (const key of result.unknownVaultKeys) {
        log.error('vault key tagged for this deployment is unknown to the registry; not deleting it', {
          vaultKeyId: key.vaultKeyId,
          keyRef: key.keyRef,
        });
      }
      deps.metrics?.addMetric(METRIC_NAMES.RECONCILE_SUCCEEDED, 'Count', 1);
      deps.metrics?.addMetric(METRIC_NAMES.UNKNOWN_VAULT_KEYS, 'Count', result.unknownVaultKeys.length);
      deps.metrics?.addMetric(METRIC_NAMES.RECONCILE_CONFLICTS, 'Count', result.conflicts);
      if (result.region) {
        deps.metrics?.addMetric(METRIC_NAMES.OVERDUE_ACTIONS, 'Count', result.region.overdueActions);
      }
      if (result.region || result.fenced) {
        // A fenced-off region's write found in STATE, or this run's own commit refused by the fence.
        const fenced = result.region?.fencedWrite === true || result.fenced !== undefined;
        deps.metrics?.addMetric(METRIC_NAMES.FENCED_WRITES, 'Count', fenced ? 1 : 0);
      }
      if (deps.metrics) await reportAges(deps, deps.metrics, clock(), log);
      log.info('reconciled', {
        actions: result.actions.map((a) => a.type),
        conflicts: result.conflicts,
        ...(result.fenced ? { fenced: result.fenced } : {}),
      });
      return result;
    } finally {
      deps.metrics?.publishStoredMetrics();
    }
  };

  return (async (event?: unknown) =>
    isOperatorEvent(event) ? operatorAction(event) : tick()) as RotateHandler;
}
