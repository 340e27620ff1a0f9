/**
 * The code paths the IAM contract records: what each deployed function does in a deployment's life —
 * scheduled reconciles (first key, activation, standby), stream-driven publications, tokens by secret
 * and by `private_key_jwt`, audit and events, the canary, and the operator actions the CLI sends
 * (`rotate --now`, `revoke`, `publish --force`, `promote-region`). One region, and two regions with a
 * promotion and a key made by the promoted primary.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { expect } from 'vitest';
import { DynamoDbClientStore } from '../../src/adapters/aws/dynamodb-clients.ts';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import { ENV, PATHS } from '../../src/constants.ts';
import { createClient } from '../../src/token/clients-admin.ts';
import type { DeploymentRunner } from './deployment-runner.ts';

const operator = { arn: 'arn:aws:sts::111122223333:assumed-role/ops/alice' };
const change = { changedBy: 'cli:test', reason: 'IAM contract' };
const AUDIENCE = 'https://orders.example';

const tokenEvent = (body: string, headers: Record<string, string> = {}): APIGatewayProxyEvent => ({
  resource: PATHS.TOKEN,
  path: PATHS.TOKEN,
  httpMethod: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  multiValueHeaders: {},
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: null,
  stageVariables: null,
  requestContext: {} as APIGatewayProxyEvent['requestContext'],
  body,
  isBase64Encoded: false,
});

let clients = 0;

/** Two clients (a secret, a key pair) and one token each from the token function in `region`. */
async function tokens(runner: DeploymentRunner, region: string): Promise<void> {
  const store = new DynamoDbClientStore({ client: runner.dynamodb, tableName: runner.tableName });
  const id = `svc-${region}-${++clients}`;
  const { secret } = await createClient(
    store,
    { clientId: id, scopes: ['read'], audiences: [AUDIENCE] },
    change,
  );
  const basic = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const bySecret = await runner.invoke(
    'token',
    region,
    tokenEvent('grant_type=client_credentials', { authorization: basic }),
  );
  expect(bySecret, JSON.stringify(bySecret)).toMatchObject({ statusCode: 200 });

  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const keyed = `jwt-${region}-${clients}`;
  await createClient(
    store,
    { clientId: keyed, scopes: ['read'], audiences: [AUDIENCE], jwks: { keys: [jwk] } as never },
    change,
  );
  const env = runner.fn('token', region).environment;
  // Several regions: each accepts its own token endpoint URL (src/token/assertion-audience.ts).
  const audience = (env[ENV.TOKEN_ENDPOINT_URL] ?? env[ENV.ISSUER]) as string;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(keyed)
    .setSubject(keyed)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(privateKey);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
  expect(await runner.invoke('token', region, tokenEvent(form.toString()))).toMatchObject({
    statusCode: 200,
  });
}

const action = (fields: Record<string, unknown>) => ({ reason: 'IAM contract', operator, ...fields });

/** An operator action must succeed: the contract records the calls of a complete action. */
const expectOk = (response: unknown) =>
  expect(response, JSON.stringify(response)).toMatchObject({ ok: true });

async function activeKid(runner: DeploymentRunner): Promise<string> {
  const registry = new DynamoDbRegistry({ client: runner.dynamodb, tableName: runner.tableName });
  const kid = (await registry.read()).state.activeKid;
  if (!kid) throw new Error('no ACTIVE key');
  return kid;
}

async function pendingKid(runner: DeploymentRunner): Promise<string> {
  const registry = new DynamoDbRegistry({ client: runner.dynamodb, tableName: runner.tableName });
  const kid = (await registry.read()).state.pendingKid;
  if (!kid) throw new Error('no PENDING key');
  return kid;
}

/** Everything a single-region deployment's functions do. */
export async function singleRegion(runner: DeploymentRunner, region: string): Promise<void> {
  // The deployment's first reconcile: creates the first key, waits for its publication, activates it
  // and creates the standby.
  await runner.whilePublishing(() => runner.invoke('rotate', region));
  await runner.publishEverywhere();
  await runner.invoke('rotate', region);
  await runner.invoke('events', region, await runner.streamBatch());
  await tokens(runner, region);
  await runner.invoke('canary', region);
  // Operator actions: the CLI invokes the function that owns each.
  expectOk(await runner.invoke('publish', region, action({ action: 'publish', force: true })));
  expectOk(
    await runner.whilePublishing(() =>
      runner.invoke('rotate', region, action({ action: 'rotate', immediate: true })),
    ),
  );
  expectOk(
    await runner.invoke('rotate', region, action({ action: 'revoke', kid: await pendingKid(runner) })),
  );
  await runner.whilePublishing(() => runner.invoke('rotate', region));
  await runner.invoke('events', region, await runner.streamBatch());
  await tokens(runner, region);
}

/**
 * Everything a two-region deployment's functions do: the home region's first reconcile replicates each
 * key; both publishers mark their publications; the primary rolls them up; the other region watches;
 * both sign; a revoke reaches every copy; the other region is promoted and makes the next key itself.
 */
export async function twoRegions(runner: DeploymentRunner, home: string, other: string): Promise<void> {
  await runner.whilePublishing(() => runner.invoke('rotate', home));
  await runner.publishEverywhere();
  await runner.invoke('rotate', home);
  await runner.invoke('rotate', other);
  await runner.invoke('events', home, await runner.streamBatch());
  await tokens(runner, home);
  await tokens(runner, other);
  await runner.invoke('canary', home);
  await runner.invoke('canary', other);
  expectOk(await runner.invoke('publish', other, action({ action: 'publish', force: true })));
  expectOk(await runner.invoke('rotate', home, action({ action: 'revoke', kid: await pendingKid(runner) })));
  await runner.whilePublishing(() => runner.invoke('rotate', home));
  expectOk(await runner.invoke('rotate', other, action({ action: 'promote-region', region: other })));
  // The new primary rolls up both regions' marks of the standby, then rotates to it at once.
  await runner.publishEverywhere();
  await runner.invoke('rotate', other);
  expectOk(
    await runner.whilePublishing(() =>
      runner.invoke('rotate', other, action({ action: 'rotate', immediate: true })),
    ),
  );
  await runner.whilePublishing(() => runner.invoke('rotate', other));
  await runner.publishEverywhere();
  await runner.invoke('rotate', other);
  expect(await activeKid(runner)).toBeTruthy();
  await tokens(runner, home);
  await tokens(runner, other);
}
