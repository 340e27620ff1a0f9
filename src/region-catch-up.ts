/**
 * Re-admitting a region an operator excluded after losing it (ADR 0008, `promote-region` without
 * `--exclude`). While it was out, the primary created keys without copies there (KMS could not reach
 * it) and retired keys without reaching its copies. Its publisher proves every key against its own
 * region's copy (design §11), so without this it would leave the newer keys out of its JWKS, and its
 * token function could still sign with a copy the others disabled.
 *
 * So before the promotion that re-admits it is written, its vault is brought level with the registry:
 * a copy of every key that is still served (PENDING, ACTIVE, RETIRED), and every retirement the
 * registry records (disabled, deletion scheduled) applied to its copies. All of it is idempotent; if the
 * region cannot be reached the promotion fails and nothing is admitted.
 */
import type { RegistrySnapshot } from './core/types.ts';
import { JwksError, ReplicaNotReadyError } from './errors.ts';
import type { KeyVault } from './ports.ts';

const SERVED = new Set(['PENDING', 'ACTIVE', 'RETIRED']);

export async function catchUpRegions(
  vault: Pick<KeyVault, 'ensureReplicas' | 'disableKey' | 'scheduleDeletion'>,
  snapshot: RegistrySnapshot,
  regions: readonly string[],
  deletionWindowDays: number,
): Promise<void> {
  try {
    for (const key of snapshot.keys) {
      const id = key.vaultKeyId;
      if (!id) continue;
      const retired = key.disabledAt !== undefined || key.deletionScheduledAt !== undefined;
      if (SERVED.has(key.status)) {
        try {
          await vault.ensureReplicas(id, regions);
        } catch (err) {
          // A retired key's copy there was disabled before the region was lost: what it should be.
          if (!(retired && err instanceof ReplicaNotReadyError)) throw err;
        }
      }
      if (key.deletionScheduledAt !== undefined)
        await vault.scheduleDeletion(id, deletionWindowDays, regions);
      else if (key.disabledAt !== undefined) await vault.disableKey(id, regions);
    }
  } catch (err) {
    const code = err instanceof JwksError ? err.code : 'UPSTREAM';
    const message = err instanceof Error ? err.message : String(err);
    throw new JwksError(code, `cannot re-admit ${regions.join(', ')}: its key copies: ${message}`, {
      cause: err,
    });
  }
}
