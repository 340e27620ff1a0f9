/**
 * `promote-region` (design §12, ADR 0008): make this region the registry's one writer. It runs in the
 * region being promoted — on AWS in that region's rotate function, with its clock — against that
 * region's replica, so it works while the old primary region is unreachable.
 *
 * The promotion is a PROMOTION#<epoch> item written once plus STATE, in one transaction: the item keeps
 * the decision even if the old primary, cut off, later overwrites STATE (last writer wins on an item);
 * every rotate function follows the newest promotion (core/regions.ts).
 */
import { type RegionConfig, writerRole } from './core/regions.ts';
import type { ChangeContext } from './core/types.ts';
import { InvalidArgumentError } from './errors.ts';
import type { Registry } from './ports.ts';

export interface PromotionResult {
  readonly region: string;
  readonly previousPrimary: string;
  readonly epoch: number;
  readonly registryVersion: number;
}

export async function promoteRegion(
  deps: { readonly registry: Pick<Registry, 'read' | 'promote'>; readonly regions: RegionConfig },
  requested: string,
  change: ChangeContext,
  now: number,
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
  const role = writerRole(snapshot, deps.regions);
  if (role.primaryRegion === region) {
    throw new InvalidArgumentError(`${region} is already the primary region (epoch ${role.epoch})`);
  }
  const epoch = Math.max(role.epoch, snapshot.state.epoch ?? 0) + 1;
  const expectedRegistryVersion = snapshot.state.registryVersion;
  await deps.registry.promote({ region, epoch, expectedRegistryVersion, at: now, change });
  return { region, previousPrimary: role.primaryRegion, epoch, registryVersion: expectedRegistryVersion + 1 };
}
