/**
 * Multi-region decisions (design §12, ADR 0008), pure: who may write the registry, which keys are
 * published in every region, and whether STATE fell behind a promotion. No I/O here.
 *
 * A global table replicates asynchronously with last-writer-wins per item, so the rules rest on items
 * that have exactly one writer: KEY#/STATE (the primary), PUBLISHED#<region>#… (that region's
 * publisher) and PROMOTION#<epoch> (written once). Nothing here trusts a replica to be current; every
 * rule errs on the side of writing nothing or activating later.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { KeyRecord, Promotion, RegistrySnapshot } from './types.ts';

/** Where a process runs and every region of its deployment (the initial primary first). */
export interface RegionConfig {
  readonly region: string;
  readonly regions: readonly string[];
}

/** AWS region names (`eu-west-1`, `us-gov-west-1`, `ap-southeast-5`). */
const REGION_NAME = /^[a-z]{2,}(-[a-z0-9]+)+$/;

export const isRegionName = (value: unknown): value is string =>
  typeof value === 'string' && REGION_NAME.test(value);

/**
 * Validates REGIONS and the process's own region. Undefined for a single-region deployment (REGIONS
 * unset or one entry), so callers keep exactly their single-region behaviour.
 */
export function parseRegions(list: readonly string[], region: string | undefined): RegionConfig | undefined {
  if (list.length <= 1) return undefined;
  for (const r of list) {
    if (!isRegionName(r))
      throw new InvalidArgumentError(`REGIONS: ${JSON.stringify(r)} is not a region name`);
  }
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('REGIONS: a region is listed twice');
  if (!region || !list.includes(region)) {
    throw new InvalidArgumentError(
      `this region (${region ?? 'unset'}) is not one of REGIONS ${list.join(',')}`,
    );
  }
  return { region, regions: [...list] };
}

export interface WriterRole {
  /** `primary`: this region writes lifecycle changes; `watch`: it only reads and reports. */
  readonly role: 'primary' | 'watch';
  readonly primaryRegion: string;
  readonly epoch: number;
  /**
   * The primary must (re)write STATE's `primaryRegion`/`epoch` before anything else: STATE has not
   * recorded them yet, or a write from a fenced-off region overwrote them after a promotion.
   */
  readonly reassert: boolean;
  /** STATE names an older epoch than the newest promotion: some region wrote after it was fenced off. */
  readonly fencedWrite: boolean;
}

export const latestPromotion = (promotions: readonly Promotion[] = []): Promotion | undefined =>
  promotions.reduce<Promotion | undefined>((top, p) => (top && top.epoch >= p.epoch ? top : p), undefined);

/**
 * Who writes. The newest promotion decides when there is one (a promotion item is written once, so
 * last-writer-wins on STATE cannot take it back); before any promotion, STATE's primary or the first
 * region of REGIONS.
 */
export function writerRole(snapshot: RegistrySnapshot, config: RegionConfig): WriterRole {
  const { state } = snapshot;
  const top = latestPromotion(snapshot.promotions);
  const primaryRegion = top?.region ?? state.primaryRegion ?? (config.regions[0] as string);
  const epoch = top?.epoch ?? state.epoch ?? 0;
  const role = primaryRegion === config.region ? 'primary' : 'watch';
  const stateEpoch = state.epoch ?? 0;
  const fencedWrite = top !== undefined && (stateEpoch < top.epoch || state.primaryRegion !== top.region);
  const reassert = role === 'primary' && (state.primaryRegion !== primaryRegion || stateEpoch !== epoch);
  return { role, primaryRegion, epoch, reassert, fencedWrite };
}

/**
 * The regions whose publication gates an activation: the newest promotion's serving set, else every
 * region of the deployment.
 */
export const gateRegions = (snapshot: RegistrySnapshot, config: RegionConfig): readonly string[] =>
  latestPromotion(snapshot.promotions)?.servingRegions ?? config.regions;

/**
 * The regions a vault call must reach (ADR 0008): the serving set across regions, undefined (the
 * vault's own single region) otherwise. An excluded, lost region never holds the lifecycle up.
 */
export const vaultRegions = (
  snapshot: RegistrySnapshot,
  config: RegionConfig | undefined,
): readonly string[] | undefined => (config ? gateRegions(snapshot, config) : undefined);

/** Statuses whose keys a publisher serves, so their publication can gate an activation. */
const SERVED: ReadonlySet<KeyRecord['status']> = new Set(['PENDING', 'ACTIVE', 'RETIRED']);

/**
 * Keys to mark `publishedAt` now: every region of the deployment has put this key (same kid) in the
 * JWKS of its own bucket. The instant is the latest region's, so the prepublish lead counts from the
 * moment the last region served the key; until then the key is not published anywhere as far as the
 * activation gate is concerned.
 */
export function rollUpPublications(
  snapshot: RegistrySnapshot,
  regions: readonly string[],
): { keyRef: string; publishedAt: number }[] {
  const marks = new Map<string, number>();
  for (const p of snapshot.publications ?? []) marks.set(`${p.region}#${p.keyRef}#${p.kid}`, p.publishedAt);
  const out: { keyRef: string; publishedAt: number }[] = [];
  for (const k of snapshot.keys) {
    if (k.publishedAt !== undefined || k.kid === undefined || !SERVED.has(k.status)) continue;
    const instants = regions.map((r) => marks.get(`${r}#${k.keyRef}#${k.kid}`));
    if (instants.every((at): at is number => at !== undefined)) {
      out.push({ keyRef: k.keyRef, publishedAt: Math.max(...instants) });
    }
  }
  return out;
}

/** The keys among `keyRefs` that `region`'s publisher has not marked yet. */
export function unmarkedInRegion(
  snapshot: RegistrySnapshot,
  region: string,
  keyRefs: readonly string[],
): string[] {
  const marked = new Set(
    (snapshot.publications ?? []).filter((p) => p.region === region).map((p) => p.keyRef),
  );
  return keyRefs.filter((ref) => !marked.has(ref));
}
