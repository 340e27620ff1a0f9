import { type DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientItemKey, DynamoDbClientStore, jtiItemKey } from '../../src/adapters/aws/dynamodb-clients.ts';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import { TABLE } from '../../src/constants.ts';
import { createClient, disableClient, listClients } from '../../src/token/clients-admin.ts';
import type { Client } from '../../src/token/types.ts';
import {
  type DynamoDbLocal,
  localDynamoDbClient,
  startDynamoDbLocal,
  uniqueTableName,
} from '../support/dynamodb-local.ts';

const T0 = Date.UTC(2030, 0, 1);
const cli = { changedBy: 'cli:test', reason: 'onboarding' };

let ddb: DynamoDbLocal;
let client: DynamoDBClient;
let tableName: string;
let store: DynamoDbClientStore;
let now = T0;

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

function aClient(clientId: string, extra: Partial<Client> = {}): Client {
  return {
    clientId,
    secretHash: '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    scopes: ['read', 'write'],
    audiences: ['https://api.example.com', 'orders'],
    status: 'active',
    createdAt: T0,
    changedBy: 'cli:test',
    reason: 'fixture',
    ...extra,
  };
}

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  client = localDynamoDbClient(ddb.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  now = T0;
  tableName = uniqueTableName('clients');
  await createRegistryTable(client, tableName);
  store = new DynamoDbClientStore({ client, tableName, clock: () => now });
});

describe('DynamoDbClientStore', () => {
  it('reads back exactly what it stored when a client with jwks is put', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig', alg: 'ES256' }] };
    const stored = aClient('svc-a', { jwks });
    await store.put(stored);
    expect(await store.get('svc-a')).toEqual(stored);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: marshall(clientItemKey('svc-a')) }),
    );
    expect(unmarshall(Item ?? {})).toMatchObject({ pk: 'CLIENT#svc-a', sk: 'CLIENT' });
  });

  it('returns undefined when the client does not exist', async () => {
    expect(await store.get('nobody')).toBeUndefined();
  });

  it('throws CONFLICT and keeps the first client when the id is taken', async () => {
    await store.put(aClient('svc-a'));
    expect(await codeOf(store.put(aClient('svc-a', { scopes: ['admin'] })))).toBe('CONFLICT');
    expect((await store.get('svc-a'))?.scopes).toEqual(['read', 'write']);
  });

  it('refuses to write a client that would not read back when it is invalid', async () => {
    expect(await codeOf(store.put(aClient('bad#id')))).toBe('MALFORMED_RECORD');
    expect(await codeOf(store.put(aClient('svc', { audiences: [] })))).toBe('MALFORMED_RECORD');
  });

  it('throws MALFORMED_RECORD when a stored item is corrupt', async () => {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ ...clientItemKey('svc-x'), ...aClient('svc-x'), status: 'maybe' }),
      }),
    );
    expect(await codeOf(store.get('svc-x'))).toBe('MALFORMED_RECORD');
  });

  it('lists only clients, in id order, when jti, registry and client items share the table', async () => {
    await store.put(aClient('svc-b'));
    await store.put(aClient('svc-a'));
    await store.useJti('svc-a', 'jti-1', T0 + 60_000);
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ pk: TABLE.REGISTRY_PARTITION, sk: TABLE.STATE_SORT_KEY, registryVersion: 1 }),
      }),
    );
    expect((await store.list()).map((c) => c.clientId)).toEqual(['svc-a', 'svc-b']);
  });

  it('sets the status with who and why and returns the updated client when it exists', async () => {
    await store.put(aClient('svc-a'));
    now = T0 + 5_000;
    const updated = await store.setStatus('svc-a', 'disabled', { changedBy: 'cli:ops', reason: 'leaked' });
    expect(updated).toMatchObject({
      status: 'disabled',
      updatedAt: T0 + 5_000,
      changedBy: 'cli:ops',
      reason: 'leaked',
    });
    expect(await store.get('svc-a')).toEqual(updated);
  });

  it('throws INVALID_ARGUMENT (ClientNotFoundError) and creates nothing when setting an unknown status', async () => {
    expect(await codeOf(store.setStatus('ghost', 'disabled', cli))).toBe('INVALID_ARGUMENT');
    expect(await store.get('ghost')).toBeUndefined();
  });

  it('accepts a jti once and refuses it while it lives when it is used again', async () => {
    expect(await store.useJti('svc-a', 'j1', T0 + 60_000)).toBe(true);
    expect(await store.useJti('svc-a', 'j1', T0 + 60_000)).toBe(false);
    expect(await store.useJti('svc-b', 'j1', T0 + 60_000)).toBe(true);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: marshall(jtiItemKey('svc-a', 'j1')) }),
    );
    const item = unmarshall(Item ?? {});
    expect(item[TABLE.TTL_ATTRIBUTE]).toBe(Math.ceil((T0 + 60_000) / 1000));
    expect(item.pk).toBe('JTI#svc-a#j1');
  });

  it('lets exactly one of many concurrent uses of one jti win', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.useJti('svc-a', 'race', T0 + 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('treats a jti item whose ttl has passed as absent when TTL deletion has not run yet', async () => {
    expect(await store.useJti('svc-a', 'old', T0 + 1_000)).toBe(true);
    now = T0 + 3_000;
    expect(await store.useJti('svc-a', 'old', T0 + 63_000)).toBe(true);
    expect(await store.useJti('svc-a', 'old', T0 + 63_000)).toBe(false);
  });
});

describe('clients admin over DynamoDbClientStore', () => {
  it('stores only a hash of the returned secret when a client is created', async () => {
    const { secret } = await createClient(
      store,
      { clientId: 'svc-a', scopes: ['read'], audiences: ['https://api.example.com'] },
      cli,
    );
    expect(secret).toBeDefined();
    const { Items = [] } = await client.send(new ScanCommand({ TableName: tableName }));
    const raw = JSON.stringify(Items);
    expect(raw).not.toContain(String(secret));
    expect(raw).not.toContain(Buffer.from(String(secret), 'base64url').toString('base64').replace(/=+$/, ''));
    const listed = await listClients(store);
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty('secretHash');
    const disabled = await disableClient(store, 'svc-a', cli);
    expect(disabled.status).toBe('disabled');
  });
});
