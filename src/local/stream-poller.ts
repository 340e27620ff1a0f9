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

export type { StreamConsumer, StreamHandler } from './stream-mapping.ts';

export interface StreamPollerOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** One `<consumer name>.json` per consumer; keep it in the data dir so restarts resume. */
  readonly checkpointDir: string;
  readonly consumers: readonly StreamConsumer[];
  /** Records per handler invocation (Lambda's BatchSize). Default 100. */
  readonly batchSize?: number;
  /** Pause between empty reads. Default 100 ms, so a write reaches the handlers within ~250 ms. */
  readonly pollIntervalMs?: number;
  /** Shard list refresh. Default 5 s. */
  readonly describeIntervalMs?: number;
  /** First retry delay after a failed batch or read, doubled per failure up to retryMaxMs. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly log?: Log;
}

export class StreamPoller {
  readonly #mappings: EventSourceMapping[];
  readonly #log: Log;
  #abort: AbortController | undefined;
  #running: Promise<unknown> | undefined;

  constructor(opts: StreamPollerOptions) {
    const settings: MappingSettings = {
      batchSize: opts.batchSize ?? 100,
      pollIntervalMs: opts.pollIntervalMs ?? 100,
      describeIntervalMs: opts.describeIntervalMs ?? 5_000,
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
    this.#mappings = opts.consumers.map((consumer) => {
      checkpointPath(opts.checkpointDir, consumer.name); // validates the name now, not in the loop
      const checkpoints = new CheckpointStore({
        dir: opts.checkpointDir,
        consumerName: consumer.name,
        streamArn: opts.streamArn,
        log: this.#log,
      });
      return new EventSourceMapping(opts.client, opts.streamArn, consumer, checkpoints, settings, this.#log);
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
