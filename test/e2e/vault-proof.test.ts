/**
 * Design §11 against the running local stack: a record written straight into the registry table
 * (DynamoDB Local, as anyone who can PutItem would) is never served — neither a RETIRED record with a
 * freshly generated key behind no vault key, nor a real key's record whose publicJwk was swapped —
 * not after the stream publishes, not after a forced `jwks publish`; `jwks status` calls both
 * UNVERIFIED.
 */
import { generateKeyPairSync } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusView } from '../../src/cli/commands/status.ts';
import { TABLE } from '../../src/constants.ts';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import { readStackInfo } from '../../src/local/data-dir.ts';
import { S3RVER_CREDENTIALS } from '../../src/local/s3-server.ts';
import { cli, type StackProcess, startStack } from './stack-process.ts';

const POLICY = {
  JWKS_MAX_AGE: '1s',
  PREPUBLISH_LEAD: '3s',
  ROTATION_PERIOD: '1h',
  MAX_TOKEN_TTL: '1m',
  CLOCK_SKEW: '5s',
  RETENTION: '2m',
};

let stack: StackProcess;
let ddb: DynamoDBClient;
let tableName: string;

async function servedKids(): Promise<string[]> {
  const body = (await (await fetch(`${stack.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  return body.keys.map((k) => k.kid);
}

/** Every kid served during `ms` (polled every 100 ms). */
async function kidsServedFor(ms: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const end = Date.now() + ms; Date.now() < end; ) {
    for (const kid of await servedKids()) seen.add(kid);
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

const freshJwk = () =>
  publicJwkFromKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey, 'RS256');

async function status(): Promise<StatusView> {
  const run = await cli(stack.dataDir, ['status', '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as StatusView;
}

describe('only vault keys are served (local stack)', () => {
  beforeAll(async () => {
    stack = await startStack({ env: POLICY });
    const info = await readStackInfo(stack.dataDir);
    if (!info) throw new Error('no stack.json');
    tableName = info.tableName;
    ddb = new DynamoDBClient({
      region: info.region,
      endpoint: info.dynamodbEndpoint,
      credentials: S3RVER_CREDENTIALS,
    });
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      if ((await servedKids()).length >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(async () => {
    ddb?.destroy();
    await stack?.stop();
  });

  it('never serves a RETIRED record with a fresh key no vault key backs, and status says UNVERIFIED', async () => {
    const real = await servedKids();
    expect(real.length).toBeGreaterThanOrEqual(2);
    const jwk = await freshJwk();
    const keyRef = 'intruder-0001';
    await ddb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({
          [TABLE.PARTITION_KEY]: TABLE.REGISTRY_PARTITION,
          [TABLE.SORT_KEY]: `${TABLE.KEY_SORT_PREFIX}${keyRef}`,
          keyRef,
          kid: jwk.kid,
          alg: 'RS256',
          status: 'RETIRED',
          version: 3,
          vaultKeyId: 'local:6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
          publicJwk: jwk,
          createdAt: Date.now() - 60_000,
          publishedAt: Date.now() - 50_000,
          activatedAt: Date.now() - 40_000,
          retiredAt: Date.now() - 1_000,
          changedBy: 'schedule',
          reason: 'retired',
        }),
      }),
    );
    const seen = await kidsServedFor(3_000);
    expect(seen.has(jwk.kid)).toBe(false);
    for (const kid of real) expect(seen.has(kid)).toBe(true);

    const publish = await cli(stack.dataDir, ['publish', '--json']);
    expect(publish.code, publish.stderr).toBe(0);
    expect((JSON.parse(publish.stdout) as { kids: string[] }).kids).not.toContain(jwk.kid);
    expect((await kidsServedFor(1_500)).has(jwk.kid)).toBe(false);

    const intruder = (await status()).keys.find((k) => k.keyRef === keyRef);
    expect(intruder).toMatchObject({ kid: jwk.kid, vault: 'UNVERIFIED', vaultFailure: 'NOT_IN_VAULT' });
  }, 60_000);

  it('never serves a real key record whose publicJwk was swapped, and status says KEY_MISMATCH', async () => {
    const view = await status();
    const pending = view.keys.find((k) => k.status === 'PENDING');
    expect(pending?.vault).toBe('VERIFIED');
    const key = {
      [TABLE.PARTITION_KEY]: TABLE.REGISTRY_PARTITION,
      [TABLE.SORT_KEY]: `KEY#${pending?.keyRef}`,
    };
    const item = unmarshall(
      (await ddb.send(new GetItemCommand({ TableName: tableName, Key: marshall(key), ConsistentRead: true })))
        .Item ?? {},
    );
    const jwk = await freshJwk();
    await ddb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ ...item, kid: jwk.kid, publicJwk: jwk }),
      }),
    );
    const seen = await kidsServedFor(3_000);
    expect(seen.has(jwk.kid)).toBe(false);

    await cli(stack.dataDir, ['publish', '--json']);
    expect((await kidsServedFor(1_500)).has(jwk.kid)).toBe(false);
    const tampered = (await status()).keys.find((k) => k.keyRef === pending?.keyRef);
    expect(tampered).toMatchObject({ kid: jwk.kid, vault: 'UNVERIFIED', vaultFailure: 'KEY_MISMATCH' });
  }, 60_000);
});
