/**
 * `promote-region` (design §12, ADR 0008): make this region the registry's one writer. It runs in the
 * region being promoted — on AWS in that region's rotate function, with its clock — against that
 * region's replica, so it works while the old primary region is unreachable.
 *
 * The promotion is a PROMOTION#<epoch> item written once plus STATE, in one transaction: the item keeps
 * the decision even if the old primary, cut off, later overwrites STATE (last writer wins on an item);
 * every rotate function follows the newest promotion (core/regions.ts).
 */
import { gateRegions, type RegionConfig, writerRole } from './core/regions.ts';
import type { ChangeContext } from './core/types.ts';
import { InvalidArgumentError } from './errors.ts';
import type { KeyVault, Registry } from './ports.ts';
import { catchUpRegions } from './region-catch-up.ts';

export interface PromotionResult {
  readonly region: string;
  readonly previousPrimary: string;
  readonly epoch: number;
  readonly registryVersion: number;
  /** The regions whose publication gates activations from now on. */
  readonly servingRegions: readonly string[];
}

export interface PromotionDeps {
  readonly registry: Pick<Registry, 'read' | 'promote'>;
  readonly regions: RegionConfig;
  /** Re-admitting an excluded region first brings its key copies level (region-catch-up.ts). */
  readonly vault?: Pick<KeyVault, 'ensureReplicas' | 'disableKey' | 'scheduleDeletion'>;
  readonly deletionWindowDays?: number;
}

export async function promoteRegion(
  deps: PromotionDeps,
  requested: string,
  change: ChangeContext,
  now: number,
  /** Regions left out of the publication gate: the lost ones (a later promotion re-admits them). */
  exclude: readonly string[] = [],
): Promise<PromotionResult> {
  const { region } = deps.regions;
  // The function that runs this is the promoted region's: a request for another region went astray.
  if (requested !== region) {
    throw new InvalidArgumentError(
      `promote-region ${requested} was sent to region ${region}; ask ${requested}'s stack`,
    );
  }
  const snapshot = await deps.registry.read();
  if (snapshot.state.registryVersion === 0) {
    throw new InvalidArgumentError('the registry has no STATE yet: nothing to take over');
  }
  const all = deps.regions.regions;
  for (const r of exclude) {
    if (!all.includes(r))
      throw new InvalidArgumentError(`--exclude ${r}: not one of REGIONS ${all.join(',')}`);
  }
  if (exclude.includes(region)) throw new InvalidArgumentError(`${region} cannot exclude itself`);
  const servingRegions = all.filter((r) => !exclude.includes(r));
  const role = writerRole(snapshot, deps.regions);
  const gate = gateRegions(snapshot, deps.regions);
  const sameSet = gate.join(',') === servingRegions.join(',');
  // Promoting the primary again is how a recovered region is re-admitted to the gate; otherwise a no-op.
  if (role.primaryRegion === region && sameSet) {
    throw new InvalidArgumentError(`${region} is already the primary region (epoch ${role.epoch})`);
  }
  const admitted = servingRegions.filter((r) => !gate.includes(r));
  if (admitted.length > 0 && deps.vault) {
    await catchUpRegions(deps.vault, snapshot, admitted, deps.deletionWindowDays ?? 30);
  }
  const epoch = Math.max(role.epoch, snapshot.state.epoch ?? 0) + 1;
  const expectedRegistryVersion = snapshot.state.registryVersion;
  await deps.registry.promote({
    region,
    epoch,
    expectedRegistryVersion,
    at: now,
    change,
    // Every region: recorded as absent, so a promotion item reads as it did before any exclusion.
    ...(exclude.length > 0 ? { servingRegions } : {}),
  });
  return {
    region,
    previousPrimary: role.primaryRegion,
    epoch,
    registryVersion: expectedRegistryVersion + 1,
    servingRegions,
  };
}
