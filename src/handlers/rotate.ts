/**
 * Lambda entry of the reconciler (EventBridge schedule). Configuration is read and SDK clients are
 * built once, at cold start; a missing variable fails the cold start with its name.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  createDynamoDbClient,
  createKmsClient,
  createS3Client,
  createTaggingClient,
} from '../adapters/aws/clients.ts';
import { DynamoDbHeartbeats } from '../adapters/aws/dynamodb-heartbeats.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { KmsKeyVault } from '../adapters/aws/kms.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';
import { listEnv, requireEnv } from '../config.ts';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, SERVICE_NAMES } from '../constants.ts';
import { InvalidArgumentError } from '../errors.ts';
import { policyFromEnv } from '../regions-env.ts';
import { createRotateHandler } from './rotate-handler.ts';
import { replicatingVault } from './vault-regions.ts';

const env = process.env;
const tableName = requireEnv(env, ENV.TABLE_NAME);
/** The revocation list lives in the JWKS bucket: a revoke that died half-way is finished from it. */
const bucket = requireEnv(env, ENV.BUCKET_NAME);
const deploymentName = requireEnv(env, ENV.DEPLOYMENT_NAME);
const adminRoleArn = requireEnv(env, ENV.KEY_ADMIN_ROLE_ARN);
// The policy with the multi-region rules when REGIONS names several regions (ADR 0008).
const { policy, regions } = policyFromEnv(env);

/** `arn:<partition>:iam::<account>:role/…`: the key policy's account and partition come from our own role. */
const arn = /^arn:([^:]+):iam::(\d{12}):role\//.exec(adminRoleArn);
if (!arn) throw new InvalidArgumentError(`${ENV.KEY_ADMIN_ROLE_ARN} is not an IAM role ARN`);
const account = { partition: arn[1] as string, accountId: arn[2] as string };
/** Multi-region (ADR 0008): REGION_KEY_POLICIES and a KMS client per other region; undefined in one region. */
const multiRegion = replicatingVault(env, { adminRoleArn, ...account });

// Names shared with the alarms (infra/jwks-alarms.ts): an alarm on a metric name or dimension set
// the handler does not write would never fire.
const logger = new Logger({ serviceName: SERVICE_NAMES.ROTATE });
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAMES.ROTATE,
  defaultDimensions: { [METRIC_DIMENSIONS.DEPLOYMENT]: deploymentName },
});

const dynamodb = createDynamoDbClient();
export const handler = createRotateHandler({
  registry: new DynamoDbRegistry({ client: dynamodb, tableName }),
  // Multi-region: only the primary region writes; the others watch (ADR 0008). Every region beats.
  ...(regions ? { regions, heartbeats: new DynamoDbHeartbeats({ client: dynamodb, tableName }) } : {}),
  vault: new KmsKeyVault({
    kms: createKmsClient(),
    tagging: createTaggingClient(),
    deploymentName,
    ...(multiRegion ?? {
      keyPolicy: {
        ...account,
        adminRoleArn,
        signerRoleArns: listEnv(env, ENV.KEY_SIGNER_ROLE_ARNS),
        readerRoleArns: listEnv(env, ENV.KEY_READER_ROLE_ARNS),
      },
    }),
  }),
  store: new S3ObjectStore({ client: createS3Client(), bucket }),
  policy,
  log: logger,
  metrics,
});
