/**
 * The one place AWS SDK v3 clients are built, for the Lambda handlers, the CLI and the local stack.
 * Build each client once (module scope in a handler) and pass it to the adapters.
 *
 * Nothing here knows about the local stack except S3 path-style addressing (below): the SDK itself
 * reads `AWS_ENDPOINT_URL_<SERVICE_ID>` (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`,
 * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SNS`, …) and `AWS_ENDPOINT_URL` from `process.env` when a
 * client sends its first request, so the same adapters reach DynamoDB Local, s3rver and fauxqs
 * without a "local" branch (test/adapters/clients.test.ts proves it for the installed SDK).
 * @see https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KMSClient } from '@aws-sdk/client-kms';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { baseClientConfig, customS3Endpoint, type Env } from './client-config.ts';

// The shared configuration lives apart so a caller that builds its own clients (the CLI's local context)
// does not load every SDK client this module imports.
export {
  type BaseClientConfig,
  baseClientConfig,
  customS3Endpoint,
  DEFAULT_REGION,
  type Env,
  regionFromEnv,
} from './client-config.ts';

export const createDynamoDbClient = (env: Env = process.env): DynamoDBClient =>
  new DynamoDBClient(baseClientConfig(env));

export const createDynamoDbStreamsClient = (env: Env = process.env): DynamoDBStreamsClient =>
  new DynamoDBStreamsClient(baseClientConfig(env));

/**
 * S3 uses virtual-hosted addressing (`<bucket>.<endpoint>`) by default. Against a custom endpoint such
 * as `http://127.0.0.1:4568` that would need a wildcard DNS name per bucket, and s3rver (and most
 * S3-compatible servers) expect the bucket in the path instead. So path-style is switched on exactly when
 * an endpoint is configured; real S3 keeps virtual-hosted style, which AWS requires for new features.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
export const createS3Client = (env: Env = process.env): S3Client =>
  new S3Client({ ...baseClientConfig(env), forcePathStyle: customS3Endpoint(env) !== undefined });

export const createCloudFrontClient = (env: Env = process.env): CloudFrontClient =>
  new CloudFrontClient(baseClientConfig(env));

export const createKmsClient = (env: Env = process.env): KMSClient => new KMSClient(baseClientConfig(env));

/** Finds this deployment's KMS keys by tag (KMS has no server-side tag filter). */
export const createTaggingClient = (env: Env = process.env): ResourceGroupsTaggingAPIClient =>
  new ResourceGroupsTaggingAPIClient(baseClientConfig(env));

export const createSnsClient = (env: Env = process.env): SNSClient => new SNSClient(baseClientConfig(env));

export const createSqsClient = (env: Env = process.env): SQSClient => new SQSClient(baseClientConfig(env));

export const createCloudFormationClient = (env: Env = process.env): CloudFormationClient =>
  new CloudFormationClient(baseClientConfig(env));

export const createStsClient = (env: Env = process.env): STSClient => new STSClient(baseClientConfig(env));
