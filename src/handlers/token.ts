/**
 * Lambda entry of the token endpoint (API Gateway `POST /oauth2/token`, reached through CloudFront at
 * the issuer's origin, design §2). Configuration is read and SDK clients are built once, at cold
 * start; a missing variable, an invalid policy or an issuer that is not an origin fails the cold start
 * with its name, never the first request.
 *
 * Per container: the Signer reads the registry's STATE item at most once per `signerCacheTtl`, the
 * endpoint reads a client's item at most once per the same TTL, and each token costs one KMS `Sign`
 * (the kid and alg come from STATE; one `GetPublicKey` per key per container checks that kid, design §11).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createDynamoDbClient, createKmsClient, createTaggingClient } from '../adapters/aws/clients.ts';
import { DynamoDbClientStore } from '../adapters/aws/dynamodb-clients.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { KmsKeyVault } from '../adapters/aws/kms.ts';
import { requireEnv } from '../config.ts';
import { ENV, SERVICE_NAMES } from '../constants.ts';
import type { KeyPolicyPrincipals } from '../core/key-policy.ts';
import { policyFromEnv } from '../regions-env.ts';
import { Signer } from '../signer.ts';
import { audienceRuleFromEnv } from '../token/assertion-audience.ts';
import { createTokenEndpoint } from '../token/endpoint.ts';
import { createTokenHandler } from './token-handler.ts';
import { ownRegionVault } from './vault-regions.ts';

/**
 * This function only signs. KmsKeyVault builds a key policy in `createKey` alone, so it gets no
 * principals: were `createKey` ever called here it would fail with INVALID_ARGUMENT before reaching
 * KMS (and the role has no `kms:CreateKey` anyway). `kms:Sign` is granted by each key's own policy,
 * which names this function's role as a signer (the rotate function writes it at CreateKey).
 */
const SIGN_ONLY: KeyPolicyPrincipals = {
  accountId: '',
  adminRoleArn: '',
  signerRoleArns: [],
  readerRoleArns: [],
};

const env = process.env;
const tableName = requireEnv(env, ENV.TABLE_NAME);
const issuer = requireEnv(env, ENV.ISSUER);
// The policy with the multi-region rules when REGIONS names several regions (ADR 0008).
const { policy, regions } = policyFromEnv(env);
// Multi-region: the assertion audience this region accepts (its own URL; the issuer's only at home).
const audienceRule = audienceRuleFromEnv(env, regions);

const logger = new Logger({ serviceName: SERVICE_NAMES.TOKEN });
const dynamodb = createDynamoDbClient();

const signer = new Signer({
  registry: new DynamoDbRegistry({ client: dynamodb, tableName }),
  vault: new KmsKeyVault({
    kms: createKmsClient(),
    tagging: createTaggingClient(),
    // Only tags and lists keys, which signing never does.
    deploymentName: env[ENV.DEPLOYMENT_NAME]?.trim() || SERVICE_NAMES.TOKEN,
    keyPolicy: SIGN_ONLY,
    // Multi-region: sign with this region's replica of the key STATE names (same kid, ADR 0008).
    ...ownRegionVault(env),
  }),
  cacheTtlMs: policy.signerCacheTtl,
});

const endpoint = createTokenEndpoint({
  clients: new DynamoDbClientStore({ client: dynamodb, tableName }),
  signer,
  policy,
  issuer,
  ...audienceRule,
  log: logger,
});
// The dummy hash and dummy keys (so an unknown client costs what a known one costs) are started now
// but not awaited: generating them takes 0.4–1 s, which would lengthen every cold start, and would
// buy no secrecy either, since a container's first request is told apart by its cold start anyway.
void endpoint.warmUp().catch((err: unknown) => logger.error('token: warm-up failed', { error: err }));

export const handler = createTokenHandler(endpoint);
