/**
 * The token Lambda's entry (src/handlers/token.ts) as Lambda loads it: a cold start with exactly the
 * function's environment, then requests through the exported handler, with DynamoDB and KMS mocked at
 * the SDK client (the adapters, the Signer and the endpoint are the real ones). The KMS stand-in signs
 * the digest it is sent with a real RSA key, so the token really verifies.
 */
import { constants, generateKeyPairSync, privateEncrypt } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV, PATHS, TABLE } from '../../src/constants.ts';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import { generateSecret, hashSecret } from '../../src/token/secrets.ts';
import type { Client } from '../../src/token/types.ts';

const ISSUER = 'https://d111111abcdef8.cloudfront.net';
const VAULT_KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0000-4000-8000-000000000001';
const API = 'https://orders.example';

/** What the token function is deployed with: no key-policy principals, no bucket, no distribution. */
const TOKEN_ENV: Record<string, string> = {
  [ENV.TABLE_NAME]: 'registry',
  [ENV.ISSUER]: ISSUER,
  AWS_REGION: 'eu-west-1',
};

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Import the entry fresh (a cold start) with exactly this environment. */
async function coldStart(env: Record<string, string | undefined>): Promise<{ handler: Handler }> {
  vi.resetModules();
  for (const name of [...Object.values(ENV), 'AWS_REGION']) vi.stubEnv(name, env[name] ?? '');
  return import('../../src/handlers/token.ts');
}

function event(overrides: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    resource: PATHS.TOKEN,
    path: PATHS.TOKEN,
    httpMethod: 'POST',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    body: null,
    isBase64Encoded: false,
    ...overrides,
  };
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** RFC 8017 §9.2: DigestInfo prefix of a SHA-256 digest, for signing a digest as KMS does. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

const ddb = mockClient(DynamoDBClient);
const kms = mockClient(KMSClient);
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const secret = generateSecret();
let client: Client;
/** The RFC 7638 thumbprint of the KMS key's public half: what STATE names when nobody tampered with it. */
let KID: string;
/** STATE's activeKid, when a test rewrites the table. */
let stateKid: string | undefined;
/** STATE's activeVaultKeyId, when a test rewrites the table. */
let stateVaultKeyId: string | undefined;

beforeEach(async () => {
  vi.unstubAllEnvs();
  ddb.reset();
  kms.reset();
  KID ??= (await publicJwkFromKey(publicKey, 'RS256')).kid;
  stateKid = undefined;
  stateVaultKeyId = undefined;
  client ??= {
    clientId: 'svc',
    secretHash: await hashSecret(secret),
    scopes: ['orders:read'],
    audiences: [API],
    status: 'active',
    createdAt: Date.UTC(2030, 0, 1),
    changedBy: 'cli:test',
    reason: 'fixture',
  };
  const state = {
    [TABLE.PARTITION_KEY]: TABLE.REGISTRY_PARTITION,
    [TABLE.SORT_KEY]: TABLE.STATE_SORT_KEY,
    registryVersion: 3,
    activeKeyRef: 'ref-1',
    activeKid: stateKid ?? KID,
    activeAlg: 'RS256',
    activeVaultKeyId: VAULT_KEY_ID,
  };
  const clientItem = {
    ...client,
    [TABLE.PARTITION_KEY]: `CLIENT#${client.clientId}`,
    [TABLE.SORT_KEY]: 'CLIENT',
  };
  ddb.on(GetItemCommand).callsFake((input: { Key: Record<string, { S?: string }> }) => {
    const pk = input.Key[TABLE.PARTITION_KEY]?.S;
    if (pk === TABLE.REGISTRY_PARTITION) {
      return {
        Item: marshall({
          ...state,
          activeKid: stateKid ?? KID,
          activeVaultKeyId: stateVaultKeyId ?? VAULT_KEY_ID,
        }),
      };
    }
    if (pk === clientItem.pk) return { Item: marshall(clientItem, { removeUndefinedValues: true }) };
    return {};
  });
  kms.on(GetPublicKeyCommand).resolves({
    PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'],
  });
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array; MessageType: string }) => {
    if (input.MessageType !== 'DIGEST') throw new Error('expected a digest');
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(input.Message)]);
    return {
      Signature: privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo),
    };
  });
});
afterEach(() => vi.unstubAllEnvs());

describe('token Lambda entry', () => {
  it.each([ENV.TABLE_NAME, ENV.ISSUER])(
    'fails its cold start naming %s when it is missing',
    async (missing) => {
      await expect(coldStart({ ...TOKEN_ENV, [missing]: undefined })).rejects.toMatchObject({
        code: 'MISSING_CONFIG',
        variable: missing,
      });
    },
  );

  it('fails its cold start when the issuer is not an origin (RFC 8414 §3.3 could never match)', async () => {
    await expect(coldStart({ ...TOKEN_ENV, [ENV.ISSUER]: `${ISSUER}/prod` })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('rejects an invalid policy at cold start with the setting named', async () => {
    await expect(coldStart({ ...TOKEN_ENV, [ENV.RETENTION]: '1m' })).rejects.toMatchObject({
      code: 'INVALID_POLICY',
      setting: 'retention',
    });
  });

  it('issues verifiable tokens with one KMS Sign each and one registry and client read per cache TTL when configured without key-policy principals', async () => {
    const { handler } = await coldStart(TOKEN_ENV);
    const request = event({
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic('svc', secret) },
      body: 'grant_type=client_credentials&scope=orders%3Aread',
    });
    const first = await handler(request);
    const second = await handler(request);

    for (const res of [first, second]) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers?.['Cache-Control']).toBe('no-store');
      const { access_token: token } = JSON.parse(res.body) as { access_token: string };
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
        issuer: ISSUER,
        audience: API,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      expect(protectedHeader.kid).toBe(KID);
      expect(payload).toMatchObject({ sub: 'svc', client_id: 'svc', scope: 'orders:read' });
    }
    const signs = kms.commandCalls(SignCommand);
    expect(signs).toHaveLength(2);
    expect(signs[0]?.args[0].input).toMatchObject({
      KeyId: VAULT_KEY_ID,
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      MessageType: 'DIGEST',
    });
    // Besides Sign, one GetPublicKey per container: the vault's kid must be STATE's (design §11).
    expect(kms.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual([VAULT_KEY_ID]);
    expect(kms.calls()).toHaveLength(3);
    const reads = ddb.commandCalls(GetItemCommand).map((c) => c.args[0].input.Key?.[TABLE.PARTITION_KEY]?.S);
    expect(reads.sort()).toEqual([`CLIENT#svc`, TABLE.REGISTRY_PARTITION]);
    expect(ddb.calls()).toHaveLength(2);
  });

  it('answers 500 server_error and signs nothing when STATE names a kid the KMS key does not have', async () => {
    stateKid = 'forged-kid';
    const { handler } = await coldStart(TOKEN_ENV);
    const res = await handler(
      event({
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic('svc', secret) },
        body: 'grant_type=client_credentials&scope=orders%3Aread',
      }),
    );
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'server_error' });
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });

  it('answers a wrong secret with 401 invalid_client and a GET with 405, without signing', async () => {
    const { handler } = await coldStart(TOKEN_ENV);
    const wrong = await handler(
      event({
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc', 'nope') },
        body: 'grant_type=client_credentials',
      }),
    );
    expect(wrong.statusCode).toBe(401);
    expect(JSON.parse(wrong.body)).toMatchObject({ error: 'invalid_client' });
    expect(wrong.headers?.['WWW-Authenticate']).toMatch(/^Basic realm=/);
    const get = await handler(event({ httpMethod: 'GET' }));
    expect(get.statusCode).toBe(405);
    expect(JSON.parse(get.body)).toMatchObject({ error: 'invalid_request' });
    expect(kms.calls()).toHaveLength(0);
  });

  it("signs with its own region's replica of a multi-Region key STATE names by the primary's ARN (ADR 0008)", async () => {
    const keyId = 'mrk-0f0e0d0c00004000800000000000000a';
    stateVaultKeyId = `arn:aws:kms:eu-west-1:123456789012:key/${keyId}`;
    const { handler } = await coldStart({
      ...TOKEN_ENV,
      AWS_REGION: 'us-east-1',
      [ENV.REGIONS]: 'eu-west-1,us-east-1',
      [ENV.TOKEN_ENDPOINT_URL]: 'https://a1b2c3.execute-api.us-east-1.amazonaws.com/prod/oauth2/token',
    });
    const res = await handler(
      event({
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic('svc', secret) },
        body: 'grant_type=client_credentials&scope=orders%3Aread',
      }),
    );
    expect(res.statusCode, res.body).toBe(200);
    const { access_token: token } = JSON.parse(res.body) as { access_token: string };
    const { protectedHeader } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: API });
    expect(protectedHeader.kid).toBe(KID);
    const replica = `arn:aws:kms:us-east-1:123456789012:key/${keyId}`;
    expect(kms.commandCalls(SignCommand).map((c) => c.args[0].input.KeyId)).toEqual([replica]);
    expect(kms.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual([replica]);
  });
});
