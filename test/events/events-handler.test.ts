import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { heartbeatItemKey } from '../../src/adapters/aws/dynamodb-heartbeats.ts';
import type { BusEvent, KeyLifecycleEvent } from '../../src/core/events.ts';
import { JwksError } from '../../src/errors.ts';
import { verifyAuditChain } from '../../src/events/audit-chain.ts';
import { AuditLog, readAudit } from '../../src/events/audit-log.ts';
import type { EventBus } from '../../src/events/ports.ts';
import { createEventsHandler } from '../../src/handlers/events-handler.ts';
import { DAY, keyRecord, T0 } from '../support/fixtures.ts';
import { MemoryObjectStore } from '../support/memory.ts';
import {
  historyRecords,
  keyHistory,
  keyImage,
  keyStreamRecord,
  stateStreamRecord,
} from './stream-fixtures.ts';

const JWKS_URI = 'https://issuer.example/.well-known/jwks.json';
const batch = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

class RecordingBus implements EventBus {
  readonly events: BusEvent[] = [];
  failWhen: ((event: BusEvent) => boolean) | undefined;
  async publish(event: BusEvent): Promise<void> {
    if (this.failWhen?.(event)) throw new JwksError('UPSTREAM', 'SNS is down');
    this.events.push(event);
  }
}

describe('createEventsHandler', () => {
  let store: MemoryObjectStore;
  let bus: RecordingBus;
  let handler: ReturnType<typeof createEventsHandler>;

  beforeEach(() => {
    store = new MemoryObjectStore();
    bus = new RecordingBus();
    handler = createEventsHandler({
      bus,
      audit: new AuditLog({ store }),
      jwksUri: JWKS_URI,
      clock: () => T0,
    });
  });

  it('audits every key record and publishes one event per status change, in order, when a key lives its life', async () => {
    const records = historyRecords(keyHistory('key-a'));
    const response = await handler(batch(records));
    expect(response.batchItemFailures).toEqual([]);
    expect(await store.list('audit/')).toHaveLength(records.length);
    expect(bus.events.map((e) => e.type)).toEqual([
      'key.pending',
      'key.activated',
      'key.retired',
      'key.expired',
    ]);
    // CREATING→PENDING, PENDING→ACTIVE, RETIRED(→RETIRED disabled skipped), EXPIRED: ids are the stream records'.
    expect(bus.events.map((e) => e.id)).toEqual([1, 3, 4, 6].map((i) => records[i]?.eventID));
    expect((bus.events[1] as KeyLifecycleEvent).jwksUri).toBe(JWKS_URI);
    expect(verifyAuditChain(await readAudit(store)).ok).toBe(true);
  });

  it('ignores the STATE item and items outside the registry (clients, heartbeats) when they are in the batch', async () => {
    const client: DynamoDBRecord = {
      ...keyStreamRecord({ new: keyRecord('x', 'ACTIVE') }),
      dynamodb: {
        Keys: marshall({ pk: 'CLIENT#svc', sk: 'CLIENT' }) as Record<string, AttributeValue>,
        NewImage: marshall({ pk: 'CLIENT#svc', sk: 'CLIENT', secretHash: 'h' }) as Record<
          string,
          AttributeValue
        >,
        SequenceNumber: '100000000000000009999',
        ApproximateCreationDateTime: T0 / 1000,
      },
    };
    const heartbeat: DynamoDBRecord = {
      ...client,
      eventID: 'heartbeat',
      dynamodb: {
        Keys: marshall(heartbeatItemKey('us-east-1')) as Record<string, AttributeValue>,
        NewImage: marshall({ ...heartbeatItemKey('us-east-1'), region: 'us-east-1', beatAt: T0 }) as Record<
          string,
          AttributeValue
        >,
        SequenceNumber: '100000000000000009998',
        ApproximateCreationDateTime: T0 / 1000,
      },
    };
    const response = await handler(batch([stateStreamRecord(3), client, heartbeat]));
    expect(response.batchItemFailures).toEqual([]);
    expect(await store.list('')).toEqual([]);
    expect(bus.events).toEqual([]);
  });

  it('writes no second audit object and republishes the same event ids when records are redelivered', async () => {
    const records = historyRecords(keyHistory('key-a'));
    await handler(batch(records.slice(0, 4)));
    const firstIds = bus.events.map((e) => e.id);
    const objects = await store.list('audit/');
    const putsBefore = store.puts.length;

    // A duplicate inside a batch, then a replay of everything from the start.
    await handler(batch([records[3] as DynamoDBRecord, records[3] as DynamoDBRecord]));
    await handler(batch(records.slice(0, 4)));

    expect(store.puts).toHaveLength(putsBefore);
    expect(await store.list('audit/')).toEqual(objects);
    expect(new Set(bus.events.map((e) => e.id))).toEqual(new Set(firstIds));
    expect(bus.events.filter((e) => e.id === records[3]?.eventID)).toHaveLength(4);
  });

  it('fails a malformed record as a batch item failure and processes the others', async () => {
    const a = historyRecords(keyHistory('key-a'));
    const b = historyRecords(keyHistory('key-b', T0 + DAY), T0 + DAY);
    const leaky = keyRecord('key-c', 'PENDING');
    const malformed = keyStreamRecord({ new: leaky });
    const image = keyImage(leaky);
    image.publicJwk = { M: { ...(image.publicJwk?.M ?? {}), d: { S: 'PRIVATE' } } };
    (malformed.dynamodb as { NewImage: unknown }).NewImage = image;
    const undated = keyStreamRecord({ new: keyRecord('key-d', 'PENDING') });
    delete (undated.dynamodb as { ApproximateCreationDateTime?: number }).ApproximateCreationDateTime;

    const response = await handler(batch([a[0], a[1], malformed, b[0], b[1], undated] as DynamoDBRecord[]));

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: malformed.dynamodb?.SequenceNumber },
      { itemIdentifier: undated.dynamodb?.SequenceNumber },
    ]);
    expect((await store.list('audit/')).length).toBe(4);
    expect(bus.events.map((e) => e.id)).toEqual([a[1]?.eventID, b[1]?.eventID]);
    expect(JSON.stringify(await readAudit(store))).not.toContain('PRIVATE');
  });

  it('holds back later records of a key whose record failed, and converges when the batch is retried', async () => {
    const a = historyRecords(keyHistory('key-a'));
    const b = historyRecords(keyHistory('key-b', T0 + DAY), T0 + DAY);
    const interleaved = a.flatMap((r, i) => [r, b[i] as DynamoDBRecord]);
    bus.failWhen = (e) => e.id === a[3]?.eventID; // key-a's activation cannot be published

    const first = await handler(batch(interleaved));

    const failedSeqs = first.batchItemFailures.map((f) => f.itemIdentifier);
    expect(failedSeqs).toEqual(a.slice(3).map((r) => r.dynamodb?.SequenceNumber));
    expect(bus.events.filter((e) => e.id === a[4]?.eventID)).toEqual([]); // no retire before activate
    expect(bus.events.filter((e) => b.some((r) => r.eventID === e.id))).toHaveLength(4);

    // Lambda retries from the first failure; this time SNS answers.
    bus.failWhen = undefined;
    const from = interleaved.findIndex((r) => r.dynamodb?.SequenceNumber === failedSeqs[0]);
    const retry = await handler(batch(interleaved.slice(from)));

    expect(retry.batchItemFailures).toEqual([]);
    const aTypes = bus.events.filter((e) => a.some((r) => r.eventID === e.id)).map((e) => e.type);
    expect(aTypes).toEqual(['key.pending', 'key.activated', 'key.retired', 'key.expired']);
    expect(verifyAuditChain(await readAudit(store))).toMatchObject({ ok: true, chains: 2, records: 14 });
  });

  it('does not publish the event when its audit record could not be written', async () => {
    const records = historyRecords(keyHistory('key-a'));
    store.faults.crash('store.put', 'before');
    const pending = records[1] as DynamoDBRecord; // CREATING → PENDING: announces key.pending
    const response = await handler(batch([pending]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: pending.dynamodb?.SequenceNumber }]);
    expect(bus.events).toEqual([]);
    await handler(batch([pending]));
    expect(bus.events.map((e) => e.id)).toEqual([pending.eventID]);
  });

  it('counts the records it reports as failed in RecordsFailed, once per invocation, and publishes the metric', async () => {
    const emitted: Array<[string, number]> = [];
    let published = 0;
    const counted = createEventsHandler({
      bus,
      audit: new AuditLog({ store }),
      jwksUri: JWKS_URI,
      clock: () => T0,
      metrics: {
        addMetric: (name, _unit, value) => emitted.push([name, value]),
        publishStoredMetrics: () => {
          published++;
        },
      },
    });
    const a = historyRecords(keyHistory('key-a'));
    bus.failWhen = (e) => e.id === a[3]?.eventID; // activation fails: it and the 3 later records of key-a

    const failed = await counted(batch(a));
    expect(failed.batchItemFailures).toHaveLength(a.length - 3);
    expect(emitted).toEqual([['RecordsFailed', a.length - 3]]);

    bus.failWhen = undefined;
    await counted(batch(a.slice(3)));
    expect(emitted).toEqual([
      ['RecordsFailed', a.length - 3],
      ['RecordsFailed', 0],
    ]);
    expect(published).toBe(2);
  });
});
