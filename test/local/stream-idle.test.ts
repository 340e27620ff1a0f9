import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Commit } from '../../src/core/types.ts';
import type { CheckpointStore, ShardCheckpoint } from '../../src/local/stream-checkpoints.ts';
import { EventSourceMapping, type MappingSettings } from '../../src/local/stream-mapping.ts';
import { StreamWakeup, wakingRegistry } from '../../src/local/stream-wakeup.ts';
import type { Registry } from '../../src/ports.ts';
import { silentLog } from '../../src/ports.ts';

const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1';
const SETTINGS: MappingSettings = {
  batchSize: 100,
  pollIntervalMs: 100,
  idlePollMaxMs: 400,
  describeIntervalMs: 60_000,
  retryBaseMs: 200,
  retryMaxMs: 10_000,
};

/** One open shard; GetRecords answers the queued pages, then empty pages. Records when each read came. */
function fakeStream() {
  const pages: SdkRecord[][] = [];
  const readsAt: number[] = [];
  let onRead: () => void = () => {};
  const client = {
    send: async (command: unknown) => {
      if (command instanceof DescribeStreamCommand) {
        return { StreamDescription: { Shards: [{ ShardId: 'shard-1' }] } };
      }
      if (command instanceof GetShardIteratorCommand) return { ShardIterator: 'it' };
      if (command instanceof GetRecordsCommand) {
        readsAt.push(Date.now());
        onRead();
        return { Records: pages.shift() ?? [], NextShardIterator: 'it' };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  } as unknown as DynamoDBStreamsClient;
  return {
    client,
    pages,
    readsAt,
    /** Gaps between consecutive reads, ms. */
    gaps: () => readsAt.slice(1).map((t, i) => t - (readsAt[i] as number)),
    duringRead: (f: () => void) => {
      onRead = f;
    },
  };
}

/** In memory: the checkpoint file is not what these tests are about. */
function memoryCheckpoints(): CheckpointStore {
  const shards: Record<string, ShardCheckpoint> = {};
  return {
    load: async () => ({ streamArn: STREAM_ARN, shards }),
    shard: (id: string) => shards[id] ?? {},
    update: async (id: string, c: ShardCheckpoint) => {
      shards[id] = c;
    },
    retain: async () => {},
  } as unknown as CheckpointStore;
}

const record = (seq: string): SdkRecord => ({
  eventName: 'MODIFY',
  dynamodb: { SequenceNumber: seq, Keys: { pk: { S: 'p' } } },
});

let abort: AbortController;
let running: Promise<void> | undefined;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  abort = new AbortController();
});

afterEach(async () => {
  abort.abort();
  await vi.runAllTimersAsync();
  await running;
  vi.useRealTimers();
});

function start(
  stream: ReturnType<typeof fakeStream>,
  wakeup = new StreamWakeup(),
  delivered: string[] = [],
  idlePollMaxMs?: number,
) {
  const mapping = new EventSourceMapping(
    stream.client,
    STREAM_ARN,
    {
      name: 'publish',
      handler: async (event) => {
        delivered.push(...event.Records.map((r) => r.dynamodb?.SequenceNumber ?? ''));
      },
      ...(idlePollMaxMs !== undefined && { idlePollMaxMs }),
    },
    memoryCheckpoints(),
    SETTINGS,
    silentLog,
    wakeup,
  );
  const run = mapping.run(abort.signal);
  running = Promise.all([running, run]).then(() => undefined);
  return { wakeup, delivered };
}

describe('EventSourceMapping while the stream is idle', () => {
  it('doubles the pause after each empty read, up to idlePollMaxMs', async () => {
    const stream = fakeStream();
    start(stream);
    await vi.advanceTimersByTimeAsync(2_500);
    expect(stream.gaps().slice(0, 7)).toEqual([100, 200, 400, 400, 400, 400, 400]);
  });

  it('reads at once when this process notifies a write, however long it had backed off', async () => {
    const stream = fakeStream();
    const { wakeup } = start(stream);
    await vi.advanceTimersByTimeAsync(1_000); // backed off to the cap
    const before = stream.readsAt.length;
    await vi.advanceTimersByTimeAsync(50);
    wakeup.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(stream.readsAt.length).toBe(before + 1);
    expect(stream.readsAt.at(-1)).toBe(Date.now());
  });

  it('does not lose a notify that comes while a read is in flight', async () => {
    const stream = fakeStream();
    const { wakeup } = start(stream);
    await vi.advanceTimersByTimeAsync(1_000);
    let notifiedAt: number | undefined;
    stream.duringRead(() => {
      if (notifiedAt === undefined) {
        notifiedAt = Date.now();
        wakeup.notify();
      }
    });
    await vi.advanceTimersByTimeAsync(400); // the next backed-off read comes, and sees the notify
    const next = stream.readsAt[stream.readsAt.indexOf(notifiedAt as number) + 1];
    expect(next).toBe(notifiedAt); // read again at once, not after the backed-off pause
  });

  it('goes back to the short pause after a read that delivered records', async () => {
    const stream = fakeStream();
    const { delivered } = start(stream);
    await vi.advanceTimersByTimeAsync(1_000);
    stream.pages.push([record('1'), record('2')]);
    const from = stream.readsAt.length;
    await vi.advanceTimersByTimeAsync(1_500);
    expect(delivered).toEqual(['1', '2']);
    // The read that found the records, at once the next (it made progress), then 100, 200, 400 again.
    expect(stream.gaps().slice(from, from + 4)).toEqual([0, 100, 200, 400]);
  });
});

describe('EventSourceMappings sharing a StreamWakeup', () => {
  it('wakes a consumer with a longer idle cap when another one finds records', async () => {
    const wakeup = new StreamWakeup();
    const publish = fakeStream();
    const events = fakeStream();
    start(publish, wakeup);
    start(events, wakeup, [], 5_000);
    await vi.advanceTimersByTimeAsync(12_000);
    // Backed off to 5 s: reads at 0, 100, 300, 700, 1500, 3100, 6300, 11300; the next due at 16300.
    expect(events.gaps()).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000]);
    const pushedAt = Date.now();
    publish.pages.push([record('1')]);
    await vi.advanceTimersByTimeAsync(500); // the publish mapping's next read (≤ 500 ms) finds it
    const after = events.readsAt.filter((t) => t > pushedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]).toBe(publish.readsAt.find((t) => t > pushedAt));
  });
});

describe('wakingRegistry', () => {
  const commit = {} as Commit;
  const registry = (fail: boolean): Registry => ({
    read: async () => {
      throw new Error('not used');
    },
    readState: async () => {
      throw new Error('not used');
    },
    commit: async () => {
      if (fail) throw Object.assign(new Error('conflict'), { code: 'CONFLICT' });
    },
    markPublished: async () => {},
    markRegionPublished: async () => {},
    promote: async () => {},
  });

  it('notifies after a commit, markPublished, markRegionPublished and promote', async () => {
    const wakeup = new StreamWakeup();
    const waking = wakingRegistry(registry(false), wakeup);
    await waking.commit(commit);
    await waking.markPublished(['k'], 1);
    await waking.markRegionPublished('eu-west-1', [{ keyRef: 'k', kid: 'x' }], 1);
    await waking.promote({
      region: 'eu-west-1',
      epoch: 1,
      expectedRegistryVersion: 1,
      at: 1,
      change: { changedBy: 'cli:test', reason: 'drill' },
    });
    expect(wakeup.generation).toBe(4);
  });

  it('notifies after a failed commit too, and passes its error on', async () => {
    const wakeup = new StreamWakeup();
    await expect(wakingRegistry(registry(true), wakeup).commit(commit)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(wakeup.generation).toBe(1);
  });
});
