/**
 * What `REGIONS=2 npm start` adds to the embedded stack (ADR 0008, "On one machine"): each region's
 * own server (its API Gateway stage: the token endpoint and the JWKS path from its own bucket), the
 * global table's replication between the regions' tables, the edge's origin group and token routing,
 * and the switchboard that takes regions down and back.
 *
 * - Regional servers listen on PORT+1, PORT+2, … (or free ports when PORT=0). A region that is down
 *   stops listening (connection refused, as an unreachable region) and listens again when it returns.
 * - The edge (the one issuer) serves the documents from the regions' buckets in REGIONS order, failing
 *   over per request like a CloudFront origin group, and sends `/oauth2/token` to the first region that
 *   is up, as Route 53 latency records with health checks do (docs/deploy.md, tokenDomain).
 * - Replication: src/local/replicator.ts, one per ordered pair of regions, on the source's stream.
 */
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Log, ObjectStore } from '../ports.ts';
import { sendJson } from './edge-responses.ts';
import { EdgeServer, type RouteHandler } from './edge-server.ts';
import type { RegionSwitchboard } from './region-control.ts';
import type { RegionNames } from './region-stack.ts';
import { replicatorConsumers } from './replicator.ts';
import type { StreamConsumer } from './stream-mapping.ts';
import type { StreamWakeup } from './stream-wakeup.ts';

/** Table, bucket and directories of each region; the single-region stack keeps its historic names. */
export function regionLayout(
  dataDir: string,
  regions: readonly string[],
  single: { tableName: string; bucket: string },
): RegionNames[] {
  if (regions.length === 1) {
    return [
      {
        region: regions[0] as string,
        ...single,
        keysDir: join(dataDir, 'keys'),
        checkpointDir: join(dataDir, 'checkpoints'),
      },
    ];
  }
  return regions.map((region) => ({
    region,
    tableName: `${single.tableName}-${region}`,
    bucket: `${single.bucket}-${region}`,
    keysDir: join(dataDir, 'regions', region, 'keys'),
    checkpointDir: join(dataDir, 'regions', region, 'checkpoints'),
  }));
}

/** One server per region, listening before the slow parts start (a taken port fails fast). */
export async function startRegionalServers(opts: {
  layout: readonly RegionNames[];
  stores: readonly ObjectStore[];
  edgePort: number;
  log: Log;
}): Promise<EdgeServer[]> {
  const servers: EdgeServer[] = [];
  try {
    for (const [i, names] of opts.layout.entries()) {
      const server = new EdgeServer({
        store: opts.stores[i] as ObjectStore,
        port: opts.edgePort === 0 ? 0 : opts.edgePort + 1 + i,
        log: opts.log,
        // API Gateway's S3 integration has no cache: every request reads the region's own bucket.
        maxTtlMs: 0,
        defaultTtlMs: 0,
      });
      await server.start();
      servers.push(server);
      opts.log.info('regional endpoint', { region: names.region, url: server.url });
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  return servers;
}

/**
 * `/oauth2/token` on the edge: the first region that is up answers (a health-checked DNS failover).
 * With every region down, an RFC 6749-shaped 503.
 */
export function failoverTokenRoute(
  switchboard: RegionSwitchboard,
  tokenRoutes: ReadonlyMap<string, RouteHandler>,
): RouteHandler {
  return (req, res) => {
    const region = switchboard.regions.find((r) => switchboard.isUp(r));
    const route = region === undefined ? undefined : tokenRoutes.get(region);
    if (!route) {
      return sendJson(req, res, 503, {
        error: 'temporarily_unavailable',
        error_description: 'no region is available',
      });
    }
    return route(req, res);
  };
}

/**
 * The replicators on `from`'s stream: one to each other region. After a replicated batch the pollers
 * are woken, so the target region's publisher reads the change at once instead of at its idle poll.
 */
export function replicatorsFrom(opts: {
  from: RegionNames;
  layout: readonly RegionNames[];
  ddb: DynamoDBClient;
  switchboard: RegionSwitchboard;
  wakeup: StreamWakeup;
  log: Log;
}): StreamConsumer[] {
  const { from, switchboard } = opts;
  return opts.layout
    .filter((to) => to.region !== from.region)
    .flatMap((to) => {
      const [clock, replicator] = replicatorConsumers({
        name: `replicate-to-${to.region}`,
        target: opts.ddb,
        targetTable: to.tableName,
        lagMs: () => switchboard.lagMs,
        reachable: () => switchboard.isUp(from.region) && switchboard.isUp(to.region),
        log: opts.log,
      });
      return [
        clock,
        {
          ...replicator,
          handler: async (event) => {
            await replicator.handler(event);
            opts.wakeup.notify();
          },
        },
      ];
    });
}
