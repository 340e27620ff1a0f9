import { generateKeyPairSync } from 'node:crypto';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatItemKey } from '../../src/adapters/aws/dynamodb-heartbeats.ts';
import { METRICS, OBJECT_KEYS, TABLE } from '../../src/constants.ts';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import { createPublishHandler } from '../../src/handlers/publish-handler.ts';
import { reconcile } from '../../src/reconciler.ts';
import { keyRecord, policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const policy = policyOf({ jwksMaxAge: '60s', prepublishLead: '1h', rotationPeriod: '1d' });

let seq = 0;
function record(
  overrides: Partial<DynamoDBRecord> = {},
  sk = `${TABLE.KEY_SORT_PREFIX}ref-001`,
): DynamoDBRecord {
  seq += 1;
  return {
    eventID: `ev-${seq}`,
    eventName: 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { pk: { S: TABLE.REGISTRY_PARTITION }, sk: { S: sk } },
      NewImage: { pk: { S: TABLE.REGISTRY_PARTITION }, sk: { S: sk } },
      SequenceNumber: String(1000 + seq),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...overrides,
  };
}

const event = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

describe('createPublishHandler', () => {
  let world: World;
  let handler: ReturnType<typeof createPublishHandler>;

  beforeAll(() => MemoryKeyVault.warmPool(['RS256'], 4));

  beforeEach(async () => {
    world = makeWorld(policy);
    // A bootstrapped registry: one PENDING key, not yet published.
    await reconcile(world.ops, T0);
    handler = createPublishHandler({ ...world.publish, clock: () => T0 + 1000 });
  });

  it('publishes the registry once per batch when the batch holds several records', async () => {
    const response = await handler(event(record(), record(), record()));
    expect(response.batchItemFailures).toEqual([]);
    expect(world.store.puts.filter((p) => p.key === OBJECT_KEYS.JWKS)).toHaveLength(1);
    expect(world.cdn.invalidations).toHaveLength(1);
  });

  it('converges without a second write or invalidation when records are duplicated or replayed', async () => {
    const first = record();
    const second = record();
    await handler(event(first, second));
    await handler(event(second, first)); // reordered replay
    await handler(event(first)); // duplicate
    expect(world.store.puts.filter((p) => p.key === OBJECT_KEYS.JWKS)).toHaveLength(1);
    expect(world.cdn.invalidations).toHaveLength(1);
  });

  it('reports a malformed record as a batch item failure and still publishes the good ones', async () => {
    const bad = record({ eventName: undefined });
    const noKeys = record();
    noKeys.dynamodb = { SequenceNumber: '77', NewImage: {} };
    const response = await handler(event(record(), bad, noKeys));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [bad.dynamodb?.SequenceNumber, '77'].sort(),
    );
    expect(world.store.puts.filter((p) => p.key === OBJECT_KEYS.JWKS)).toHaveLength(1);
  });

  it('records publishedAt on the keys it published, which opens the activation gate', async () => {
    await handler(event(record()));
    const keys = world.registry.snapshot().keys;
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.status !== 'PENDING' || k.publishedAt === T0 + 1000)).toBe(true);
  });

  it.each([
    ['a client', { pk: 'CLIENT#svc', sk: 'CLIENT' }],
    // Every region's rotate function beats on every run: those changes must never republish.
    ["a region's heartbeat", heartbeatItemKey('us-east-1')],
  ])('does not publish for records of other partitions when the record is %s', async (_, keys) => {
    const other = record({}, 'CLIENT');
    other.dynamodb = { ...other.dynamodb, Keys: { pk: { S: keys.pk }, sk: { S: keys.sk } } };
    const response = await handler(event(other));
    expect(response.batchItemFailures).toEqual([]);
    expect(world.store.puts).toHaveLength(0);
  });

  it('publishes the discovery documents for the issuer next to the JWKS', async () => {
    const withIssuer = createPublishHandler({ ...world.publish, issuer: 'https://auth.example.com' });
    await withIssuer(event(record()));
    const metadata = JSON.parse(world.store.text(OBJECT_KEYS.OAUTH_METADATA) ?? '{}');
    expect(metadata).toMatchObject({
      issuer: 'https://auth.example.com',
      jwks_uri: 'https://auth.example.com/.well-known/jwks.json',
    });
    expect(world.store.text(OBJECT_KEYS.OPENID_CONFIGURATION)).toBeDefined();
  });

  it('checks the discovery documents once per container, not on every batch', async () => {
    const withIssuer = createPublishHandler({ ...world.publish, issuer: 'https://auth.example.com' });
    await withIssuer(event(record()));
    const heads: string[] = [];
    const head = world.store.head.bind(world.store);
    world.store.head = (key) => {
      heads.push(key);
      return head(key);
    };
    await withIssuer(event(record()));
    expect(heads).not.toContain(OBJECT_KEYS.OAUTH_METADATA);
    expect(heads).toContain(OBJECT_KEYS.JWKS);
  });

  it('announces a changed write as jwks.published once, and nothing when the bytes are unchanged', async () => {
    const sent: Array<{ id: string; type: string }> = [];
    const bus = { publish: async (e: { id: string; type: string }) => void sent.push(e) };
    const jwksUri = 'https://auth.example.com/.well-known/jwks.json';
    const announcing = createPublishHandler({
      ...world.publish,
      clock: () => T0 + 1000,
      events: { bus, jwksUri },
    });
    await announcing(event(record()));
    await announcing(event(record())); // replay: same bytes, nothing to announce
    expect(sent).toHaveLength(1);
    const put = world.store.puts.find((p) => p.key === OBJECT_KEYS.JWKS);
    const kids = JSON.parse(put?.body ?? '{}').keys.map((k: { kid: string }) => k.kid);
    expect(sent[0]).toMatchObject({ type: 'jwks.published', jwksUri, kids, changedBy: 'publisher' });
    expect(sent[0]?.id).toMatch(/^jwks-\d+-[0-9a-f]{64}$/);
  });

  it('keeps the publication when the jwks.published notification cannot be delivered', async () => {
    const bus = {
      publish: async () => {
        throw new Error('SNS down');
      },
    };
    const announcing = createPublishHandler({ ...world.publish, events: { bus, jwksUri: 'https://x/j' } });
    const response = await announcing(event(record()));
    expect(response.batchItemFailures).toEqual([]);
    expect(world.store.puts.filter((p) => p.key === OBJECT_KEYS.JWKS)).toHaveLength(1);
  });

  it('fails the whole batch when the publication fails, so Lambda retries it', async () => {
    world.cdn.failures = Number.POSITIVE_INFINITY;
    await expect(handler(event(record()))).rejects.toMatchObject({ code: 'INVALIDATION_FAILED' });
    expect(world.registry.snapshot().keys.every((k) => k.publishedAt === undefined)).toBe(true);
  });

  it('counts UnverifiedKeys on every publication: 0, then 1 once a record no vault key backs is written', async () => {
    const metrics: Array<[string, number]> = [];
    let flushed = 0;
    const sink = {
      addMetric: (n: string, _u: 'Count', v: number) => void metrics.push([n, v]),
      publishStoredMetrics: () => void flushed++,
    };
    const counting = createPublishHandler({ ...world.publish, clock: () => T0 + 1000, metrics: sink });
    await counting(event(record()));
    const jwk = await publicJwkFromKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'ES256');
    const snap = world.registry.snapshot();
    world.registry.restore({
      ...snap,
      keys: [
        ...snap.keys,
        keyRecord('foreign', 'RETIRED', { kid: jwk.kid, publicJwk: jwk, vaultKeyId: 'arn:x' }),
      ],
    });
    await counting(event(record()));
    expect(metrics).toEqual([
      [METRICS.UNVERIFIED_KEYS, 0],
      [METRICS.UNVERIFIED_KEYS, 1],
    ]);
    expect(flushed).toBe(2);
    expect(world.store.text(OBJECT_KEYS.JWKS)).not.toContain(jwk.kid);
  });
});
