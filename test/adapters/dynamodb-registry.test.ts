import { type DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as LambdaAttributeValue } from 'aws-lambda';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import { promotionItemKey } from '../../src/adapters/aws/region-items.ts';
import { isKeyItem, keyRecordFromImage } from '../../src/adapters/aws/registry-items.ts';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import type { Algorithm, ChangeContext, Commit, KeyRecord, PublicJwk } from '../../src/core/types.ts';
import { ConflictError, FencedError } from '../../src/errors.ts';
import {
  type DynamoDbLocal,
  localDynamoDbClient,
  localStreamsClient,
  startDynamoDbLocal,
  uniqueTableName,
} from '../support/dynamodb-local.ts';

let ddb: DynamoDbLocal;
let client: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tableName: string;
let streamArn: string;
let registry: DynamoDbRegistry;
let ecJwk: PublicJwk;
let rsaJwk: PublicJwk;

async function publicJwk(alg: Algorithm): Promise<PublicJwk> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg } as PublicJwk;
}

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  client = localDynamoDbClient(ddb.endpoint);
  streams = localStreamsClient(ddb.endpoint);
  [ecJwk, rsaJwk] = await Promise.all([publicJwk('ES256'), publicJwk('RS256')]);
});

afterAll(async () => {
  client?.destroy();
  streams?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  tableName = uniqueTableName('registry');
  ({ streamArn } = await createRegistryTable(client, tableName));
  registry = new DynamoDbRegistry({ client, tableName });
});

const schedule: ChangeContext = { changedBy: 'schedule', reason: 'rotation due' };

function pendingKey(keyRef: string, jwk: PublicJwk = ecJwk, version = 1): KeyRecord {
  return {
    keyRef,
    kid: jwk.kid,
    alg: jwk.alg,
    status: 'PENDING',
    version,
    vaultKeyId: `vault-${keyRef}`,
    publicJwk: jwk,
    createdAt: 1_700_000_000_000,
    changedBy: 'ignored',
    reason: 'ignored',
  };
}

/** Writes the given keys as new items in one commit on top of `version`. */
async function seed(keys: KeyRecord[], version = 0): Promise<void> {
  await registry.commit({
    expectedRegistryVersion: version,
    keys: keys.map((record) => ({ record, expectedVersion: null })),
    state: { pendingKeyRef: keys[0]?.keyRef },
    change: schedule,
  });
}

const activate = (key: KeyRecord, registryVersion: number, at: number): Commit => ({
  expectedRegistryVersion: registryVersion,
  keys: [
    {
      record: { ...key, status: 'ACTIVE', activatedAt: at, version: key.version + 1 },
      expectedVersion: key.version,
    },
  ],
  state: {
    activeKeyRef: key.keyRef,
    activeKid: key.kid,
    activeAlg: key.alg,
    activeVaultKeyId: key.vaultKeyId,
  },
  change: schedule,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('DynamoDbRegistry.read', () => {
  it('returns version 0 and no keys when the table is empty', async () => {
    await expect(registry.read()).resolves.toEqual({ state: { registryVersion: 0 }, keys: [] });
    await expect(registry.readState()).resolves.toEqual({ registryVersion: 0 });
  });

  it('round-trips every KeyRecord field when a commit writes them', async () => {
    const full: KeyRecord = {
      ...pendingKey('ref-full', rsaJwk),
      status: 'RETIRED',
      publishedAt: 1_700_000_001_000,
      activatedAt: 1_700_000_002_000,
      periodEndsAt: 1_700_000_003_000,
      retiredAt: 1_700_000_004_000,
      disabledAt: 1_700_000_005_000,
      expiredAt: 1_700_000_006_000,
      revokedAt: 1_700_000_007_000,
      abandonedAt: 1_700_000_008_000,
      deletionScheduledAt: 1_700_000_009_000,
    };
    const creating: KeyRecord = {
      keyRef: 'ref-min',
      alg: 'ES384',
      status: 'CREATING',
      version: 1,
      createdAt: 1,
      changedBy: 'x',
      reason: '',
    };
    await seed([full, creating]);
    const { keys } = await registry.read();
    const byRef = new Map(keys.map((k) => [k.keyRef, k]));
    expect(byRef.get('ref-full')).toEqual({ ...full, ...schedule });
    expect(byRef.get('ref-min')).toEqual({ ...creating, ...schedule });
  });

  it('reads every key when the partition spans several query pages', async () => {
    const padding = 'x'.repeat(200_000); // 1 MB pages: ~6 items of this size fill one.
    const keys = Array.from({ length: 12 }, (_, i) => ({ ...pendingKey(`ref-${i}`), reason: padding }));
    for (const [i, key] of keys.entries()) {
      await registry.commit({
        expectedRegistryVersion: i,
        keys: [{ record: key, expectedVersion: null }],
        state: {},
        change: { changedBy: 'schedule', reason: padding },
      });
    }
    const firstPage = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'REGISTRY' } },
      }),
    );
    expect(firstPage.LastEvaluatedKey).toBeDefined(); // the registry really spans pages
    const snapshot = await registry.read();
    expect(snapshot.keys.map((k) => k.keyRef).sort()).toEqual(keys.map((k) => k.keyRef).sort());
    expect(snapshot.state.registryVersion).toBe(keys.length);
  });

  it('rejects with MALFORMED_RECORD when a key item has an unknown status', async () => {
    await seed([pendingKey('ref-a')]);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: marshall({ pk: 'REGISTRY', sk: 'KEY#ref-a' }) }),
    );
    await client.send(new PutItemCommand({ TableName: tableName, Item: { ...Item, status: { S: 'LIVE' } } }));
    await expect(registry.read()).rejects.toMatchObject({ code: 'MALFORMED_RECORD' });
  });

  it('rejects with MALFORMED_RECORD when a stored public JWK carries a private member', async () => {
    await seed([pendingKey('ref-a')]);
    const item = unmarshall(
      (
        await client.send(
          new GetItemCommand({ TableName: tableName, Key: marshall({ pk: 'REGISTRY', sk: 'KEY#ref-a' }) }),
        )
      ).Item ?? {},
    );
    const tampered = { ...item, publicJwk: { ...item.publicJwk, d: 'secret' } };
    await client.send(new PutItemCommand({ TableName: tableName, Item: marshall(tampered) }));
    await expect(registry.read()).rejects.toMatchObject({ code: 'MALFORMED_RECORD' });
  });

  it('rejects with MALFORMED_RECORD when STATE has no numeric registryVersion', async () => {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ pk: 'REGISTRY', sk: 'STATE', registryVersion: 'one' }),
      }),
    );
    await expect(registry.readState()).rejects.toMatchObject({ code: 'MALFORMED_RECORD' });
    await expect(registry.read()).rejects.toMatchObject({ code: 'MALFORMED_RECORD' });
  });
});

describe('DynamoDbRegistry.commit', () => {
  it('creates STATE at version 1 with the change context when the first commit lands', async () => {
    await seed([pendingKey('ref-a')]);
    await expect(registry.readState()).resolves.toEqual({ registryVersion: 1, pendingKeyRef: 'ref-a' });
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: marshall({ pk: 'REGISTRY', sk: 'STATE' }) }),
    );
    expect(unmarshall(Item ?? {})).toMatchObject({ ...schedule, registryVersion: 1 });
  });

  it('replaces STATE with the committed fields and bumps the version by one when a commit lands', async () => {
    const key = pendingKey('ref-a');
    await seed([key]);
    await registry.commit(activate(key, 1, 5_000));
    const { state, keys } = await registry.read();
    expect(state).toEqual({
      registryVersion: 2,
      activeKeyRef: 'ref-a',
      activeKid: key.kid,
      activeAlg: key.alg,
      activeVaultKeyId: key.vaultKeyId,
    });
    expect(keys).toEqual([{ ...key, ...schedule, status: 'ACTIVE', activatedAt: 5_000, version: 2 }]);
  });

  it('throws CONFLICT with the SDK cause when expectedRegistryVersion is stale', async () => {
    await seed([pendingKey('ref-a')]);
    const err = await rejection(seed([pendingKey('ref-b')], 0));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'CONFLICT', cause: { name: 'TransactionCanceledException' } });
    await seed([pendingKey('ref-c')], 1);
    await expect(seed([pendingKey('ref-d')], 1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(seed([pendingKey('ref-e')], 7)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(registry.readState()).resolves.toMatchObject({ registryVersion: 2 });
  });

  it('throws CONFLICT and writes nothing of the transaction when a key expectedVersion is stale', async () => {
    const key = pendingKey('ref-a');
    await seed([key]);
    const before = await registry.read();
    const stale: Commit = {
      expectedRegistryVersion: 1,
      keys: [
        { record: pendingKey('ref-new'), expectedVersion: null },
        { record: { ...key, status: 'ACTIVE', version: 3 }, expectedVersion: 2 },
      ],
      state: { activeKeyRef: 'ref-a', pendingKeyRef: 'ref-new' },
      change: schedule,
    };
    await expect(registry.commit(stale)).rejects.toMatchObject({ code: 'CONFLICT' });
    // A key that already exists cannot be created again either.
    await expect(seed([pendingKey('ref-a')], 1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(registry.read()).resolves.toEqual(before);
  });

  it('throws INVALID_ARGUMENT and writes nothing when a record version is not expectedVersion + 1', async () => {
    await expect(seed([pendingKey('ref-a', ecJwk, 2)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(registry.read()).resolves.toEqual({ state: { registryVersion: 0 }, keys: [] });
  });

  it('lets exactly one of two commits from the same read succeed, 20 times out of 20', async () => {
    for (let round = 0; round < 20; round++) {
      const { state } = await registry.read();
      const results = await Promise.allSettled([
        seed([pendingKey(`left-${round}`)], state.registryVersion),
        seed([pendingKey(`right-${round}`)], state.registryVersion),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const [failed] = results.filter((r) => r.status === 'rejected');
      expect(failed?.reason).toMatchObject({ code: 'CONFLICT' });
      await expect(registry.readState()).resolves.toMatchObject({
        registryVersion: state.registryVersion + 1,
      });
    }
    expect((await registry.read()).keys).toHaveLength(20);
  });

  it('never ends with two ACTIVE keys when two activations race from the same read', async () => {
    for (let round = 0; round < 10; round++) {
      const left = pendingKey(`left-${round}`);
      const right = pendingKey(`right-${round}`, rsaJwk);
      const { state } = await registry.read();
      await seed([left, right], state.registryVersion);
      const v = state.registryVersion + 1;
      const results = await Promise.allSettled([
        registry.commit(activate(left, v, round)),
        registry.commit(activate(right, v, round)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const snapshot = await registry.read();
      const active = snapshot.keys.filter((k) => k.status === 'ACTIVE' && k.keyRef.endsWith(`-${round}`));
      expect(active).toHaveLength(1);
      expect(snapshot.state.activeKeyRef).toBe(active[0]?.keyRef);
    }
  });
});

describe('DynamoDbRegistry.markPublished', () => {
  it('sets publishedAt once, bumps the item version, and never overwrites it', async () => {
    const key = pendingKey('ref-a');
    await seed([key]);
    await registry.markPublished(['ref-a', 'ref-a'], 1_000);
    await registry.markPublished(['ref-a'], 2_000);
    const { state, keys } = await registry.read();
    expect(keys).toEqual([
      { ...key, version: 2, publishedAt: 1_000, changedBy: 'publisher', reason: 'published in JWKS' },
    ]);
    expect(state.registryVersion).toBe(1);
  });

  it('skips a keyRef the registry does not hold without creating an item', async () => {
    await seed([pendingKey('ref-a')]);
    await registry.markPublished(['ref-unknown', 'ref-a'], 1_000);
    const { keys } = await registry.read();
    expect(keys.map((k) => [k.keyRef, k.publishedAt])).toEqual([['ref-a', 1_000]]);
  });

  it('makes a commit planned before the mark conflict when it expected the old item version', async () => {
    const key = pendingKey('ref-a');
    await seed([key]);
    await registry.markPublished(['ref-a'], 1_000);
    await expect(registry.commit(activate(key, 1, 2_000))).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

const ops: ChangeContext = { changedBy: 'cli:ops', reason: 'region lost' };

/** The registry as the primary of epoch 1 (us-east-1) holds it, with a PENDING key. */
async function primaryOfEpochOne(): Promise<void> {
  await seed([pendingKey('ref-a')]);
  await registry.promote({
    region: 'us-east-1',
    epoch: 1,
    expectedRegistryVersion: 1,
    at: 5_000,
    change: ops,
  });
}

describe('DynamoDbRegistry multi-region items (ADR 0008)', () => {
  it('reads a single-region registry without multi-region fields', async () => {
    await seed([pendingKey('ref-a')]);
    const snapshot = await registry.read();
    expect(snapshot).not.toHaveProperty('publications');
    expect(snapshot).not.toHaveProperty('promotions');
  });

  it('puts one publication item per region and key, keeping the first instant, and never touches the key item', async () => {
    const key = pendingKey('ref-a');
    await seed([key]);
    await registry.markRegionPublished('eu-west-1', [{ keyRef: 'ref-a', kid: key.kid as string }], 1_000);
    await registry.markRegionPublished('eu-west-1', [{ keyRef: 'ref-a', kid: key.kid as string }], 2_000);
    await registry.markRegionPublished('us-east-1', [{ keyRef: 'ref-a', kid: key.kid as string }], 3_000);
    const snapshot = await registry.read();
    expect(snapshot.publications).toEqual([
      { region: 'eu-west-1', keyRef: 'ref-a', kid: key.kid, publishedAt: 1_000 },
      { region: 'us-east-1', keyRef: 'ref-a', kid: key.kid, publishedAt: 3_000 },
    ]);
    expect(snapshot.keys).toEqual([{ ...key, changedBy: 'schedule', reason: 'rotation due' }]);
    expect(snapshot.state.registryVersion).toBe(1);
  });

  it('refuses to write a publication item for a malformed region name', async () => {
    await expect(
      registry.markRegionPublished('EU WEST', [{ keyRef: 'ref-a', kid: 'k' }], 1),
    ).rejects.toMatchObject({
      code: 'MALFORMED_RECORD',
    });
  });

  it('writes the promotion and STATE together, and refuses a second promotion to the same epoch', async () => {
    await primaryOfEpochOne();
    const snapshot = await registry.read();
    expect(snapshot.state).toMatchObject({
      registryVersion: 2,
      primaryRegion: 'us-east-1',
      epoch: 1,
      updatedAt: 5_000,
    });
    expect(snapshot.state.pendingKeyRef).toBe('ref-a'); // the rest of STATE is kept
    expect(snapshot.promotions).toEqual([{ epoch: 1, region: 'us-east-1', promotedAt: 5_000, ...ops }]);
    const again = registry.promote({
      region: 'eu-west-1',
      epoch: 1,
      expectedRegistryVersion: 2,
      at: 6_000,
      change: ops,
    });
    await expect(again).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await registry.read()).state).toMatchObject({ registryVersion: 2, primaryRegion: 'us-east-1' });
  });

  it('stores the serving regions of a promotion that leaves a lost region out', async () => {
    await seed([pendingKey('ref-a')]);
    await registry.promote({
      region: 'us-east-1',
      epoch: 1,
      expectedRegistryVersion: 1,
      at: 5_000,
      change: ops,
      servingRegions: ['us-east-1'],
    });
    expect((await registry.read()).promotions).toEqual([
      { epoch: 1, region: 'us-east-1', promotedAt: 5_000, servingRegions: ['us-east-1'], ...ops },
    ]);
  });

  it('refuses a promotion planned on a registry that changed since', async () => {
    await seed([pendingKey('ref-a')]);
    const stale = registry.promote({
      region: 'us-east-1',
      epoch: 1,
      expectedRegistryVersion: 0,
      at: 1,
      change: ops,
    });
    await expect(stale).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await registry.commit(activate(pendingKey('ref-a'), 1, 2_000));
    const late = registry.promote({
      region: 'us-east-1',
      epoch: 1,
      expectedRegistryVersion: 1,
      at: 3_000,
      change: ops,
    });
    await expect(late).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await registry.read()).promotions).toBeUndefined();
  });

  it('carries primaryRegion and epoch through a lifecycle commit', async () => {
    await seed([pendingKey('ref-a')]);
    await registry.promote({
      region: 'us-east-1',
      epoch: 3,
      expectedRegistryVersion: 1,
      at: 5_000,
      change: ops,
    });
    const { state } = await registry.read();
    const { registryVersion, ...rest } = state;
    await registry.commit({
      ...activate(pendingKey('ref-a'), registryVersion, 6_000),
      state: { ...rest, activeKeyRef: 'ref-a' },
    });
    expect((await registry.read()).state).toMatchObject({
      primaryRegion: 'us-east-1',
      epoch: 3,
      registryVersion: 3,
    });
  });
});

describe('DynamoDbRegistry.commit: the fence of a newer promotion (ADR 0008, issue 20)', () => {
  /** A promotion item as replication (or promote-region writing into this region) puts it: STATE untouched. */
  async function promotionArrives(epoch: number, region: string): Promise<void> {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall({ ...promotionItemKey(epoch), epoch, region, promotedAt: 9_000, ...ops }),
      }),
    );
  }

  const activateUnderEpoch = async () => {
    const { state } = await registry.read();
    const { registryVersion, ...rest } = state;
    return {
      ...activate(pendingKey('ref-a'), registryVersion, 6_000),
      state: { ...rest, activeKeyRef: 'ref-a' },
    };
  };

  it('refuses a lifecycle commit with FENCED when the next epoch’s promotion is in this table, and writes nothing', async () => {
    await primaryOfEpochOne();
    const commit = await activateUnderEpoch(); // read before the promotion arrived
    await promotionArrives(2, 'eu-west-1');
    const err = await rejection(registry.commit(commit));
    expect(err).toBeInstanceOf(FencedError);
    expect(err).toMatchObject({ code: 'FENCED', epoch: 1 });
    const after = await registry.read();
    expect(after.state).toMatchObject({ registryVersion: 2, epoch: 1, primaryRegion: 'us-east-1' });
    expect(after.keys.map((k) => k.status)).toEqual(['PENDING']);
  });

  it('refuses the re-assertion of an older epoch’s STATE with FENCED too', async () => {
    await primaryOfEpochOne();
    await promotionArrives(2, 'eu-west-1');
    const { state } = await registry.read();
    const { registryVersion, ...rest } = state;
    const err = await rejection(
      registry.commit({ expectedRegistryVersion: registryVersion, keys: [], state: rest, change: schedule }),
    );
    expect(err).toMatchObject({ code: 'FENCED', epoch: 1 });
  });

  it('commits under the newest epoch when its own promotion is the latest (a promotion older than it does not fence)', async () => {
    await primaryOfEpochOne();
    await registry.commit(await activateUnderEpoch());
    expect((await registry.read()).state).toMatchObject({
      registryVersion: 3,
      epoch: 1,
      activeKeyRef: 'ref-a',
    });
  });

  it('still answers CONFLICT, not FENCED, when the fence holds and the registry changed since the read', async () => {
    await primaryOfEpochOne();
    const commit = await activateUnderEpoch();
    await registry.commit(commit);
    expect(await rejection(registry.commit(commit))).toMatchObject({ code: 'CONFLICT' });
  });

  it('adds no fence to a commit whose STATE names no epoch (one region, exactly as before)', async () => {
    await seed([pendingKey('ref-a')]);
    await promotionArrives(1, 'eu-west-1');
    await registry.commit(activate(pendingKey('ref-a'), 1, 6_000));
    expect((await registry.read()).state.activeKeyRef).toBe('ref-a');
  });
});

describe('DynamoDB Streams on the registry table', () => {
  async function allRecords(): Promise<StreamRecord[]> {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const records: StreamRecord[] = [];
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      while (ShardIterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
        records.push(...(page.Records ?? []));
        ShardIterator = page.Records?.length ? page.NextShardIterator : undefined;
      }
    }
    return records;
  }

  it('delivers INSERT then MODIFY records with old and new images, in order, for a key item', async () => {
    const key = pendingKey('ref-a');
    await seed([key]);
    await registry.markPublished(['ref-a'], 1_000);
    await registry.commit(activate({ ...key, version: 2, publishedAt: 1_000 }, 1, 2_000));
    const image = (i: StreamRecord['dynamodb'], which: 'NewImage' | 'OldImage') =>
      i?.[which] as Record<string, LambdaAttributeValue> | undefined;
    const keyRecords = (await allRecords()).filter((r) =>
      isKeyItem((r.dynamodb?.Keys ?? {}) as Record<string, LambdaAttributeValue>),
    );
    expect(keyRecords.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY']);
    const [insert, published, activated] = keyRecords.map((r) => r.dynamodb);
    expect(image(insert, 'OldImage')).toBeUndefined();
    const newOf = (r: StreamRecord['dynamodb']) => keyRecordFromImage(image(r, 'NewImage') ?? {});
    const oldOf = (r: StreamRecord['dynamodb']) => keyRecordFromImage(image(r, 'OldImage') ?? {});
    expect(newOf(insert)).toMatchObject({ status: 'PENDING', version: 1 });
    expect(oldOf(published)).toEqual(newOf(insert));
    expect(newOf(published)).toMatchObject({ status: 'PENDING', version: 2, publishedAt: 1_000 });
    expect(oldOf(activated)).toEqual(newOf(published));
    expect(newOf(activated)).toEqual((await registry.read()).keys[0]);
    const sequence = keyRecords.map((r) => BigInt(r.dynamodb?.SequenceNumber ?? '0'));
    expect([...sequence].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequence);
  });
});
