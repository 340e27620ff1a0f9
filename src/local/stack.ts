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
import { DynamoDbClientStore } from '../adapters/aws/dynamodb-clients.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { createRegistryTable } from '../adapters/aws/registry-table.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';
import { SnsEventBus } from '../adapters/aws/sns.ts';
import { LocalKeyVault } from '../adapters/local/key-vault.ts';
import { ConsoleEventBus, FanoutEventBus, WebhookEventBus } from '../adapters/local/webhook.ts';
import { PATHS } from '../constants.ts';
import { publishDiscovery } from '../discovery-publisher.ts';
import { ConfigError, InvalidArgumentError } from '../errors.ts';
import { AuditLog } from '../events/audit-log.ts';
import type { EventBus } from '../events/ports.ts';
import { createEventsHandler } from '../handlers/events-handler.ts';
import { createPublishHandler } from '../handlers/publish-handler.ts';
import { createRotateHandler } from '../handlers/rotate-handler.ts';
import type { Log } from '../ports.ts';
import { publishJwks } from '../publisher.ts';
import { Signer } from '../signer.ts';
import { createTokenEndpoint } from '../token/endpoint.ts';
import { tokenRoute } from '../token/node-http.ts';
import { activateOncePublished } from './activate-once-published.ts';
import type { LocalConfig } from './config.ts';
import { lockDataDir, removeStackInfo, type StackInfo, writeStackInfo } from './data-dir.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { EdgeServer } from './edge-server.ts';
import { createInvalidationRoute, INVALIDATION_PATH, LOCAL_DISTRIBUTION_ID } from './invalidation-api.ts';
import { type RunningS3Server, S3RVER_CREDENTIALS, startS3Server } from './s3-server.ts';
import { ensureTopic, type RunningSnsServer, startSnsServer } from './sns-server.ts';
import { StreamPoller } from './stream-poller.ts';
import { StreamWakeup, wakingClientStore, wakingRegistry } from './stream-wakeup.ts';
import { Ticker } from './ticker.ts';
import { watchWakeFile } from './wake-file.ts';

export const LOCAL = {
  REGION: 'us-east-1',
  TABLE_NAME: 'jwks-registry',
  BUCKET: 'jwks-publisher',
  /** The audit trail (design §6). s3rver has no Object Lock: locally only the hash chain guards it. */
  AUDIT_BUCKET: 'jwks-audit',
  TOPIC_NAME: 'jwks-events',
  DEPLOYMENT_NAME: 'local',
} as const;

/**
 * Optional: lifecycle events are also POSTed here (design §7). Local-only, hence not in
 * src/constants.ts's ENV (which names what the Lambda handlers read).
 */
/**
 * Idle read caps of the stream consumers. Writes by this process wake the poller at once, and so do the
 * CLI's through the wake file (wake-file.ts); these bound only how late a write by anything else is
 * seen, and set what an idle stack costs (each read is work for DynamoDB Local's JVM).
 */
const PUBLISH_IDLE_POLL_MAX_MS = 2_000;
const EVENTS_IDLE_POLL_MAX_MS = 5_000;

export const EVENTS_WEBHOOK_URL_ENV = 'EVENTS_WEBHOOK_URL';

/**
 * The event sinks of the local stack: SNS (fauxqs) for subscribers, JSON lines on stderr (stdout
 * carries only the `ready` line), and the webhook when configured. Built before anything starts, so
 * a bad URL fails as configuration (exit 2) without starting a server.
 */
function localSinks(env: Env): { webhook: EventBus | undefined; lines: EventBus } {
  const lines = new ConsoleEventBus({ write: (line) => void process.stderr.write(line) });
  const url = env[EVENTS_WEBHOOK_URL_ENV]?.trim();
  if (!url) return { webhook: undefined, lines };
  try {
    return { webhook: new WebhookEventBus({ url }), lines };
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new ConfigError(EVENTS_WEBHOOK_URL_ENV, `${EVENTS_WEBHOOK_URL_ENV}: ${err.message}`, {
      cause: err,
    });
  }
}

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

/** Point the SDK at the embedded servers through its standard settings (no adapter knows). */
function useEmbeddedEndpoints(endpoints: {
  dynamodb?: string;
  s3?: string;
  edge?: string;
  sns?: string;
}): void {
  // Static credentials the embedded servers accept (s3rver knows only this key): the stack never
  // reaches AWS, so whatever credentials the user's shell has are not even looked at.
  process.env.AWS_REGION = LOCAL.REGION;
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  if (endpoints.dynamodb) {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
    process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = endpoints.dynamodb;
  }
  if (endpoints.s3) process.env.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  if (endpoints.edge) process.env.AWS_ENDPOINT_URL_CLOUDFRONT = endpoints.edge;
  if (endpoints.sns) {
    // fauxqs serves both protocols on one port; SQS is for subscribers (and the e2e test), not the stack.
    process.env.AWS_ENDPOINT_URL_SNS = endpoints.sns;
    process.env.AWS_ENDPOINT_URL_SQS = endpoints.sns;
  }
}

export async function startLocalStack(
  config: LocalConfig,
  log: Log,
  env: Env = process.env,
): Promise<LocalStack> {
  const sinks = localSinks(env);
  const releaseLock = lockDataDir(config.dataDir);
  const cleanups: Array<() => Promise<void> | void> = [releaseLock];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.error('local stack: cleanup failed', { error: err });
      }
    }
  };
  try {
    const s3: RunningS3Server = await startS3Server({
      dir: join(config.dataDir, 's3'),
      buckets: [LOCAL.BUCKET, LOCAL.AUDIT_BUCKET],
    });
    cleanups.push(() => s3.stop());
    useEmbeddedEndpoints({ s3: s3.endpoint });
    const s3Client = createS3Client();
    cleanups.push(() => s3Client.destroy());
    const store = new S3ObjectStore({ client: s3Client, bucket: LOCAL.BUCKET });
    const audit = new AuditLog({
      store: new S3ObjectStore({ client: s3Client, bucket: LOCAL.AUDIT_BUCKET }),
    });

    const edge = new EdgeServer({ store, port: config.port, log, maxTtlMs: config.policy.cdnMaxTtl });
    edge.route('POST', INVALIDATION_PATH, createInvalidationRoute(edge.cdn));
    const { url } = await edge.start();
    cleanups.push(() => edge.stop());
    const jwksUri = `${url.replace(/\/+$/, '')}${PATHS.JWKS}`;

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

    const dynamodb: DynamoDbLocal = await startDynamoDbLocal({ dir: join(config.dataDir, 'dynamodb') });
    cleanups.push(() => dynamodb.stop());
    useEmbeddedEndpoints({ dynamodb: dynamodb.endpoint, edge: url });

    const ddb = createDynamoDbClient();
    const { streamArn } = await createRegistryTable(ddb, LOCAL.TABLE_NAME);
    // This process's own writes wake the stream poller, which otherwise backs off while idle.
    const wakeup = new StreamWakeup();
    const registry = wakingRegistry(
      new DynamoDbRegistry({ client: ddb, tableName: LOCAL.TABLE_NAME }),
      wakeup,
    );
    const vault = new LocalKeyVault({
      dir: join(config.dataDir, 'keys'),
      deploymentName: LOCAL.DEPLOYMENT_NAME,
    });
    const cdn = new CloudFrontCdn({
      client: createCloudFrontClient(),
      distributionId: LOCAL_DISTRIBUTION_ID,
    });
    const policy = config.policy;

    // The reconciler's schedule; the publish consumer runs it early when a publication ends a window
    // with no ACTIVE key (after an emergency revoke), so the standby activates in seconds.
    let ticker: Ticker | undefined;
    const poller = new StreamPoller({
      client: createDynamoDbStreamsClient(),
      streamArn,
      checkpointDir: join(config.dataDir, 'checkpoints'),
      wakeup,
      idlePollMaxMs: PUBLISH_IDLE_POLL_MAX_MS,
      consumers: [
        {
          name: 'publish',
          handler: activateOncePublished(
            createPublishHandler({
              registry,
              store,
              cdn,
              policy,
              vault,
              log,
              issuer: url,
              events: { bus, jwksUri },
            }),
            registry,
            () => ticker?.runNow(),
          ),
        },
        {
          name: 'events',
          handler: createEventsHandler({ bus, audit, jwksUri, log }),
          // Idles longer: the publish mapping, which reads every 500 ms at most, wakes it on records.
          idlePollMaxMs: EVENTS_IDLE_POLL_MAX_MS,
        },
      ],
      log,
    });
    // A JWKS lost from the object store (or never written) is rebuilt even if no record is pending.
    await publishJwks({ registry, store, cdn, policy, vault, log }, Date.now());
    // The edge URL is the issuer (design §2): a restart on another port republishes the documents.
    await publishDiscovery({ store, cdn, policy, issuer: url, log });
    poller.start();
    cleanups.push(() => poller.stop());
    cleanups.push(watchWakeFile(config.dataDir, wakeup, log));

    // The token endpoint on the edge's port, as CloudFront routes /oauth2/token (design §2). GET goes
    // to the endpoint too, so it gets the OAuth-shaped 405.
    const endpoint = createTokenEndpoint({
      clients: wakingClientStore(
        new DynamoDbClientStore({ client: ddb, tableName: LOCAL.TABLE_NAME }),
        wakeup,
      ),
      signer: new Signer({ registry, vault, cacheTtlMs: policy.signerCacheTtl }),
      policy,
      issuer: url,
      log,
      // Local clients may serve their keys from this machine; the Lambda handler never sets this.
      allowLoopbackJwksUri: true,
    });
    await endpoint.warmUp();
    const token = tokenRoute(endpoint);
    edge.route('POST', PATHS.TOKEN, token).route('GET', PATHS.TOKEN, token);

    const rotate = createRotateHandler({ registry, vault, store, policy, log });
    ticker = new Ticker(config.reconcileIntervalMs, () => rotate(), log);
    ticker.start();
    cleanups.push(() => ticker.stop());

    const info: StackInfo = {
      pid: process.pid,
      url,
      region: LOCAL.REGION,
      dynamodbEndpoint: dynamodb.endpoint,
      s3Endpoint: s3.endpoint,
      snsEndpoint: sns.endpoint,
      topicArn,
      auditBucket: LOCAL.AUDIT_BUCKET,
      tableName: LOCAL.TABLE_NAME,
      bucket: LOCAL.BUCKET,
      distributionId: LOCAL_DISTRIBUTION_ID,
      deploymentName: LOCAL.DEPLOYMENT_NAME,
      keysDir: join(config.dataDir, 'keys'),
      policy: config.policyInput,
    };
    writeStackInfo(config.dataDir, info);
    cleanups.push(() => removeStackInfo(config.dataDir));
    const settledKids = async () => {
      const { state, keys } = await registry.read();
      const standby = keys.find((k) => k.keyRef === state.pendingKeyRef);
      if (!state.activeKid || standby?.status !== 'PENDING' || !standby.kid) return undefined;
      return [state.activeKid, standby.kid];
    };
    return { url, info, stop, settledKids };
  } catch (err) {
    await stop();
    throw err;
  }
}
