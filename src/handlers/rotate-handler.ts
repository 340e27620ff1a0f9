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
  addMetric(name: string, unit: 'Count', value: number): void;
  publishStoredMetrics(): void;
}

export interface RotateHandlerDeps extends ReconcileDeps {
  readonly clock?: Clock;
  readonly log?: Log;
  readonly metrics?: MetricsSink;
}

export function createRotateHandler(deps: RotateHandlerDeps): (event?: unknown) => Promise<ReconcileResult> {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? silentLog;
  return async () => {
    try {
      const result = await reconcile({ ...deps, log }, clock());
      for (const key of result.unknownVaultKeys) {
        log.error('vault key tagged for this deployment is unknown to the registry; not deleting it', {
          vaultKeyId: key.vaultKeyId,
          keyRef: key.keyRef,
        });
      }
      deps.metrics?.addMetric(METRIC_NAMES.RECONCILE_SUCCEEDED, 'Count', 1);
      deps.metrics?.addMetric(METRIC_NAMES.UNKNOWN_VAULT_KEYS, 'Count', result.unknownVaultKeys.length);
      deps.metrics?.addMetric(METRIC_NAMES.RECONCILE_CONFLICTS, 'Count', result.conflicts);
      log.info('reconciled', { actions: result.actions.map((a) => a.type), conflicts: result.conflicts });
      return result;
    } finally {
      deps.metrics?.publishStoredMetrics();
    }
  };
}
