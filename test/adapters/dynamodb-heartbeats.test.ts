import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbHeartbeats } from '../../src/adapters/aws/dynamodb-heartbeats.ts';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import { hasCode } from '../../src/errors.ts';
import { type HeartbeatStore, heartbeat } from '../../src/heartbeat.ts';
import { silentLog } from '../../src/ports.ts';
import {
  type DynamoDbLocal,
  localDynamoDbClient,
  startDynamoDbLocal,
  uniqueTableName,
} from '../support/dynamodb-local.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const T0 = Date.UTC(2026, 11, 1);

let ddb: DynamoDbLocal;
let client: DynamoDBClient;
let heartbeats: DynamoDbHeartbeats;
let registry: DynamoDbRegistry;

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  client = localDynamoDbClient(ddb.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  const tableName = uniqueTableName('heartbeats');
  await createRegistryTable(client, tableName);
  heartbeats = new DynamoDbHeartbeats({ client, tableName });
  registry = new DynamoDbRegistry({ client, tableName });
});

describe('DynamoDbHeartbeats', () => {
  it('reads back the instant of each region that beat, and nothing for one that never did', async () => {
    await heartbeats.beat(A, T0);
    const beats = await heartbeats.read([A, B]);
    expect(beats.get(A)).toBe(T0);
    expect(beats.has(B)).toBe(false);
  });

  it('never moves a heartbeat back when a run with an earlier clock beats after a later one', async () => {
    await heartbeats.beat(A, T0 + 5_000);
    await heartbeats.beat(A, T0);
    expect((await heartbeats.read([A])).get(A)).toBe(T0 + 5_000);
    await heartbeats.beat(A, T0 + 9_000);
    expect((await heartbeats.read([A])).get(A)).toBe(T0 + 9_000);
  });

  it('refuses to write a heartbeat for something that is not a region name', async () => {
    const err = await heartbeats.beat('not a region', T0).catch((e: unknown) => e);
    expect(hasCode(err, 'MALFORMED_RECORD')).toBe(true);
  });

  it('is invisible to the registry read when heartbeats sit in the same table', async () => {
    const before = await registry.read();
    await heartbeats.beat(A, T0);
    await heartbeats.beat(B, T0);
    expect(await registry.read()).toEqual(before);
  });
});

describe('heartbeat', () => {
  it('beats for its own region and gives the age of every other region in seconds', async () => {
    await heartbeats.beat(B, T0 - 90_000);
    const ages = await heartbeat(heartbeats, { region: A, regions: [A, B] }, T0, silentLog);
    expect(ages).toEqual([{ region: B, ageSeconds: 90 }]);
    expect((await heartbeats.read([A])).get(A)).toBe(T0);
  });

  it('gives no age for a region whose heartbeat never arrived', async () => {
    const ages = await heartbeat(heartbeats, { region: A, regions: [A, B] }, T0, silentLog);
    expect(ages).toEqual([{ region: B, ageSeconds: undefined }]);
  });

  it('still reads the other regions when its own write fails', async () => {
    await heartbeats.beat(B, T0 - 1_000);
    const failingWrite: HeartbeatStore = {
      beat: () => Promise.reject(new Error('throttled')),
      read: (regions) => heartbeats.read(regions),
    };
    const ages = await heartbeat(failingWrite, { region: A, regions: [A, B] }, T0, silentLog);
    expect(ages).toEqual([{ region: B, ageSeconds: 1 }]);
  });
});
