import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import { keyRecordFromImage } from '../../src/adapters/aws/registry-items.ts';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import {
  type StreamConsumer,
  StreamPoller,
  type StreamPollerOptions,
} from '../../src/local/stream-poller.ts';
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
let checkpointDir: string;
const pollers: StreamPoller[] = [];

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  client = localDynamoDbClient(ddb.endpoint);
  streams = localStreamsClient(ddb.endpoint);
});

afterAll(async () => {
  client?.destroy();
  streams?.destroy();
  await ddb?.stop();
});

beforeEach(async () => {
  tableName = uniqueTableName('poller');
  ({ streamArn } = await createRegistryTable(client, tableName));
  checkpointDir = mkdtempSync(join(tmpdir(), 'jwks-checkpoints-'));
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  rmSync(checkpointDir, { recursive: true, force: true });
});

function startPoller(consumers: StreamConsumer[], opts: Partial<StreamPollerOptions> = {}): StreamPoller {
  const poller = new StreamPoller({
    client: streams,
    streamArn,
    checkpointDir,
    consumers,
    retryBaseMs: 50,
    ...opts,
  });
  pollers.push(poller);
  poller.start();
  return poller;
}

/** A consumer that records every event; `respond` decides what the handler returns or throws. */
function recorder(
  name: string,
  respond?: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse | undefined,
) {
  const events: DynamoDBStreamEvent[] = [];
  const consumer: StreamConsumer = {
    name,
    handler: async (event) => {
      events.push(event);
      return respond?.(event, events.length);
    },
  };
  const records = (): DynamoDBRecord[] => events.flatMap((e) => e.Records);
  const values = () => records().map((r) => `${r.dynamodb?.Keys?.sk?.S}=${r.dynamodb?.NewImage?.n?.N}`);
  return { consumer, events, records, values };
}

const put = (sk: string, n: number) =>
  client.send(
    new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'p' }, sk: { S: sk }, n: { N: `${n}` } } }),
  );

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seqOf = (r: DynamoDBRecord | undefined) => r?.dynamodb?.SequenceNumber;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StreamPoller', () => {
  it('hands a registry write to the handler as a Lambda event within a second', async () => {
    const got = recorder('publish');
    startPoller([got.consumer]);
    await put('warm-up', 0); // the JVM's first writes are slow (JIT); measure the steady state
    await until(() => got.records().length === 1);
    const registry = new DynamoDbRegistry({ client, tableName });
    await registry.commit({
      expectedRegistryVersion: 0,
      keys: [
        {
          record: {
            keyRef: 'r1',
            alg: 'RS256',
            status: 'CREATING',
            version: 1,
            createdAt: 1,
            changedBy: '',
            reason: '',
          },
          expectedVersion: null,
        },
      ],
      state: { pendingKeyRef: 'r1' },
      change: { changedBy: 'schedule', reason: 'standby' },
    });
    const written = Date.now();
    let deliveredAt = 0;
    await until(() => {
      deliveredAt = Date.now();
      return got.records().length >= 3;
    });
    // From the acknowledged write to the handler: ≈ 0–150 ms with the default 100 ms poll interval
    // (a record can even arrive before the write's HTTP response). The transaction itself is not the
    // poller's latency, and < 1 s keeps a loaded CI machine green.
    expect(deliveredAt - written).toBeLessThan(1_000);
    const key = got.records().find((r) => r.dynamodb?.Keys?.sk?.S === 'KEY#r1');
    expect(key).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventSourceARN: streamArn,
      dynamodb: {
        StreamViewType: 'NEW_AND_OLD_IMAGES',
        Keys: { pk: { S: 'REGISTRY' }, sk: { S: 'KEY#r1' } },
      },
    });
    expect(Math.abs((key?.dynamodb?.ApproximateCreationDateTime ?? 0) - written / 1000)).toBeLessThan(120);
    expect(keyRecordFromImage(key?.dynamodb?.NewImage ?? {})).toEqual((await registry.read()).keys[0]);
  });

  it('delivers each item’s records in write order', async () => {
    const got = recorder('events');
    startPoller([got.consumer], { batchSize: 3 });
    for (let n = 1; n <= 5; n++) {
      await put('a', n);
      await put('b', n);
    }
    await until(() => got.records().length === 10);
    for (const sk of ['a', 'b']) {
      expect(got.values().filter((v) => v.startsWith(`${sk}=`))).toEqual(
        [1, 2, 3, 4, 5].map((n) => `${sk}=${n}`),
      );
    }
    expect(got.events.every((e) => e.Records.length <= 3)).toBe(true);
  });

  it('gives every record to each consumer when two consumers read the stream', async () => {
    const publish = recorder('publish');
    const events = recorder('events');
    startPoller([publish.consumer, events.consumer]);
    for (let n = 1; n <= 6; n++) await put(`k${n}`, n);
    await until(() => publish.records().length === 6 && events.records().length === 6);
    expect(events.records().map((r) => r.eventID)).toEqual(publish.records().map((r) => r.eventID));
  });

  it('redelivers from the first failed record, not the ones before it, when the handler reports a batch item failure', async () => {
    for (let n = 1; n <= 5; n++) await put(`k${n}`, n);
    const got = recorder('publish', (event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: seqOf(event.Records[2]) ?? '' }] } : undefined,
    );
    startPoller([got.consumer]);
    await until(() => got.events.length >= 2);
    expect(got.events[0]?.Records).toHaveLength(5);
    expect(got.events[1]?.Records.map((r) => r.eventID)).toEqual(
      got.events[0]?.Records.slice(2).map((r) => r.eventID),
    );
  });

  it('redelivers the whole batch when the handler throws', async () => {
    for (let n = 1; n <= 3; n++) await put(`k${n}`, n);
    const got = recorder('publish', (_, call) => {
      if (call === 1) throw new Error('downstream unavailable');
      return undefined;
    });
    startPoller([got.consumer]);
    await until(() => got.events.length >= 2);
    expect(got.events[1]?.Records.map((r) => r.eventID)).toEqual(
      got.events[0]?.Records.map((r) => r.eventID),
    );
    await pause(300);
    expect(got.records()).toHaveLength(6); // no third delivery once it succeeded
  });

  it('resumes after the last processed record when restarted on the same checkpoint dir', async () => {
    for (let n = 1; n <= 3; n++) await put(`k${n}`, n);
    const first = recorder('publish');
    const poller = startPoller([first.consumer]);
    await until(() => first.records().length === 3);
    await poller.stop();
    for (let n = 4; n <= 5; n++) await put(`k${n}`, n);
    const second = recorder('publish');
    startPoller([second.consumer]);
    await until(() => second.records().length === 2);
    await pause(300);
    expect(second.values()).toEqual(['k4=4', 'k5=5']);
  });

  it('resumes at the failed record after a restart when a batch item failure was never retried', async () => {
    for (let n = 1; n <= 4; n++) await put(`k${n}`, n);
    const first = recorder('publish', (event) => ({
      batchItemFailures: [{ itemIdentifier: seqOf(event.Records[1]) ?? '' }],
    }));
    const poller = startPoller([first.consumer], { retryBaseMs: 60_000 });
    await until(() => first.events.length === 1);
    await poller.stop();
    const second = recorder('publish');
    startPoller([second.consumer]);
    await until(() => second.records().length === 3);
    expect(second.values()).toEqual(['k2=2', 'k3=3', 'k4=4']);
  });

  it('keeps one checkpoint file per consumer, each at its own position', async () => {
    const ok = recorder('publish');
    const failing = recorder('events', (_, call) => {
      if (call > 1) throw new Error('failing from the second batch on');
      return undefined;
    });
    startPoller([ok.consumer, failing.consumer]);
    await put('k1', 1);
    await until(() => ok.records().length === 1 && failing.records().length === 1);
    await put('k2', 2);
    await until(() => ok.records().length === 2 && failing.events.length >= 2);
    await pause(100);
    expect(readdirSync(checkpointDir).sort()).toEqual(['events.json', 'publish.json']);
    const positions = (name: string) => {
      const checkpoint = JSON.parse(readFileSync(join(checkpointDir, `${name}.json`), 'utf8'));
      expect(checkpoint.streamArn).toBe(streamArn);
      return Object.values(checkpoint.shards);
    };
    expect(positions('publish')).toEqual([{ sequenceNumber: seqOf(ok.records()[1]) }]);
    expect(positions('events')).toEqual([{ sequenceNumber: seqOf(ok.records()[0]) }]);
  });

  it('waits for the batch in flight when stopped', async () => {
    await put('k1', 1);
    let started = false;
    let finished = false;
    const slow: StreamConsumer = {
      name: 'publish',
      handler: async () => {
        started = true;
        await pause(300);
        finished = true;
      },
    };
    const poller = startPoller([slow]);
    await until(() => started);
    await poller.stop();
    expect(finished).toBe(true);
  });

  it('rejects duplicate or path-like consumer names with INVALID_ARGUMENT', () => {
    const handler = async () => {};
    const make = (names: string[]) => () =>
      new StreamPoller({
        client: streams,
        streamArn,
        checkpointDir,
        consumers: names.map((name) => ({ name, handler })),
      });
    expect(make(['a', 'a'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(make(['../escape'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
