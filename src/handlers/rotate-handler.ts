/**
 * The rotate handler: an EventBridge schedule tick in, one reconcile out.
 *
 * It emits `ReconcileSucceeded` (the "no successful reconcile in 2 periods" alarm reads it) and
 * `UnknownVaultKeys` (a key tagged for this deployment that the registry does not know: never
 * deleted, only reported, design §3 invariant 7).
 */
import { METRICS } from '../constants.ts';
import type { Clock, Log } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { type ReconcileDeps, type ReconcileResult, reconcile } from '../reconciler.ts';

/** The metric names, shared with the alarms through src/constants.ts. */
export const METRIC_NAMES = METRICS;

/** What the handler needs to report numbers; the Powertools Metrics instance satisfies it. */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void;
  publishStoredMetrics(): void;
}

export interface RotateHandlerDeps extends ReconcileDeps {
  readonly clock?: Clock;
  readonly log?: Log;
  readonly metrics?: MetricsSink;
  /**
   * A run that created the deployment's very first key waits up to this long for the publisher to
   * publish it, then reconciles again to activate it (the lead is waived for the first key only). Without
   * it a new deployment could not sign until the next schedule period — an hour on AWS. Stays below
   * the rotate function's 60 s timeout. 0 disables it.
   * @default 40 s
   */
  readonly bootstrapWaitMs?: number;
  /** @default 500 ms */
  readonly bootstrapPollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether the deployment has never had an ACTIVE key and its first key is still unpublished. */
async function firstKeyUnpublished(deps: RotateHandlerDeps): Promise<'unpublished' | 'published' | 'no'> {
  const { state, keys } = await deps.registry.read();
  if (state.activeKid !== undefined || state.bootstrappedAt !== undefined) return 'no';
  const standby = keys.find((k) => k.keyRef === state.pendingKeyRef);
  if (standby?.status !== 'PENDING') return 'no';
  return standby.publishedAt === undefined ? 'unpublished' : 'published';
}

function merge(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  return {
    actions: [...a.actions, ...b.actions],
    planned: [...a.planned, ...b.planned],
    unknownVaultKeys: b.unknownVaultKeys,
    conflicts: Math.max(a.conflicts, b.conflicts),
    registryVersion: b.registryVersion,
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

export function createRotateHandler(deps: RotateHandlerDeps): (event?: unknown) => Promise<ReconcileResult> {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? silentLog;
  const waitMs = deps.bootstrapWaitMs ?? 40_000;
  const pollMs = deps.bootstrapPollMs ?? 500;
  const sleep = deps.sleep ?? sleepFor;

  const bootstrap = async (first: ReconcileResult): Promise<ReconcileResult> => {
    const deadline = clock() + waitMs;
    for (
      let status = await firstKeyUnpublished(deps);
      status !== 'no';
      status = await firstKeyUnpublished(deps)
    ) {
      if (status === 'published') return merge(first, await reconcile({ ...deps, log }, clock()));
      if (clock() >= deadline) {
        log.warn('first key not published yet; it activates on a later run', { waitedMs: waitMs });
        break;
      }
      await sleep(pollMs);
    }
    return first;
  };

  return async () => {
    try {
      let result = await reconcile({ ...deps, log }, clock());
      if (waitMs > 0 && result.actions.some((a) => a.type === 'createKey')) result = await bootstrap(result);
      for (const key of result.unknownVaultKeys) {
        log.error('vault key tagged for this deployment is unknown to the registry; not deleting it', {
          vaultKeyId: key.vaultKeyId,
          keyRef: key.keyRef,
        });
      }
      deps.metrics?.addMetric(METRIC_NAMES.RECONCILE_SUCCEEDED, 'Count', 1);
      deps.metrics?.addMetric(METRIC_NAMES.UNKNOWN_VAULT_KEYS, 'Count', result.unknownVaultKeys.length);
      deps.metrics?.addMetric(METRIC_NAMES.RECONCILE_CONFLICTS, 'Count', result.conflicts);
      if (deps.metrics) await reportAges(deps, deps.metrics, clock(), log);
      log.info('reconciled', { actions: result.actions.map((a) => a.type), conflicts: result.conflicts });
      return result;
    } finally {
      deps.metrics?.publishStoredMetrics();
    }
  };
}
