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
import type { Policy } from '../core/types.ts';
import { readStackInfo } from '../local/data-dir.ts';
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

export function localContext(dataDir: string, now: () => number = Date.now): LocalCliContext {
  const info = readStackInfo(dataDir);
  if (!info) throw new StackNotFoundError(`no local stack running on ${dataDir}: start it with npm start`);
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
    vault: new LocalKeyVault({ dir: info.keysDir, deploymentName: info.deploymentName }),
    get policy(): Policy {
      // Already validated when the stack started; its warnings were printed there.
      policy ??= parsePolicy(info.policy).policy;
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
