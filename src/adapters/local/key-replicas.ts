/**
 * The local vault's multi-region simulation (ADR 0008): a multi-Region key's copies in the other
 * regions' vault directories. A copy is the key's file under the same id (so the same kid) with its own
 * state, as a KMS replica has its own key state; the private key goes from one 0600 file on this
 * machine to another and is never logged.
 */
import { ReplicaNotReadyError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import { ensureKeyDir, type KeyFile, type KeyMeta, keyPath, readKeyFile, writeKeyFile } from './key-files.ts';

/** Another region's vault directory, to copy multi-Region keys into. */
export interface LocalReplicaRegion {
  readonly region: string;
  readonly dir: string;
}

export class LocalReplicas {
  readonly regions: readonly LocalReplicaRegion[];
  readonly #clock: Clock;

  constructor(regions: readonly LocalReplicaRegion[], clock: Clock) {
    this.regions = regions;
    this.#clock = clock;
  }

  /**
   * Copy the key into every region that lacks it (of `only`, when given), as Enabled (ReplicateKey). An
   * existing copy is left alone when Enabled and refused otherwise (REPLICA_NOT_READY), never silently used.
   */
  async copy(file: KeyFile, only?: readonly string[]): Promise<void> {
    const { disabledAt: _disabled, deletionDate: _deletion, ...key } = file;
    for (const { region, dir } of this.regions) {
      if (only && !only.includes(region)) continue;
      const copy = await this.#read(dir, file.vaultKeyId);
      if (copy?.state === 'Enabled') continue;
      if (copy) {
        throw new ReplicaNotReadyError(
          region,
          copy.state,
          `the ${region} copy of ${file.vaultKeyId} is ${copy.state}`,
        );
      }
      await ensureKeyDir(dir);
      await writeKeyFile(dir, { ...key, state: 'Enabled', createdAt: this.#clock() });
    }
  }

  /** Apply `change` to every region's copy of the key; a region without one, or an undefined change, is skipped. */
  async change(vaultKeyId: string, change: (copy: KeyFile) => Partial<KeyMeta> | undefined): Promise<void> {
    for (const { dir } of this.regions) {
      const copy = await this.#read(dir, vaultKeyId);
      const changed = copy && change(copy);
      if (copy && changed) await writeKeyFile(dir, { ...copy, ...changed });
    }
  }

  /** A region's copy; undefined when it has none, or its deletion window has passed (gone, as in KMS). */
  async #read(dir: string, vaultKeyId: string): Promise<KeyFile | undefined> {
    const path = keyPath(dir, vaultKeyId);
    const copy = path === undefined ? undefined : await readKeyFile(path);
    if (copy?.deletionDate !== undefined && copy.deletionDate <= this.#clock()) return undefined;
    return copy;
  }
}
