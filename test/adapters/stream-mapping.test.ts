/**
 * The poller's shard mechanics that DynamoDB Local never exercises (it does not split shards, trim or
 * expire iterators within a test): a small fake stream behind aws-sdk-client-mock. The happy paths
 * run against the real emulator in stream-poller.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  InternalServerError,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type StreamConsumer,
  StreamPoller,
  type StreamPollerOptions,
} from '../../src/local/stream-poller.ts';

const streamArn = 'arn:aws:dynamodb:eu-west-1:111122223333:table/registry/stream/2024-01-01T00:00:00.000';
const streams = mockClient(DynamoDBStreamsClient);
const client = new DynamoDBStreamsClient({ region: 'eu-west-1' });
let checkpointDir: string;
let poller: StreamPoller | undefined;

interface FakeShard {
  readonly id: string;
  readonly parent?: string;
  readonly seqs: string[];
  readonly closed: boolean;
}

/** A stream whose iterators are `{ shard, index }` JSON; closed shards end with no NextShardIterator. */
function fakeStream(shards: FakeShard[]) {
  const byId = (id: string | undefined) => shards.find((s) => s.id === id) ?? expect.fail(`no shard ${id}`);
  streams.on(DescribeStreamCommand).callsFake(async () => ({
    StreamDescription: { Shards: shards.map((s) => ({ ShardId: s.id, ParentShardId: s.parent })) },
  }));
  streams.on(GetShardIteratorCommand).callsFake(async (input) => {
    const shard = byId(input.ShardId);
    const at = shard.seqs.indexOf(input.SequenceNumber ?? '');
    const index =
      input.ShardIteratorType === 'TRIM_HORIZON'
        ? 0
        : input.ShardIteratorType === 'AT_SEQUENCE_NUMBER'
          ? at
          : at + 1;
    return { ShardIterator: JSON.stringify({ shard: shard.id, index }) };
  });
  streams.on(GetRecordsCommand).callsFake(async (input) => {
    const { shard: id, index } = JSON.parse(input.ShardIterator ?? '{}') as { shard: string; index: number };
    const shard = byId(id);
    const seqs = shard.seqs.slice(index, index + (input.Limit ?? 1000));
    const next = index + seqs.length;
    return {
      Records: seqs.map((seq) => ({
        eventID: seq,
        eventName: 'INSERT' as const,
        dynamodb: { SequenceNumber: seq, Keys: { pk: { S: id } }, ApproximateCreationDateTime: new Date(0) },
      })),
      NextShardIterator:
        shard.closed && next >= shard.seqs.length ? undefined : JSON.stringify({ shard: id, index: next }),
    };
  });
}

function collect(name = 'publish') {
  const ids: string[] = [];
  const consumer: StreamConsumer = {
    name,
    handler: async (event: DynamoDBStreamEvent) => {
      ids.push(...event.Records.map((r) => r.eventID ?? ''));
    },
  };
  return { ids, consumer };
}

function start(consumers: StreamConsumer[], opts: Partial<StreamPollerOptions> = {}): StreamPoller {
  poller = new StreamPoller({
    client,
    streamArn,
    checkpointDir,
    consumers,
    pollIntervalMs: 10,
    retryBaseMs: 50,
    retryMaxMs: 200,
    ...opts,
  });
  poller.start();
  return poller;
}

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const parentAndChild = (): FakeShard[] => [
  // Listed child first: the order must come from ParentShardId, not from the listing.
  { id: 'shard-child', parent: 'shard-parent', seqs: ['004', '005', '006'], closed: false },
  { id: 'shard-parent', seqs: ['001', '002', '003'], closed: true },
];
const meta = { $metadata: {} };

beforeEach(() => {
  streams.reset();
  checkpointDir = mkdtempSync(join(tmpdir(), 'jwks-mapping-'));
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  rmSync(checkpointDir, { recursive: true, force: true });
});

describe('StreamPoller shard handling', () => {
  it('finishes a closed parent shard before its child and records it as finished', async () => {
    fakeStream(parentAndChild());
    const got = collect();
    start([got.consumer], { batchSize: 2 });
    await until(() => got.ids.length === 6);
    expect(got.ids).toEqual(['001', '002', '003', '004', '005', '006']);
    // The checkpoint is written after the handler returns: wait for the last batch's.
    const read = () => JSON.parse(readFileSync(join(checkpointDir, 'publish.json'), 'utf8'));
    await until(() => read().shards['shard-child']?.sequenceNumber === '006');
    const checkpoint = read();
    expect(checkpoint.shards).toEqual({
      'shard-parent': { sequenceNumber: '003', finished: true },
      'shard-child': { sequenceNumber: '006' },
    });
  });

  it('skips a finished parent and resumes the child after a restart', async () => {
    const shards = parentAndChild();
    fakeStream(shards);
    const first = collect();
    start([first.consumer]);
    await until(() => first.ids.length === 6);
    await poller?.stop();
    shards[0]?.seqs.push('007');
    const second = collect();
    start([second.consumer]);
    await until(() => second.ids.length === 1);
    await pause(100);
    expect(second.ids).toEqual(['007']);
  });

  it('re-acquires an expired iterator from the checkpoint without loss or duplicates', async () => {
    fakeStream([{ id: 'shard-1', seqs: ['001', '002', '003', '004', '005'], closed: false }]);
    let calls = 0;
    streams.on(GetRecordsCommand).callsFake(async (input) => {
      calls++;
      if (calls === 2) throw new ExpiredIteratorException({ message: 'Iterator expired', ...meta });
      const { index } = JSON.parse(input.ShardIterator ?? '{}') as { index: number };
      const seqs = ['001', '002', '003', '004', '005'].slice(index, index + 2);
      return {
        Records: seqs.map((seq) => ({ eventID: seq, dynamodb: { SequenceNumber: seq } })),
        NextShardIterator: JSON.stringify({ shard: 'shard-1', index: index + seqs.length }),
      };
    });
    const got = collect();
    start([got.consumer], { batchSize: 2 });
    await until(() => got.ids.length >= 5);
    await pause(100);
    expect(got.ids).toEqual(['001', '002', '003', '004', '005']);
  });

  it('warns and restarts at TRIM_HORIZON when the checkpointed records were trimmed', async () => {
    fakeStream([{ id: 'shard-1', seqs: ['101', '102'], closed: false }]);
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' })
      .rejects(new TrimmedDataAccessException({ message: 'trimmed', ...meta }));
    writeFileSync(
      join(checkpointDir, 'publish.json'),
      JSON.stringify({ streamArn, shards: { 'shard-1': { sequenceNumber: '007' } } }),
    );
    const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const got = collect();
    start([got.consumer], { log });
    await until(() => got.ids.length === 2);
    expect(got.ids).toEqual(['101', '102']);
    expect(log.warn).toHaveBeenCalledWith(expect.stringContaining('trimmed'), expect.anything());
  });

  it('backs off instead of hot-looping when DescribeStream keeps failing', async () => {
    streams.on(DescribeStreamCommand).rejects(new InternalServerError({ message: 'boom', ...meta }));
    start([collect().consumer]);
    await pause(700);
    const calls = streams.commandCalls(DescribeStreamCommand).length;
    // Backoff 50, 100, 200, 200… ms (+10 ms poll): about 5 attempts in 700 ms, not hundreds.
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(8);
  });

  it('backs off instead of hot-looping when the handler keeps throwing', async () => {
    fakeStream([{ id: 'shard-1', seqs: ['001'], closed: false }]);
    let invocations = 0;
    start([
      {
        name: 'events',
        handler: async () => {
          invocations++;
          throw new Error('always');
        },
      },
    ]);
    await pause(700);
    expect(invocations).toBeGreaterThanOrEqual(2);
    expect(invocations).toBeLessThanOrEqual(8);
  });

  it('fails the whole batch when the handler reports an itemIdentifier not in it', async () => {
    fakeStream([{ id: 'shard-1', seqs: ['001', '002'], closed: false }]);
    const seen: string[][] = [];
    start([
      {
        name: 'publish',
        handler: async (event) => {
          seen.push(event.Records.map((r) => r.eventID ?? ''));
          return seen.length === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] } : undefined;
        },
      },
    ]);
    await until(() => seen.length === 2);
    expect(seen).toEqual([
      ['001', '002'],
      ['001', '002'],
    ]);
  });
});
