/**
 * The embedded stack (design §7): the same handlers and AWS adapters as in Lambda, against DynamoDB
 * Local, s3rver, fauxqs (SNS/SQS) and the local edge, plus the node:crypto key vault. Start order:
 * s3rver, then the edge (a taken port fails fast, before the slow JVM start), the SNS emulator and its
 * topic, then DynamoDB Local, the table, the stream poller (two consumers, `publish` and `events`, as
 * the two Lambda event source mappings) and the reconciler.
 */
import { join } from 'node:path';
import {
  createCloudFrontClient,
  createDynamoDbClient,
  createDynamoDbStreamsClient,
  createS3Client,
  createSnsClient,
  type Env,
} from '../adapters/aws/clients.ts';
import { CloudFrontCdn } from '../adapters/aws/cloudfront.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';
import { SnsEventBus } from '../adapters/aws/sns.ts';
import { FanoutEventBus } from '../adapters/local/webhook.ts';
import { PATHS } from '../constants.ts';
import { AuditLog } from '../events/audit-log.ts';
import type { Log, ObjectStore } from '../ports.ts';
import type { LocalConfig } from './config.ts';
import { removeStackInfo, type StackInfo, writeStackInfo } from './data-dir.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { type EarlyStart, lockForStack } from './early-start.ts';
import { EdgeServer } from './edge-server.ts';
import { localSinks, useEmbeddedEndpoints } from './embedded-env.ts';
import { createInvalidationRoute, INVALIDATION_PATH, LOCAL_DISTRIBUTION_ID } from './invalidation-api.ts';
import { failoverTokenRoute, regionLayout, replicatorsFrom, startRegionalServers } from './multi-region.ts';
import { originGroup, regionalStore } from './origin-group.ts';
import { HOME_REGION } from './region-config.ts';
import { RegionSwitchboard } from './region-control.ts';
import { type RegionNames, type RegionStack, startRegionStack } from './region-stack.ts';
import { type RunningS3Server, startS3Server } from './s3-server.ts';
import { ensureTopic, type RunningSnsServer, startSnsServer } from './sns-server.ts';
import { StreamPoller } from './stream-poller.ts';
import { StreamWakeup } from './stream-wakeup.ts';
import { Ticker } from './ticker.ts';
import { watchWakeFile } from './wake-file.ts';

export { EVENTS_WEBHOOK_URL_ENV } from './embedded-env.ts';

export const LOCAL = {
  REGION: HOME_REGION,
  TABLE_NAME: 'jwks-registry',
  BUCKET: 'jwks-publisher',
  /** The audit trail (design §6). s3rver has no Object Lock: locally only the hash chain guards it. */
  AUDIT_BUCKET: 'jwks-audit',
  TOPIC_NAME: 'jwks-events',
  DEPLOYMENT_NAME: 'local',
} as const;

/**
 * Idle read cap of the publish consumer (and the replicators). Writes by this process wake the poller at
 * once, and so do the CLI's through the wake file (wake-file.ts); this bounds only how late a write by
 * anything else is seen, and sets what an idle stack costs (each read is work for DynamoDB Local's JVM).
 */
const PUBLISH_IDLE_POLL_MAX_MS = 2_000;

export interface LocalStack {
  readonly url: string;
  readonly info: StackInfo;
  /**
   * The kids that must be served once the stack has settled: the ACTIVE key and its PENDING standby;
   * undefined while there is no ACTIVE key or the standby is still being created (readiness).
   */
  settledKids(): Promise<string[] | undefined>;
  stop(): Promise<void>;
}

export async function startLocalStack(
  config: LocalConfig,
  log: Log,
  env: Env = process.env,
  /** The lock and the JVM, when the caller started them already (main.ts, early-start.ts). */
  early?: EarlyStart,
): Promise<LocalStack> {
  const sinks = localSinks(env);
  const lock = early?.lock ?? (await lockForStack(config.dataDir, log));
  // Released last: a stack starting on this data dir meanwhile waits for it (markStopping).
  const cleanups: Array<() => Promise<void> | void> = [() => lock.release()];
  const stop = async () => {
    lock.markStopping();
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.error('local stack: cleanup failed', { error: err });
      }
    }
  };
  const multi = config.regions.length > 1;
  const layout = regionLayout(config.dataDir, config.regions, {
    tableName: LOCAL.TABLE_NAME,
    bucket: LOCAL.BUCKET,
  });
  try {
    // The JVM's start is most of the stack's: it runs while s3rver, the edge and fauxqs start here
    // (and, from `npm start`, while this module loaded: early-start.ts).
    // Stopped on the way out even when something else fails first (its rejection, if any, is
    // handled here and surfaces where it is awaited).
    const dynamodbStarting = early?.dynamodb ?? startDynamoDbLocal({ dir: join(config.dataDir, 'dynamodb') });
    cleanups.push(async () => {
      const started = await dynamodbStarting.catch(() => undefined);
      await started?.stop();
    });
    const s3: RunningS3Server = await startS3Server({
      dir: join(config.dataDir, 's3'),
      buckets: [...layout.map((r) => r.bucket), LOCAL.AUDIT_BUCKET],
    });
    cleanups.push(() => s3.stop());
    useEmbeddedEndpoints({ s3: s3.endpoint });
    const s3Client = createS3Client();
    cleanups.push(() => s3Client.destroy());
    const audit = new AuditLog({
      store: new S3ObjectStore({ client: s3Client, bucket: LOCAL.AUDIT_BUCKET }),
    });

    // Several regions: each region's bucket fails while the region is down (the switchboard's servers
    // follow once they exist), and the edge reads them as an origin group.
    const regionalServers: EdgeServer[] = [];
    const switchboard = new RegionSwitchboard({
      regions: config.regions,
      lagMs: config.replicationLagMs,
      policy: config.policy,
      onChange: async (region, up) => {
        const server = regionalServers[config.regions.indexOf(region)];
        if (server) await (up ? server.start() : server.stop());
      },
      log,
    });
    const stores = layout.map((r) => {
      const bucket = new S3ObjectStore({ client: s3Client, bucket: r.bucket });
      return multi ? regionalStore(r.region, bucket, () => switchboard.isUp(r.region)) : bucket;
    });
    const edge = new EdgeServer({
      store: multi ? originGroup(stores) : (stores[0] as ObjectStore),
      port: config.port,
      log,
      maxTtlMs: config.policy.cdnMaxTtl,
    });
    edge.route('POST', INVALIDATION_PATH, createInvalidationRoute(edge.cdn));
    const { url } = await edge.start();
    cleanups.push(() => edge.stop());
    const jwksUri = `${url.replace(/\/+$/, '')}${PATHS.JWKS}`;
    if (multi) {
      regionalServers.push(...(await startRegionalServers({ layout, stores, edgePort: config.port, log })));
      cleanups.push(() => Promise.all(regionalServers.map((s) => s.stop())).then(() => undefined));
      for (const [method, path, handler] of switchboard.routes()) edge.route(method, path, handler);
    }

    const sns: RunningSnsServer = await startSnsServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => sns.stop());
    useEmbeddedEndpoints({ sns: sns.endpoint });
    const snsClient = createSnsClient();
    cleanups.push(() => snsClient.destroy());
    // fauxqs keeps nothing across restarts: the topic is (re)created at every start; CreateTopic is idempotent.
    const topicArn = await ensureTopic(snsClient, LOCAL.TOPIC_NAME);
    const bus = new FanoutEventBus([
      new SnsEventBus({ client: snsClient, topicArn }),
      sinks.lines,
      ...(sinks.webhook ? [sinks.webhook] : []),
    ]);

    const dynamodb: DynamoDbLocal = await dynamodbStarting;
    useEmbeddedEndpoints({ dynamodb: dynamodb.endpoint, edge: url });
    const ddb = createDynamoDbClient();
    const streams = createDynamoDbStreamsClient();
    // This process's own writes wake the stream pollers, which otherwise back off while idle.
    const wakeup = new StreamWakeup();
    const cdn = new CloudFrontCdn({
      client: createCloudFrontClient(),
      distributionId: LOCAL_DISTRIBUTION_ID,
    });

    const tickers: Ticker[] = [];
    const regions: RegionStack[] = [];
    for (const [i, names] of layout.entries()) {
      regions.push(
        await startRegionStack({
          names,
          ...(multi
            ? {
                regions: { region: names.region, regions: config.regions },
                replicaVaults: layout
                  .filter((r) => r.region !== names.region)
                  .map((r) => ({ region: r.region, dir: r.keysDir })),
              }
            : {}),
          ddb,
          store: stores[i] as ObjectStore,
          cdn,
          policy: config.policy,
          issuer: url,
          ...(multi
            ? { tokenEndpointUrl: `${regionalServers[i]?.url?.replace(/\/+$/, '')}${PATHS.TOKEN}` }
            : {}),
          wakeup,
          deploymentName: LOCAL.DEPLOYMENT_NAME,
          log,
          // Lifecycle events and the audit trail exist once, in the home region (as on AWS).
          ...(i === 0 ? { events: { bus, audit, jwksUri } } : {}),
          isUp: () => switchboard.isUp(names.region),
          reconcileNow: () => void tickers[i]?.runNow(),
        }),
      );
    }
    for (const region of regions) {
      const poller = new StreamPoller({
        client: streams,
        streamArn: region.streamArn,
        checkpointDir: region.names.checkpointDir,
        wakeup,
        idlePollMaxMs: PUBLISH_IDLE_POLL_MAX_MS,
        // A region that returns catches up within seconds, not the default backoff's 10.
        ...(multi ? { retryMaxMs: 2_000 } : {}),
        consumers: [
          ...region.consumers,
          ...(multi ? replicatorsFrom({ from: region.names, layout, ddb, switchboard, wakeup, log }) : []),
        ],
        log,
      });
      poller.start();
      cleanups.push(() => poller.stop());
    }
    cleanups.push(watchWakeFile(config.dataDir, wakeup, log));

    // The token endpoint on the edge's port, as CloudFront routes /oauth2/token (design §2); several
    // regions: each on its own server too, and the edge's goes to the first region that is up.
    const tokenRoutes = new Map(regions.map((r) => [r.names.region, r.token]));
    const token = multi ? failoverTokenRoute(switchboard, tokenRoutes) : (regions[0] as RegionStack).token;
    edge.route('POST', PATHS.TOKEN, token).route('GET', PATHS.TOKEN, token);
    for (const [i, server] of regionalServers.entries()) {
      const regional = (regions[i] as RegionStack).token;
      server.route('POST', PATHS.TOKEN, regional).route('GET', PATHS.TOKEN, regional);
    }

    for (const region of regions) {
      const ticker = new Ticker(config.reconcileIntervalMs, () => region.reconcile(), log);
      tickers.push(ticker);
      ticker.start();
      cleanups.push(() => ticker.stop());
    }

    const home = layout[0] as RegionNames;
    const info: StackInfo = {
      pid: process.pid,
      url,
      region: home.region,
      dynamodbEndpoint: dynamodb.endpoint,
      s3Endpoint: s3.endpoint,
      snsEndpoint: sns.endpoint,
      topicArn,
      auditBucket: LOCAL.AUDIT_BUCKET,
      tableName: home.tableName,
      bucket: home.bucket,
      distributionId: LOCAL_DISTRIBUTION_ID,
      deploymentName: LOCAL.DEPLOYMENT_NAME,
      keysDir: home.keysDir,
      policy: config.policyInput,
      ...(multi
        ? {
            regions: layout.map((r, i) => ({
              region: r.region,
              url: regionalServers[i]?.url as string,
              tableName: r.tableName,
              bucket: r.bucket,
              keysDir: r.keysDir,
            })),
          }
        : {}),
    };
    writeStackInfo(config.dataDir, info);
    cleanups.push(() => removeStackInfo(config.dataDir));
    return { url, info, stop, settledKids: () => settledKids(regions) };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The ACTIVE key and its PENDING standby, once every region's registry names the same ones; undefined
 * until then. Whether each region serves them is readiness's check, over HTTP (main.ts).
 */
async function settledKids(regions: readonly RegionStack[]): Promise<string[] | undefined> {
  let settled: string[] | undefined;
  for (const region of regions) {
    const { state, keys } = await region.registry.read();
    const standby = keys.find((k) => k.keyRef === state.pendingKeyRef);
    if (!state.activeKid || standby?.status !== 'PENDING' || !standby.kid) return undefined;
    const kids = [state.activeKid, standby.kid];
    if (settled && settled.join() !== kids.join()) return undefined;
    settled = kids;
  }
  return settled;
}
