/**
 * Lambda entry of the verifier canary (EventBridge schedule). Configuration is read and SDK clients are
 * built once, at cold start; a missing variable or an issuer that is not an origin fails the cold
 * start with its name. The function reaches the issuer over the internet like any verifier: it has no
 * grant on the registry, the bucket or the keys — only `secretsmanager:GetSecretValue` on its secret.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { baseClientConfig } from '../adapters/aws/clients.ts';
import { requireEnv } from '../config.ts';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, SERVICE_NAMES } from '../constants.ts';
import { assertIssuer } from '../core/discovery.ts';
import { createCanaryHandler, parseCanarySecret } from './canary-handler.ts';

const env = process.env;
const issuer = assertIssuer(requireEnv(env, ENV.ISSUER));
const apiJwksUrl = env[ENV.CANARY_API_JWKS_URL]?.trim() || undefined;
const secretArn = requireEnv(env, ENV.CANARY_SECRET_ARN);
const deploymentName = requireEnv(env, ENV.DEPLOYMENT_NAME);

const logger = new Logger({ serviceName: SERVICE_NAMES.CANARY });
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAMES.CANARY,
  defaultDimensions: { [METRIC_DIMENSIONS.DEPLOYMENT]: deploymentName },
});
const secrets = new SecretsManagerClient(baseClientConfig());

export const handler = createCanaryHandler({
  issuer,
  ...(apiJwksUrl ? { apiJwksUrl } : {}),
  readCredential: async () => {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    return parseCanarySecret(SecretString);
  },
  metrics,
  log: logger,
});
