/**
 * One region of the embedded stack (design §7, ADR 0008): its registry table, bucket, key vault,
 * publisher (the `publish` stream consumer), rotate function and token endpoint — the same handlers
 * and AWS adapters as that region's Lambda functions. The single-region stack is one of these with the
 * names it always had; `REGIONS=2 npm start` runs one per region (stack.ts wires them together).
 *
 * A region that is down (`isUp()` false) behaves as an unreachable AWS region: its bucket fails every
 * call, its stream consumers fail (the poller retries, so nothing is lost and they catch up in order
 * when it returns) and its schedule does not run. Its regional server stops listening (stack.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbClientStore } from '../adapters/aws/dynamodb-clients.ts';
import { DynamoDbHeartbeats } from '../adapters/aws/dynamodb-heartbeats.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { createRegistryTable } from '../adapters/aws/registry-table.ts';
import { LocalKeyVault, type LocalReplicaRegion } from '../adapters/local/key-vault.ts';
import type { RegionConfig } from '../core/regions.ts';
import type { Policy } from '../core/types.ts';
import { publishDiscovery } from '../discovery-publisher.ts';
import type { AuditLog } from '../events/audit-log.ts';
import type { EventBus } from '../events/ports.ts';
import { createEventsHandler } from '../handlers/events-handler.ts';
import { createPublishHandler } from '../handlers/publish-handler.ts';
import { createRotateHandler } from '../handlers/rotate-handler.ts';
import type { Cdn, Log, ObjectStore, Registry } from '../ports.ts';
import { publishJwks } from '../publisher.ts';
import { Signer } from '../signer.ts';
import { regionalAudienceRule } from '../token/assertion-audience.ts';
import { createTokenEndpoint } from '../token/endpoint.ts';
import { tokenRoute } from '../token/node-http.ts';
import { activateOncePublished } from './activate-once-published.ts';
import type { RouteHandler } from './edge-server.ts';
import { RegionDownError } from './origin-group.ts';
import type { StreamConsumer } from './stream-mapping.ts';
import { type StreamWakeup, wakingClientStore, wakingRegistry } from './stream-wakeup.ts';

/**
 * The events consumer's idle read cap. Writes by this process wake the pollers at once, and so do the
 * CLI's through the wake file (wake-file.ts); this bounds how late anything else is seen.
 */
const EVENTS_IDLE_POLL_MAX_MS = 5_000;

export interface RegionNames {
  readonly region: string;
  readonly tableName: string;
  readonly bucket: string;
  readonly keysDir: string;
  readonly checkpointDir: string;
}

export interface RegionStackOptions {
  readonly names: RegionNames;
  /** Several regions: this region's place among them (undefined: the single-region stack). */
  readonly regions?: RegionConfig;
  /** The other regions' vault directories: multi-Region keys are copied into them. */
  readonly replicaVaults?: readonly LocalReplicaRegion[];
  readonly ddb: DynamoDBClient;
  /** This region's bucket (regionalStore(): it fails while the region is down). */
  readonly store: ObjectStore;
  readonly cdn: Cdn;
  readonly policy: Policy;
  readonly issuer: string;
  /** Multi-region: this region's own token endpoint URL (on its regional server). */
  readonly tokenEndpointUrl?: string;
  readonly wakeup: StreamWakeup;
  readonly deploymentName: string;
  readonly log: Log;
  /** The home region's lifecycle events and audit trail (they exist once, as on AWS). */
  readonly events?: { readonly bus: EventBus; readonly audit: AuditLog; readonly jwksUri: string };
  readonly isUp: () => boolean;
  /** Runs this region's reconciler now (its schedule's `runNow`). */
  readonly reconcileNow: () => void;
}

export interface RegionStack {
  readonly names: RegionNames;
  readonly streamArn: string;
  readonly registry: Registry;
  /** The `publish` consumer, and `events` in the home region. */
  readonly consumers: StreamConsumer[];
  readonly token: RouteHandler;
  /** One scheduled run of the rotate function; nothing while the region is down. */
  reconcile(): Promise<unknown>;
}

/** A consumer that fails while the region is down, so its mapping holds the records back. */
function whileUp(region: string, isUp: () => boolean, consumer: StreamConsumer): StreamConsumer {
  return {
    ...consumer,
    handler: async (event) => {
      if (!isUp()) throw new RegionDownError(region);
      return consumer.handler(event);
    },
  };
}

export async function startRegionStack(opts: RegionStackOptions): Promise<RegionStack> {
  const { names, policy, log, wakeup, regions } = opts;
  const { streamArn } = await createRegistryTable(opts.ddb, names.tableName);
  // This process's own writes wake the stream pollers, which otherwise back off while idle.
  const registry = wakingRegistry(
    new DynamoDbRegistry({ client: opts.ddb, tableName: names.tableName }),
    wakeup,
  );
  const { store } = opts;
  const vault = new LocalKeyVault({
    dir: names.keysDir,
    deploymentName: opts.deploymentName,
    ...(opts.replicaVaults?.length ? { replicas: opts.replicaVaults } : {}),
  });
  // The rotate function's; the publisher also invalidates the CDN, which the rotate function never does.
  const rotateDeps = {
    registry,
    store,
    policy,
    vault,
    log,
    // Every region beats and reads the others' heartbeats in its own table (src/heartbeat.ts).
    ...(regions
      ? { regions, heartbeats: new DynamoDbHeartbeats({ client: opts.ddb, tableName: names.tableName }) }
      : {}),
  };
  const deps = { ...rotateDeps, cdn: opts.cdn };

  // The publish consumer runs the reconciler early when a publication ends a window with no ACTIVE key
  // (after an emergency revoke), so the standby activates in seconds.
  const consumers: StreamConsumer[] = [
    {
      name: 'publish',
      handler: activateOncePublished(
        createPublishHandler({
          ...deps,
          issuer: opts.issuer,
          ...(opts.events ? { events: { bus: opts.events.bus, jwksUri: opts.events.jwksUri } } : {}),
        }),
        registry,
        opts.reconcileNow,
      ),
    },
  ];
  if (opts.events) {
    consumers.push({
      name: 'events',
      handler: createEventsHandler({ ...opts.events, log }),
      // Idles longer: the publish mapping, which reads more often, wakes it on records.
      idlePollMaxMs: EVENTS_IDLE_POLL_MAX_MS,
    });
  }

  // A JWKS lost from the object store (or never written) is rebuilt even if no record is pending. The
  // edge URL is the issuer (design §2): a restart on another port republishes the documents.
  await publishJwks(deps, Date.now());
  await publishDiscovery({ store, cdn: opts.cdn, policy, issuer: opts.issuer, log });

  // The token endpoint of this region: the edge routes /oauth2/token to it (design §2). GET goes to the
  // endpoint too, so it gets the OAuth-shaped 405.
  const endpoint = createTokenEndpoint({
    clients: wakingClientStore(
      new DynamoDbClientStore({ client: opts.ddb, tableName: names.tableName }),
      wakeup,
    ),
    // Each region signs with its own copy of the key (a KMS multi-Region replica).
    signer: new Signer({ registry, vault, cacheTtlMs: policy.signerCacheTtl }),
    policy,
    issuer: opts.issuer,
    // Multi-region: this region's own URL as assertion audience, the issuer's at home only.
    ...regionalAudienceRule(regions, opts.tokenEndpointUrl),
    log,
    // Local clients may serve their keys from this machine; the Lambda handler never sets this.
    allowLoopbackJwksUri: true,
  });
  await endpoint.warmUp();

  const rotate = createRotateHandler(rotateDeps);
  return {
    names,
    streamArn,
    registry,
    consumers: consumers.map((c) => (regions ? whileUp(names.region, opts.isUp, c) : c)),
    token: tokenRoute(endpoint),
    reconcile: () => (opts.isUp() ? rotate() : Promise.resolve(undefined)),
  };
}
