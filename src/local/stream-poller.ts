/**
 * The local stack's stand-in for Lambda's DynamoDB event source mappings (design §7): it reads the
 * registry table's real stream on DynamoDB Local and invokes the same `publish` and `events`
 * handlers the Lambda functions run. One independent mapping per consumer, each with its own
 * checkpoint file, so a slow or failing consumer never holds the other back (as with two Lambda
 * functions on one stream). Mechanics: stream-mapping.ts; Lambda event shape: stream-records.ts.
 */
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { InvalidArgumentError } from '../errors.ts';
import { type Log, silentLog } from '../ports.ts';
import { CheckpointStore, checkpointPath } from './stream-checkpoints.ts';
import { EventSourceMapping, type MappingSettings, type StreamConsumer } from './stream-mapping.ts';
import { StreamWakeup } from './stream-wakeup.ts';

export type { StreamConsumer, StreamHandler } from './stream-mapping.ts';

export interface StreamPollerOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** One `<consumer name>.json` per consumer; keep it in the data dir so restarts resume. */
  readonly checkpointDir: string;
  readonly consumers: readonly StreamConsumer[];
  /** Records per handler invocation (Lambda's BatchSize). Default 100. */
  readonly batchSize?: number;
  /**
   * Pause after an empty read. Default 100 ms; it doubles per further empty read up to
   * `idlePollMaxMs` (default 500 ms), so an idle stack barely reads the stream.
   */
  readonly pollIntervalMs?: number;
  /** Longest pause while the shards stay empty: how late a write from another process may be seen. */
  readonly idlePollMaxMs?: number;
  /** Notified by this process's own writes (see stream-wakeup.ts): the mappings poll at once. */
  readonly wakeup?: StreamWakeup;
  /**
   * Shard list refresh. Default 60 s: a closed shard read to its end, and any failed read, refresh it
   * at once anyway, so the timed refresh only guards against the unexpected (and costs idle CPU).
   */
  readonly describeIntervalMs?: number;
  /** First retry delay after a failed batch or read, doubled per failure up to retryMaxMs. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly log?: Log;
}

/**
 * The idle read interval's cap. A write from another process waits up to this long to be read, then
 * the publish handler's S3 write and invalidation follow: 500 ms keeps the publish latency's p95 under
 * its 1 s target (bench/publish-latency.ts) while an idle stack reads the stream ~2×/s, not 20×/s.
 */
export const DEFAULT_IDLE_POLL_MAX_MS = 500;

export class StreamPoller {
  readonly #mappings: EventSourceMapping[];
  readonly #log: Log;
  #abort: AbortController | undefined;
  #running: Promise<unknown> | undefined;

  constructor(opts: StreamPollerOptions) {
    const settings: MappingSettings = {
      batchSize: opts.batchSize ?? 100,
      pollIntervalMs: opts.pollIntervalMs ?? 100,
      idlePollMaxMs: opts.idlePollMaxMs ?? DEFAULT_IDLE_POLL_MAX_MS,
      describeIntervalMs: opts.describeIntervalMs ?? 60_000,
      retryBaseMs: opts.retryBaseMs ?? 200,
      retryMaxMs: opts.retryMaxMs ?? 10_000,
    };
    if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1 || settings.batchSize > 1000) {
      // 1000 is the GetRecords limit.
      throw new InvalidArgumentError(`batchSize ${settings.batchSize} is not within 1..1000`);
    }
    const names = opts.consumers.map((c) => c.name);
    if (new Set(names).size !== names.length) {
      throw new InvalidArgumentError(`consumer names must be unique: ${names.join(',')}`);
    }
    this.#log = opts.log ?? silentLog;
    const wakeup = opts.wakeup ?? new StreamWakeup();
    this.#mappings = opts.consumers.map((consumer) => {
      checkpointPath(opts.checkpointDir, consumer.name); // validates the name now, not in the loop
      const checkpoints = new CheckpointStore({
        dir: opts.checkpointDir,
        consumerName: consumer.name,
        streamArn: opts.streamArn,
        log: this.#log,
      });
      return new EventSourceMapping(
        opts.client,
        opts.streamArn,
        consumer,
        checkpoints,
        settings,
        this.#log,
        wakeup,
      );
    });
  }

  /** Starts every mapping in the background. Calling it while running does nothing. */
  start(): void {
    if (this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = Promise.all(this.#mappings.map((m) => m.run(abort.signal)));
  }

  /** Stops polling; resolves once every handler invocation in flight has returned. */
  async stop(): Promise<void> {
    const abort = this.#abort;
    const running = this.#running;
    if (!abort) return;
    abort.abort();
    await running;
    this.#abort = undefined;
    this.#running = undefined;
  }
}
