/**
 * The events consumer on the real registry stream: DynamoDbRegistry commits on DynamoDB Local, the
 * local stream poller feeding the events handler, as the local stack wires it. Proves the stream
 * records DynamoDB Local produces (event ids, sequence numbers, creation times) audit and chain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import type { BusEvent, KeyLifecycleEvent } from '../../src/core/events.ts';
import { buildCommit, type Transition } from '../../src/core/transitions.ts';
import type { ChangeContext } from '../../src/core/types.ts';
import { verifyAuditChain } from '../../src/events/audit-chain.ts';
import { AuditLog, readAudit } from '../../src/events/audit-log.ts';
import { createEventsHandler } from '../../src/handlers/events-handler.ts';
import { StreamPoller } from '../../src/local/stream-poller.ts';
import {
  type DynamoDbLocal,
  localDynamoDbClient,
  localStreamsClient,
  startDynamoDbLocal,
  uniqueTableName,
} from '../support/dynamodb-local.ts';
import { fakeJwk, T0 } from '../support/fixtures.ts';
import { MemoryObjectStore } from '../support/memory.ts';

const SCHEDULE: ChangeContext = { changedBy: 'schedule', reason: 'scheduled reconciliation' };
const OPERATOR: ChangeContext = { changedBy: 'cli:alice', reason: 'key compromised' };

describe('events handler on the DynamoDB Local stream', () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let poller: StreamPoller | undefined;
  let checkpointDir: string;

  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
    client = localDynamoDbClient(ddb.endpoint);
    streams = localStreamsClient(ddb.endpoint);
    checkpointDir = mkdtempSync(join(tmpdir(), 'jwks-events-checkpoints-'));
  });
  afterAll(async () => {
    await poller?.stop();
    client?.destroy();
    streams?.destroy();
    await ddb?.stop();
    rmSync(checkpointDir, { recursive: true, force: true });
  });

  it('announces every status change in order per key and leaves intact chains when keys rotate and one is revoked', async () => {
    const tableName = uniqueTableName('events');
    const { streamArn } = await createRegistryTable(client, tableName);
    const registry = new DynamoDbRegistry({ client, tableName });
    const store = new MemoryObjectStore();
    const events: BusEvent[] = [];
    const handler = createEventsHandler({
      bus: { publish: async (e) => void events.push(e) },
      audit: new AuditLog({ store }),
      jwksUri: 'http://127.0.0.1:8787/.well-known/jwks.json',
    });
    poller = new StreamPoller({
      client: streams,
      streamArn,
      checkpointDir,
      consumers: [{ name: 'events', handler }],
    });
    poller.start();

    let now = T0;
    let writes = 0;
    const apply = async (t: Transition, change = SCHEDULE) => {
      now += 1_000;
      const commit = buildCommit(await registry.read(), t, now, change);
      await registry.commit(commit);
      writes += commit.keys.length;
    };
    const jwkA = fakeJwk('a');
    const jwkB = fakeJwk('b');
    await apply({ type: 'recordIntent', keyRef: 'key-a', alg: 'ES256' });
    await apply({ type: 'completeIntent', keyRef: 'key-a', vaultKeyId: 'vault-a', publicJwk: jwkA });
    now += 1_000;
    await registry.markPublished(['key-a'], now);
    writes += 1;
    await apply({ type: 'activate', keyRef: 'key-a' });
    await apply({ type: 'recordIntent', keyRef: 'key-b', alg: 'ES256' });
    await apply({ type: 'completeIntent', keyRef: 'key-b', vaultKeyId: 'vault-b', publicJwk: jwkB });
    now += 1_000;
    await registry.markPublished(['key-b'], now); // only a published standby is promoted
    writes += 1;
    await apply({ type: 'revoke', keyRef: 'key-a' }, OPERATOR); // promotes key-b in the same transaction
    await apply({ type: 'markDisabled', keyRef: 'key-a' }, OPERATOR);

    await vi.waitFor(async () => expect(await store.list('audit/')).toHaveLength(writes), {
      timeout: 20_000,
      interval: 100,
    });

    const typesOf = (kid: string) =>
      (events as KeyLifecycleEvent[]).filter((e) => e.kid === kid).map((e) => [e.type, e.previousStatus]);
    expect(typesOf(jwkA.kid)).toEqual([
      ['key.pending', 'CREATING'],
      ['key.activated', 'PENDING'],
      ['key.revoked', 'ACTIVE'],
    ]);
    expect(typesOf(jwkB.kid)).toEqual([
      ['key.pending', 'CREATING'],
      ['key.activated', 'PENDING'],
    ]);
    const revoked = (events as KeyLifecycleEvent[]).find((e) => e.type === 'key.revoked');
    expect(revoked).toMatchObject({ changedBy: 'cli:alice', reason: 'key compromised', registryVersion: 6 });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const audit = await readAudit(store);
    expect(verifyAuditChain(audit)).toEqual({ ok: true, chains: 2, records: writes, firstBreak: null });
    expect(audit.filter((e) => e.record?.event === null).map((e) => e.record?.newImage?.status)).toEqual([
      'CREATING',
      'PENDING', // the publication mark
      'REVOKED', // the disable mark
      'CREATING',
      'PENDING', // key-b's publication mark
    ]);
  });
});
