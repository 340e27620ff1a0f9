/**
 * The multi-region steps of a reconcile run (ADR 0008), before any lifecycle planning: decide this
 * region's role from the registry it reads, re-assert STATE after a promotion, and roll the regions'
 * publication marks up into `publishedAt`. A region that is not the primary writes nothing at all.
 */
import {
  gateRegions,
  type RegionConfig,
  rollUpPublications,
  type WriterRole,
  writerRole,
} from './core/regions.ts';
import { applyCommit, buildCommit, byAge } from './core/transitions.ts';
import type { Commit, KeyRecord, RegistrySnapshot } from './core/types.ts';
import type { Log, Registry } from './ports.ts';

export interface RegionOutcome extends WriterRole {
  readonly region: string;
  /** Watch mode: lifecycle actions due now that the primary has not taken (0 in the primary). */
  readonly overdueActions: number;
  /** keyRefs this run marked published in every region (primary only). */
  readonly rolledUp: readonly string[];
}

/**
 * A promoted primary may inherit half of the lost primary's last activation: the new ACTIVE record
 * replicated, the old one's retirement not (global tables replicate items, not transactions). Planning
 * refuses two ACTIVE keys, so without this rotation could never resume; the key activated last stays
 * ACTIVE, as the lost transaction intended, and the other is retired now (both stay published).
 */
async function settleTornActivation(
  registry: Registry,
  snapshot: RegistrySnapshot,
  at: () => number,
  log: Log,
): Promise<RegistrySnapshot> {
  const actives = snapshot.keys.filter((k) => k.status === 'ACTIVE');
  if (actives.length < 2) return snapshot;
  // Newest activation first; equal instants: the younger key (what a later transaction made ACTIVE).
  const keep = [...actives].sort(
    (a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0) || byAge(b, a),
  )[0] as KeyRecord;
  const commit = buildCommit(snapshot, { type: 'settleActive', keyRef: keep.keyRef }, at(), {
    changedBy: 'schedule',
    reason: `half-replicated activation: ${keep.kid ?? keep.keyRef} stays ACTIVE, the other ACTIVE keys retire`,
  });
  log.warn('registry held two ACTIVE keys (half of a lost transaction); settled on the newer', {
    keep: keep.kid,
    retired: actives.filter((k) => k !== keep).map((k) => k.kid),
  });
  await registry.commit(commit);
  return applyCommit(snapshot, commit);
}

/**
 * Runs the primary's bookkeeping and returns the snapshot to plan from. In watch mode the snapshot is
 * returned untouched and nothing is written.
 */
export async function prepareRegion(
  registry: Registry,
  snapshot: RegistrySnapshot,
  config: RegionConfig,
  at: () => number,
  log: Log,
): Promise<{ role: WriterRole; snapshot: RegistrySnapshot; rolledUp: string[] }> {
  const role = writerRole(snapshot, config);
  if (role.fencedWrite) {
    log.error('STATE was written by a region fenced off by a promotion', {
      primaryRegion: role.primaryRegion,
      epoch: role.epoch,
      stateRegion: snapshot.state.primaryRegion,
      stateEpoch: snapshot.state.epoch ?? 0,
    });
  }
  if (role.role === 'watch') return { role, snapshot, rolledUp: [] };

  let current = snapshot;
  if (role.reassert) {
    const { registryVersion, ...rest } = current.state;
    const commit: Commit = {
      expectedRegistryVersion: registryVersion,
      keys: [],
      state: { ...rest, primaryRegion: role.primaryRegion, epoch: role.epoch, updatedAt: at() },
      change: {
        changedBy: 'schedule',
        reason: `primary region ${role.primaryRegion} (epoch ${role.epoch}) recorded in STATE`,
      },
    };
    await registry.commit(commit);
    // STATE alone changed, as the commit says: no need to read it back.
    current = applyCommit(current, commit);
  }
  current = await settleTornActivation(registry, current, at, log);

  const marks = rollUpPublications(current, gateRegions(current, config));
  const byInstant = new Map<number, string[]>();
  for (const m of marks) byInstant.set(m.publishedAt, [...(byInstant.get(m.publishedAt) ?? []), m.keyRef]);
  for (const [publishedAt, keyRefs] of byInstant) await registry.markPublished(keyRefs, publishedAt);
  if (marks.length > 0) {
    log.info('keys published in every region', { keyRefs: marks.map((m) => m.keyRef) });
    current = await registry.read();
  }
  return { role, snapshot: current, rolledUp: marks.map((m) => m.keyRef) };
}
