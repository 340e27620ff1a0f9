/**
 * Lambda entry of the publisher (DynamoDB Stream, ReportBatchItemFailures). Configuration is read and
 * SDK clients are built once, at cold start; a missing variable fails the cold start with its name.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  createCloudFrontClient,
  createDynamoDbClient,
  createKmsClient,
  createS3Client,
  createSnsClient,
  createTaggingClient,
} from '../adapters/aws/clients.ts';
import { CloudFrontCdn } from '../adapters/aws/cloudfront.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { KmsKeyVault } from '../adapters/aws/kms.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';
import { SnsEventBus } from '../adapters/aws/sns.ts';
import { requireEnv } from '../config.ts';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, PATHS, SERVICE_NAMES } from '../constants.ts';
import { policyFromEnv } from '../regions-env.ts';
import { createPublishHandler } from './publish-handler.ts';
import { ownRegionVault } from './vault-regions.ts';

const env = process.env;
const tableName = requireEnv(env, ENV.TABLE_NAME);
const bucket = requireEnv(env, ENV.BUCKET_NAME);
const distributionId = requireEnv(env, ENV.DISTRIBUTION_ID);
const issuer = requireEnv(env, ENV.ISSUER);
/** The tag value that makes a KMS key this deployment's: only such keys are published (design §11). */
const deploymentName = requireEnv(env, ENV.DEPLOYMENT_NAME);
// The policy with the multi-region rules when REGIONS names several regions (ADR 0008).
const { policy, regions } = policyFromEnv(env);
/** Optional: with a topic, every changed write is announced as `jwks.published` (design §6). */
const topicArn = env[ENV.TOPIC_ARN]?.trim();

const logger = new Logger({ serviceName: SERVICE_NAMES.PUBLISH });
// Names shared with the alarms (infra/jwks-alarms.ts), as in the rotate function.
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAMES.PUBLISH,
  defaultDimensions: { [METRIC_DIMENSIONS.DEPLOYMENT]: deploymentName },
});

export const handler = createPublishHandler({
  registry: new DynamoDbRegistry({ client: createDynamoDbClient(), tableName }),
  store: new S3ObjectStore({ client: createS3Client(), bucket }),
  cdn: new CloudFrontCdn({ client: createCloudFrontClient(), distributionId, log: logger }),
  policy,
  // Multi-region: this region's copy of each key proves the records (ADR 0008).
  vault: new KmsKeyVault({
    kms: createKmsClient(),
    tagging: createTaggingClient(),
    deploymentName,
    ...ownRegionVault(env),
  }),
  issuer,
  // Multi-region: marks go to this region's PUBLISHED# items, never to key items (ADR 0008).
  ...(regions ? { regions } : {}),
  ...(topicArn
    ? {
        events: {
          bus: new SnsEventBus({ client: createSnsClient(), topicArn }),
          jwksUri: `${issuer}${PATHS.JWKS}`,
        },
      }
    : {}),
  log: logger,
  metrics,
});
