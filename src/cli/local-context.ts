/**
 * The CLI against the local stack (`npm start`): the stack publishes its endpoints in
 * `<dataDir>/stack.json`, and the CLI builds the SAME AWS adapters the handlers use, pointed at them —
 * DynamoDB Local, s3rver, and the edge server's CloudFront-compatible CreateInvalidation route — plus
 * the local key vault on the stack's key directory (design §7: no "if local" inside an adapter).
 */
import { userInfo } from 'node:os';
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../adapters/aws/client-config.ts';
import { DynamoDbClientStore } from '../adapters/aws/dynamodb-clients.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { LocalKeyVault } from '../adapters/local/key-vault.ts';
import { PATHS } from '../constants.ts';
import { parsePolicy } from '../core/policy.ts';
import type { RegionConfig } from '../core/regions.ts';
import type { Policy } from '../core/types.ts';
import { JwksError } from '../errors.ts';
import { type RegionInfo, readStackFile, readStackInfo, type StackInfo } from '../local/data-dir.ts';
import { REGIONS_CONTROL_PATH } from '../local/region-control.ts';
import { S3RVER_CREDENTIALS } from '../local/s3-server.ts';
import { wakingClientStore, wakingRegistry } from '../local/stream-wakeup.ts';
import { wakeFileSignal } from '../local/wake-file.ts';
import type { ObjectStore } from '../ports.ts';
import type { AuditStoreContext } from './commands/audit.ts';
import { type CliContext, fetchJwksFrom } from './context.ts';
import { StackNotFoundError } from './errors.ts';
import { lazyCdn, lazyObjectStore } from './lazy-ports.ts';

/**
 * The embedded servers do not check signatures, but the SDK refuses to sign without credentials, and
 * s3rver accepts only its own access key id. Fixed ones (the stack uses the same) also keep the CLI from
 * picking up, and sending, an operator's real AWS credentials locally.
 */
const LOCAL_CREDENTIALS = S3RVER_CREDENTIALS;

/** The local context also names the audit bucket (s3rver, next to the JWKS bucket) for `jwks audit`. */
export type LocalCliContext = CliContext & AuditStoreContext;

/**
 * The region a multi-region local stack's CLI acts in: the one AWS_REGION names, as against AWS (so
 * `AWS_REGION=eu-west-1 jwks promote-region eu-west-1` reads like its deployed form), else the home
 * region. A single-region stack has one region and ignores AWS_REGION.
 */
function actingRegion(
  info: StackInfo,
  env: NodeJS.ProcessEnv,
): { names: StackInfo | RegionInfo; regions?: RegionConfig } {
  const all = info.regions;
  if (!all || all.length < 2) return { names: info };
  const names = all.find((r) => r.region === env.AWS_REGION?.trim()) ?? (all[0] as RegionInfo);
  return { names, regions: { region: names.region, regions: all.map((r) => r.region) } };
}

type CliEnv = Readonly<Record<string, string | undefined>>;

/**
 * The local context, refused for a simulated region that is down (REGIONS=2 npm start): on AWS the CLI
 * could not reach a lost region either, and acting there would split the registry's one writer.
 */
export async function openLocalContext(dataDir: string, env: CliEnv): Promise<LocalCliContext> {
  const stack = await readStackInfo(dataDir);
  if (!stack) throw notRunning(dataDir);
  const ctx = localContext(dataDir, Date.now, env, stack);
  const region = ctx.regions?.region;
  if (region === undefined) return ctx;
  const base = (ctx.issuer ?? '').replace(/\/+$/, '');
  const status = await fetch(`${base}${REGIONS_CONTROL_PATH}`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => (r.ok ? (r.json() as Promise<{ regions?: { region: string; up: boolean }[] }>) : undefined))
    .catch(() => undefined); // a stack that does not answer fails the command itself, more precisely
  if (status?.regions?.find((r) => r.region === region)?.up === false) {
    ctx.close();
    throw new JwksError(
      'UPSTREAM',
      `region ${region} is down (simulated): act in another region (AWS_REGION=<region>), or bring it back ` +
        `with POST ${REGIONS_CONTROL_PATH}/${region} {"up":true}`,
    );
  }
  return ctx;
}

/** The switchboard's view of the simulated regions (src/local/region-control.ts); empty if it does not answer. */
async function regionsUp(url: string): Promise<ReadonlyMap<string, boolean>> {
  const base = url.replace(/\/+$/, '');
  const status = await fetch(`${base}${REGIONS_CONTROL_PATH}`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => (r.ok ? (r.json() as Promise<{ regions?: { region: string; up: boolean }[] }>) : undefined))
    .catch(() => undefined);
  return new Map((status?.regions ?? []).map((r) => [r.region, r.up]));
}

function notRunning(dataDir: string): StackNotFoundError {
  return new StackNotFoundError(`no local stack running on ${dataDir}: start it with npm start`);
}

/**
 * The context for the stack that `stack` (by default stack.json as written) describes. It does not ask
 * whether that stack still runs: openLocalContext, the CLI's way in, does (readStackInfo).
 */
export function localContext(
  dataDir: string,
  now: () => number = Date.now,
  env: CliEnv = process.env,
  stack: StackInfo | null = readStackFile(dataDir),
): LocalCliContext {
  if (!stack) throw notRunning(dataDir);
  const acting = actingRegion(stack, env);
  // The acting region's table, bucket and vault; the stack's endpoints and edge.
  const info = { ...stack, ...acting.names, url: stack.url };
  const replicas = (stack.regions ?? [])
    .filter((r) => r.region !== info.region)
    .map((r) => ({ region: r.region, dir: r.keysDir }));
  const base = { ...baseClientConfig({ AWS_REGION: info.region }), credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...base, endpoint: info.dynamodbEndpoint });
  // S3 and CloudFront are loaded on first use: `status` and `sign` never need them.
  let s3: S3Client | undefined;
  let cloudfront: CloudFrontClient | undefined;
  const bucket = (name: string) =>
    lazyObjectStore(async () => {
      const { s3Client, S3ObjectStore } = await import('./local-edge-clients.ts');
      s3 ??= s3Client({ ...base, endpoint: info.s3Endpoint, forcePathStyle: true });
      return new S3ObjectStore({ client: s3, bucket: name });
    });
  let policy: Policy | undefined;
  let auditStore: ObjectStore | undefined;
  // Which simulated regions are up, asked once (status reads every region's table with it).
  let upRegions: Promise<ReadonlyMap<string, boolean>> | undefined;
  const isUp = async (region: string): Promise<boolean> => {
    upRegions ??= regionsUp(info.url);
    return (await upRegions).get(region) ?? true;
  };
  const wake = wakeFileSignal(dataDir);
  const jwksUrl = `${info.url.replace(/\/+$/, '')}${PATHS.JWKS}`;
  return {
    // Each write wakes the stack's stream poller through the data dir (wake-file.ts), so the change
    // is published at once although the idle poller reads only every few seconds.
    registry: wakingRegistry(new DynamoDbRegistry({ client: dynamodb, tableName: info.tableName }), wake),
    clients: wakingClientStore(
      new DynamoDbClientStore({ client: dynamodb, tableName: info.tableName }),
      wake,
    ),
    store: bucket(info.bucket),
    cdn: lazyCdn(async () => {
      const { cloudFrontClient, CloudFrontCdn } = await import('./local-edge-clients.ts');
      cloudfront ??= cloudFrontClient({ ...base, endpoint: info.url });
      return new CloudFrontCdn({ client: cloudfront, distributionId: info.distributionId });
    }),
    // A getter: only `audit` needs it, and a stack.json from before events has no audit bucket.
    get auditStore(): ObjectStore {
      if (!info.auditBucket) {
        throw new StackNotFoundError(
          `the stack on ${dataDir} has no audit bucket: restart it with npm start`,
        );
      }
      auditStore ??= bucket(info.auditBucket);
      return auditStore;
    },
    vault: new LocalKeyVault({
      dir: info.keysDir,
      deploymentName: info.deploymentName,
      ...(acting.regions ? { replicas } : {}),
    }),
    ...(acting.regions
      ? {
          regions: acting.regions,
          // A down region's table is not read: on AWS its replica could not be reached either.
          regionRegistries: (stack.regions ?? []).map((r) => ({
            region: r.region,
            async read() {
              if (!(await isUp(r.region))) {
                throw new JwksError('UPSTREAM', `region ${r.region} is down (simulated)`);
              }
              return new DynamoDbRegistry({ client: dynamodb, tableName: r.tableName }).read();
            },
          })),
        }
      : {}),
    get policy(): Policy {
      // Already validated when the stack started; its warnings were printed there.
      policy ??= parsePolicy(info.policy, { multiRegion: acting.regions !== undefined }).policy;
      return policy;
    },
    jwksUrl,
    issuer: info.url.replace(/\/+$/, ''),
    allowLoopbackJwksUri: true,
    changedBy: async () => `cli:${userInfo().username}`,
    fetchJwks: () => fetchJwksFrom(jwksUrl),
    now,
    close() {
      dynamodb.destroy();
      s3?.destroy();
      cloudfront?.destroy();
    },
  };
}
