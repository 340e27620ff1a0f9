/**
 * The regions part of `jwks status` in a multi-region deployment (ADR 0008, issue 20 §6): what an
 * operator needs during an incident. Every region's replica of the registry is read in parallel; the
 * primary, its epoch and the serving set come from the newest promotion any readable replica holds
 * (src/core/regions.ts, the rule the rotate functions follow), and each region shows its registry
 * version, how many commits it is behind the primary's, whether it could be read, and the keys its
 * publisher has served (its own `PUBLISHED#<region>#…` marks, as its replica has them).
 */
import { gateRegions, latestPromotion, type RegionConfig, writerRole } from '../core/regions.ts';
import type { KeyRecord, RegistrySnapshot } from '../core/types.ts';
import { table } from './command.ts';

/** One region's replica of the registry table; `read` fails when the region cannot be reached. */
export interface RegionRegistry {
  readonly region: string;
  read(): Promise<RegistrySnapshot>;
}

export interface RegionStatusView {
  readonly region: string;
  /** Its replica answered. */
  readonly up: boolean;
  readonly primary: boolean;
  /** In the serving set: its publication gates activations. */
  readonly serving: boolean;
  readonly registryVersion?: number;
  /** Commits behind `RegionsView.registryVersion` (0: caught up); absent when it could not be read. */
  readonly lag?: number;
  /** The epoch this replica knows (behind the deployment's while a promotion has not reached it). */
  readonly epoch?: number;
  /** Kids this region's publisher has served that are still published (PENDING, ACTIVE, RETIRED). */
  readonly publishedKids?: string[];
  /** Why it could not be read. */
  readonly error?: string;
}

export interface RegionsView {
  readonly primaryRegion: string;
  readonly epoch: number;
  readonly servingRegions: string[];
  /** The primary's registry version, or the highest any region has when the primary cannot be read. */
  readonly registryVersion: number;
  readonly regions: RegionStatusView[];
}

const PUBLISHED: ReadonlySet<KeyRecord['status']> = new Set(['PENDING', 'ACTIVE', 'RETIRED']);

type Read = { region: string; snapshot: RegistrySnapshot } | { region: string; error: string };

/** Reads every region's replica at once: the slowest region, not the sum, bounds the time. */
export async function readRegions(registries: readonly RegionRegistry[]): Promise<RegionsView> {
  // The deployment's regions, home first; which one this CLI acts in does not matter to the view.
  const regions = registries.map((r) => r.region);
  const config: RegionConfig = { region: regions[0] ?? '', regions };
  const reads: Read[] = await Promise.all(
    registries.map((r) =>
      r.read().then(
        (snapshot): Read => ({ region: r.region, snapshot }),
        (err: unknown): Read => ({
          region: r.region,
          error: err instanceof Error ? err.message : String(err),
        }),
      ),
    ),
  );
  return regionsView(reads, config);
}

const promotionEpoch = (s: RegistrySnapshot) => latestPromotion(s.promotions)?.epoch ?? s.state.epoch ?? 0;

export function regionsView(reads: readonly Read[], config: RegionConfig): RegionsView {
  const readable = reads.flatMap((r) => ('snapshot' in r ? [r] : []));
  // The replica that knows most: the newest promotion, then the most commits.
  const best = [...readable].sort(
    (a, b) =>
      promotionEpoch(b.snapshot) - promotionEpoch(a.snapshot) ||
      b.snapshot.state.registryVersion - a.snapshot.state.registryVersion,
  )[0]?.snapshot ?? { state: { registryVersion: 0 }, keys: [] };
  const { primaryRegion, epoch } = writerRole(best, config);
  const servingRegions = [...gateRegions(best, config)];
  const primaryRead = readable.find((r) => r.region === primaryRegion);
  const registryVersion =
    primaryRead?.snapshot.state.registryVersion ??
    Math.max(0, ...readable.map((r) => r.snapshot.state.registryVersion));
  const regions = reads.map((r): RegionStatusView => {
    const base = {
      region: r.region,
      primary: r.region === primaryRegion,
      serving: servingRegions.includes(r.region),
    };
    if (!('snapshot' in r)) return { ...base, up: false, error: r.error };
    const { state, keys, publications = [] } = r.snapshot;
    const kidOf = new Map(keys.filter((k) => PUBLISHED.has(k.status)).map((k) => [k.keyRef, k.kid]));
    const publishedKids = publications
      .filter((p) => p.region === r.region && kidOf.has(p.keyRef))
      .sort((a, b) => a.publishedAt - b.publishedAt || a.kid.localeCompare(b.kid))
      .map((p) => p.kid);
    return {
      ...base,
      up: true,
      registryVersion: state.registryVersion,
      lag: Math.max(0, registryVersion - state.registryVersion),
      epoch: promotionEpoch(r.snapshot),
      publishedKids,
    };
  });
  return { primaryRegion, epoch, servingRegions, registryVersion, regions };
}

/** The text form: one summary line, then a row per region (kids last, space-separated, copyable). */
export function regionsText(view: RegionsView): string {
  const summary = [
    `primary ${view.primaryRegion}`,
    `epoch ${view.epoch}`,
    `serving ${view.servingRegions.join(',')}`,
  ].join('  ');
  const header = ['REGION', 'UP', 'ROLE', 'SERVING', 'VERSION', 'LAG', 'EPOCH', 'PUBLISHED'];
  const rows = view.regions.map((r) => [
    r.region,
    r.up ? 'up' : 'DOWN',
    r.primary ? 'primary' : 'watch',
    r.serving ? 'yes' : 'no',
    r.registryVersion === undefined ? '-' : String(r.registryVersion),
    r.lag === undefined ? '-' : String(r.lag),
    r.epoch === undefined ? '-' : String(r.epoch),
    r.up ? (r.publishedKids ?? []).join(' ') || '(none)' : `(unreachable: ${r.error})`,
  ]);
  return `${summary}\n${table([header, ...rows])}`;
}
