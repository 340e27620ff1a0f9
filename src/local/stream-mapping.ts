/**
 * One consumer's event source mapping over a DynamoDB stream, behaving like Lambda's: every shard
 * in order, a parent shard finished before its children start, batches of at most `batchSize`, a
 * checkpoint after each successful batch, partial batch failures (`batchItemFailures`) retried from
 * the first failed record, a thrown handler retried with the whole batch, with capped exponential
 * backoff. Hand-written because no library reads DynamoDB Streams outside Lambda (the Kinesis
 * adapter for the KCL is Java).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkRecord,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { Log } from '../ports.ts';
import type { CheckpointStore } from './stream-checkpoints.ts';
import { firstFailedIndex, toLambdaEvent } from './stream-records.ts';
import { StreamWakeup } from './stream-wakeup.ts';

// biome-ignore lint/suspicious/noConfusingVoidType: the aws-lambda DynamoDBStreamHandler return type.
export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamConsumer {
  readonly name: string;
  readonly handler: StreamHandler;
  /**
   * This consumer's own idle cap (else the poller's). A consumer whose latency matters less can idle
   * longer: any mapping that finds records wakes the others, so it still follows within the shortest cap.
   */
  readonly idlePollMaxMs?: number;
}

export interface MappingSettings {
  readonly batchSize: number;
  /** Pause after the first empty read; doubled per further empty read up to `idlePollMaxMs`. */
  readonly pollIntervalMs: number;
  /**
   * Longest pause between reads while the shards stay empty: bounds how late a write from another
   * process (the CLI) is seen. Writes of this process wake the mapping at once (StreamWakeup).
   */
  readonly idlePollMaxMs: number;
  /** How often the shard list is refreshed (also at once when a shard is finished or a read fails). */
  readonly describeIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

type Position =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

interface Cursor {
  /** Where the next iterator starts: just after the checkpoint, or at the first failed record. */
  position: Position;
  iterator?: string;
  failures: number;
  retryAt: number;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class EventSourceMapping {
  #shards: Shard[] = [];
  #describedAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  /** Empty reads in a row (0 after a read that made progress or a wake-up). */
  #idleReads = 0;
  readonly #cursors = new Map<string, Cursor>();

  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly consumer: StreamConsumer,
    private readonly checkpoints: CheckpointStore,
    private readonly settings: MappingSettings,
    private readonly log: Log,
    private readonly wakeup: StreamWakeup = new StreamWakeup(),
  ) {}

  /** Runs until the signal aborts; the batch in flight is finished first. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let loaded = false;
    while (!signal.aborted) {
      let busy = false;
      const seen = this.wakeup.generation;
      try {
        if (!loaded) {
          await this.checkpoints.load();
          loaded = true;
        }
        if (Date.now() - this.#describedAt >= this.settings.describeIntervalMs) await this.#describe();
        busy = await this.#pollReadyShards(signal);
        this.#failures = 0;
      } catch (err) {
        // DescribeStream or a checkpoint write failed: back off and try again.
        const delay = this.#backoff(++this.#failures);
        this.log.error('stream consumer failed', {
          ...this.#context(),
          error: String(err),
          retryInMs: delay,
        });
        await sleep(delay, signal);
      }
      if (busy) this.#idleReads = 0;
      else if (await this.wakeup.wait(this.#idleDelay(++this.#idleReads), signal, seen)) this.#idleReads = 0;
    }
  }

  /** Capped exponential backoff while the shards stay empty: pollIntervalMs, 2×, 4×, … idlePollMaxMs. */
  #idleDelay(idleReads: number): number {
    const { pollIntervalMs } = this.settings;
    const idlePollMaxMs = this.consumer.idlePollMaxMs ?? this.settings.idlePollMaxMs;
    return Math.min(
      Math.max(pollIntervalMs, idlePollMaxMs),
      pollIntervalMs * 2 ** Math.min(idleReads - 1, 20),
    );
  }

  #context(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { consumer: this.consumer.name, streamArn: this.streamArn, ...extra };
  }

  #backoff(failures: number): number {
    return Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** Math.min(failures - 1, 20));
  }

  async #describe(): Promise<void> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription: d } = await this.client.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
      );
      shards.push(...(d?.Shards ?? []));
      start = d?.LastEvaluatedShardId;
    } while (start);
    this.#shards = shards;
    this.#describedAt = Date.now();
    const listed = new Set(shards.flatMap((s) => (s.ShardId ? [s.ShardId] : [])));
    for (const id of this.#cursors.keys()) if (!listed.has(id)) this.#cursors.delete(id);
    if (listed.size > 0) await this.checkpoints.retain(listed);
  }

  /** Unfinished shards whose parent is finished or no longer listed (Lambda's parent-first rule). */
  #readyShards(): string[] {
    const listed = new Set(this.#shards.map((s) => s.ShardId));
    const finished = (id: string) => this.checkpoints.shard(id).finished === true;
    return this.#shards.flatMap((s) =>
      s.ShardId &&
      !finished(s.ShardId) &&
      (!s.ParentShardId || !listed.has(s.ParentShardId) || finished(s.ParentShardId))
        ? [s.ShardId]
        : [],
    );
  }

  async #pollReadyShards(signal: AbortSignal): Promise<boolean> {
    let busy = false;
    for (const shardId of this.#readyShards()) {
      if (signal.aborted) break;
      const cursor = this.#cursor(shardId);
      if (cursor.retryAt <= Date.now()) busy = (await this.#pollShard(shardId, cursor)) || busy;
    }
    return busy;
  }

  #cursor(shardId: string): Cursor {
    let cursor = this.#cursors.get(shardId);
    if (!cursor) {
      const done = this.checkpoints.shard(shardId).sequenceNumber;
      const position: Position = done
        ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: done }
        : { type: 'TRIM_HORIZON' };
      cursor = { position, failures: 0, retryAt: 0 };
      this.#cursors.set(shardId, cursor);
    }
    return cursor;
  }

  /** One GetRecords and, if it returned records, one handler invocation. True if it made progress. */
  async #pollShard(shardId: string, cursor: Cursor): Promise<boolean> {
    let records: SdkRecord[];
    let next: string | undefined;
    try {
      cursor.iterator ??= await this.#iterator(shardId, cursor.position);
      const page = await this.client.send(
        new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: this.settings.batchSize }),
      );
      records = page.Records ?? [];
      next = page.NextShardIterator;
    } catch (err) {
      cursor.iterator = undefined;
      if (err instanceof ExpiredIteratorException) return false; // re-acquired from the position next time
      if (err instanceof TrimmedDataAccessException) {
        this.log.warn('stream records trimmed before they were processed: restarting at TRIM_HORIZON', {
          ...this.#context({ shardId, position: cursor.position }),
        });
        cursor.position = { type: 'TRIM_HORIZON' };
      } else {
        this.log.error('stream read failed', this.#context({ shardId, error: String(err) }));
        this.#describedAt = Number.NEGATIVE_INFINITY; // the shard may be gone: look again
      }
      this.#retryLater(cursor);
      return false;
    }
    // Until the batch is done, only the position is trusted (a failed checkpoint write re-reads it).
    cursor.iterator = undefined;
    if (records.length > 0 && !(await this.#deliver(shardId, cursor, records))) return false;
    cursor.iterator = next;
    if (next === undefined) {
      // A closed shard read to its end: record it, so its children may start (now and after a restart).
      await this.checkpoints.update(shardId, { ...this.checkpoints.shard(shardId), finished: true });
      this.#cursors.delete(shardId);
      this.#describedAt = Number.NEGATIVE_INFINITY;
      return true;
    }
    return records.length > 0;
  }

  async #iterator(shardId: string, position: Position): Promise<string | undefined> {
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ShardIteratorType: position.type,
        SequenceNumber: position.type === 'TRIM_HORIZON' ? undefined : position.sequenceNumber,
      }),
    );
    return ShardIterator;
  }

  /** Invokes the handler; on success checkpoints the batch, else sets up the retry. */
  async #deliver(shardId: string, cursor: Cursor, records: SdkRecord[]): Promise<boolean> {
    const seq = (i: number) => records[i]?.dynamodb?.SequenceNumber ?? '';
    let failedAt: number | undefined;
    try {
      failedAt = firstFailedIndex(
        await this.consumer.handler(toLambdaEvent(records, this.streamArn)),
        records,
      );
    } catch (err) {
      failedAt = 0;
      this.log.error(
        'stream handler threw: retrying the batch',
        this.#context({ shardId, error: String(err) }),
      );
    }
    if (failedAt === undefined) {
      const last = seq(records.length - 1);
      await this.checkpoints.update(shardId, { sequenceNumber: last });
      cursor.position = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last };
      cursor.failures = 0;
      this.wakeup.notify(); // the stream moved: mappings idling longer than this one look now
      return true;
    }
    if (failedAt > 0) {
      // Records before the first failure are done: checkpoint them, retry from the failed one.
      await this.checkpoints.update(shardId, { sequenceNumber: seq(failedAt - 1) });
      cursor.position = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(failedAt) };
    }
    const retryInMs = this.#retryLater(cursor);
    this.log.warn('stream batch failed: retrying', {
      ...this.#context({ shardId, failedSequenceNumber: seq(failedAt), attempt: cursor.failures, retryInMs }),
    });
    return false;
  }

  #retryLater(cursor: Cursor): number {
    const delay = this.#backoff(++cursor.failures);
    cursor.retryAt = Date.now() + delay;
    return delay;
  }
}
