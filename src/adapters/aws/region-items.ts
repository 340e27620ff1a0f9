/**
 * The multi-region items of the registry partition (ADR 0008) and their strict conversion:
 *
 * - `sk = PUBLISHED#<region>#<keyRef>`: that region's publisher served the key. Only that region writes
 *   it, once, so a global table never sees two writers for the item (last-writer-wins cannot lose one).
 * - `sk = PROMOTION#<epoch>` (epoch zero-padded, so the items sort by epoch): a `promote-region`,
 *   written once. The highest epoch names the primary even if a fenced-off region later overwrote STATE.
 */
import { TABLE } from '../../constants.ts';
import { isRegionName } from '../../core/regions.ts';
import type { Promotion, RegionPublication } from '../../core/types.ts';
import { fail, type Item, num, str } from './registry-items.ts';

export const publicationItemKey = (region: string, keyRef: string) =>
  ({ pk: TABLE.REGISTRY_PARTITION, sk: `${TABLE.PUBLICATION_SORT_PREFIX}${region}#${keyRef}` }) as const;

/** Epochs are zero-padded to 10 digits so that a Query returns promotions in epoch order. */
export const promotionItemKey = (epoch: number) =>
  ({
    pk: TABLE.REGISTRY_PARTITION,
    sk: `${TABLE.PROMOTION_SORT_PREFIX}${String(epoch).padStart(10, '0')}`,
  }) as const;

export function regionName(item: Item, name: string): string {
  const region = str(item, name);
  return isRegionName(region) ? region : fail(`${name} ${JSON.stringify(region)} is not a region name`);
}

function regionList(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0) return fail('servingRegions is not a non-empty list');
  return v.map((r, i) => regionName({ r }, 'r') ?? fail(`servingRegions[${i}]`));
}

export function publicationFromItem(item: Item): RegionPublication {
  const region = regionName(item, 'region');
  const keyRef = str(item, 'keyRef');
  if (item.sk !== publicationItemKey(region, keyRef).sk)
    fail(`sk does not match region ${region} and keyRef`);
  return { region, keyRef, kid: str(item, 'kid'), publishedAt: num(item, 'publishedAt') };
}

export function promotionFromItem(item: Item): Promotion {
  const epoch = num(item, 'epoch');
  if (item.sk !== promotionItemKey(epoch).sk) fail(`sk does not match epoch ${epoch}`);
  return {
    epoch,
    region: regionName(item, 'region'),
    promotedAt: num(item, 'promotedAt'),
    ...(item.servingRegions === undefined ? {} : { servingRegions: regionList(item.servingRegions) }),
    changedBy: str(item, 'changedBy'),
    reason: typeof item.reason === 'string' ? item.reason : fail('reason is not a string'),
  };
}
