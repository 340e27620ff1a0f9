/**
 * Replication heartbeats (issue 20 §4, ADR 0008). DynamoDB's `ReplicationLatency` exists only while
 * items replicate, and registry writes are rare, so a replica that stopped receiving changes looked
 * exactly like one with nothing to receive. Every region's rotate function therefore writes its own
 * heartbeat item on every run, and reads every other region's heartbeat in its own replica: the age it
 * finds (now − that heartbeat's instant) is the staleness of replication from that region, plus at
 * most one schedule interval. It is reported as `ReplicaHeartbeatAgeSeconds` per source region; the
 * alarm on it treats a missing value as breaching (infra/jwks-alarms.ts).
 */
import type { RegionConfig } from './core/regions.ts';
import type { Log } from './ports.ts';

/** A region's heartbeat items in the registry table (src/adapters/aws/dynamodb-heartbeats.ts). */
export interface HeartbeatStore {
  /** Writes `region`'s heartbeat with instant `at` (never moves it back: a later beat stays). */
  beat(region: string, at: number): Promise<void>;
  /** The heartbeat instants of `regions` in this replica; a region that never beat here is absent. */
  read(regions: readonly string[]): Promise<ReadonlyMap<string, number>>;
}

export interface HeartbeatAge {
  /** The region whose heartbeat it is. */
  readonly region: string;
  /** Seconds since its heartbeat, as this replica has it; undefined when none has arrived yet. */
  readonly ageSeconds: number | undefined;
}

/**
 * Beat for `config.region`, then read every other region's heartbeat. A failed write is logged and the
 * read still happens (the other regions' alarms notice the missing beat); a failed read gives no ages,
 * which the alarm treats as breaching.
 */
export async function heartbeat(
  store: HeartbeatStore,
  config: RegionConfig,
  now: number,
  log: Log,
): Promise<HeartbeatAge[]> {
  try {
    await store.beat(config.region, now);
  } catch (err) {
    log.warn('could not write this region’s heartbeat', { message: (err as Error).message });
  }
  const others = config.regions.filter((r) => r !== config.region);
  let beats: ReadonlyMap<string, number>;
  try {
    beats = await store.read(others);
  } catch (err) {
    log.warn('could not read the other regions’ heartbeats', { message: (err as Error).message });
    return [];
  }
  return others.map((region) => {
    const at = beats.get(region);
    return { region, ageSeconds: at === undefined ? undefined : Math.max(0, now - at) / 1000 };
  });
}
