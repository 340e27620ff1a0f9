/**
 * Lambda entry of the verifier canary (EventBridge schedule). Configuration is read and SDK clients are
 * built once, at cold start; a missing variable or an issuer that is not an origin fails the cold
 * start with its name. The function reaches the issuer over the internet like any verifier: it has no
 * grant on the bucket or the keys — `secretsmanager:GetSecretValue` on its secret, and `dynamodb:Query`
 * on the registry partition only, to tell whether the JWKS it fetched is current.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { baseClientConfig } from '../adapters/aws/client-config.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { requireEnv } from '../config.ts';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, SERVICE_NAMES } from '../constants.ts';
import { assertIssuer } from '../core/discovery.ts';
import { policyFromEnv } from '../regions-env.ts';
import { createCanaryHandler, parseCanarySecret } from './canary-handler.ts';

const env = process.env;
const issuer = assertIssuer(requireEnv(env, ENV.ISSUER));
const apiJwksUrl = env[ENV.CANARY_API_JWKS_URL]?.trim() || undefined;
const secretArn = requireEnv(env, ENV.CANARY_SECRET_ARN);
const deploymentName = requireEnv(env, ENV.DEPLOYMENT_NAME);
const tableName = requireEnv(env, ENV.TABLE_NAME);
const { policy } = policyFromEnv(env);

const logger = new Logger({ serviceName: SERVICE_NAMES.CANARY });
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAMES.CANARY,
  defaultDimensions: { [METRIC_DIMENSIONS.DEPLOYMENT]: deploymentName },
});
const secrets = new SecretsManagerClient(baseClientConfig());
// Only the clients it uses: importing adapters/aws/clients.ts would bundle every SDK client.
const registry = new DynamoDbRegistry({ client: new DynamoDBClient(baseClientConfig()), tableName });

export const handler = createCanaryHandler({
  issuer,
  ...(apiJwksUrl ? { apiJwksUrl } : {}),
  readCredential: async () => {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    return parseCanarySecret(SecretString);
  },
  registry,
  policy,
  metrics,
  log: logger,
});
