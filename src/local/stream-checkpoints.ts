/**
 * Where each local event source mapping (one per consumer) has got to in the stream: per shard, the
 * sequence number of the last record its handler processed, and whether a closed shard is finished.
 * One JSON file per consumer in the checkpoint dir, replaced atomically (write a temp file, rename):
 * a crash leaves the old checkpoint or the new one, never half of one. DynamoDB Local keeps the
 * stream, its shard ids and sequence numbers across restarts on the same data dir (checked in
 * test/adapters/dynamodb-local.test.ts), so a checkpoint resumes exactly with AFTER_SEQUENCE_NUMBER.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.ts';
import { type Log, silentLog } from '../ports.ts';

export interface ShardCheckpoint {
  /** Last record the handler processed successfully (resume AFTER it). */
  readonly sequenceNumber?: string;
  /** A closed shard whose records were all processed: its children may start. */
  readonly finished?: boolean;
}

export interface ConsumerCheckpoint {
  readonly streamArn: string;
  readonly shards: Readonly<Record<string, ShardCheckpoint>>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkpointPath(dir: string, consumerName: string): string {
  if (!NAME.test(consumerName)) {
    throw new InvalidArgumentError(
      `consumer name ${JSON.stringify(consumerName)} is not usable as a file name`,
    );
  }
  return join(dir, `${consumerName}.json`);
}

export class CheckpointStore {
  readonly #dir: string;
  readonly #path: string;
  readonly #streamArn: string;
  readonly #log: Log;
  #current: ConsumerCheckpoint;
  #writes = 0;

  constructor(opts: { dir: string; consumerName: string; streamArn: string; log?: Log }) {
    this.#dir = opts.dir;
    this.#path = checkpointPath(opts.dir, opts.consumerName);
    this.#streamArn = opts.streamArn;
    this.#log = opts.log ?? silentLog;
    this.#current = { streamArn: opts.streamArn, shards: {} };
  }

  get current(): ConsumerCheckpoint {
    return this.#current;
  }

  shard(shardId: string): ShardCheckpoint {
    return this.#current.shards[shardId] ?? {};
  }

  /**
   * Reads the file. A missing file, a checkpoint of another stream (the table was recreated) or an
   * unreadable file starts from TRIM_HORIZON: records are redelivered, never lost (handlers are
   * idempotent, as Lambda's at-least-once delivery requires anyway).
   */
  async load(): Promise<ConsumerCheckpoint> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return this.#current;
    }
    try {
      const parsed = JSON.parse(text) as ConsumerCheckpoint;
      if (typeof parsed.shards !== 'object' || parsed.shards === null) throw new Error('no shards');
      if (parsed.streamArn === this.#streamArn) this.#current = parsed;
      else this.#log.warn('stream checkpoint is for another stream: starting over', { path: this.#path });
    } catch (err) {
      this.#log.warn('stream checkpoint unreadable: starting over', { path: this.#path, error: String(err) });
    }
    return this.#current;
  }

  async update(shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    await this.#save({ ...this.#current, shards: { ...this.#current.shards, [shardId]: checkpoint } });
  }

  /** Forgets shards the stream no longer lists (trimmed after 24 h in AWS). */
  async retain(shardIds: ReadonlySet<string>): Promise<void> {
    const kept = Object.entries(this.#current.shards).filter(([id]) => shardIds.has(id));
    if (kept.length === Object.keys(this.#current.shards).length) return;
    await this.#save({ ...this.#current, shards: Object.fromEntries(kept) });
  }

  async #save(next: ConsumerCheckpoint): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const temp = `${this.#path}.${process.pid}.${this.#writes++}.tmp`;
    await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.#path);
    this.#current = next;
  }
}
