/**
 * A DynamoDB global table on one machine (design §12, ADR 0008): each region's registry is its own
 * table on DynamoDB Local, and a replicator per direction is one more consumer of the source table's
 * stream that applies every change to the target table, like global table replication:
 *
 * - asynchronous, in stream order, after a configurable lag: each change waits `lagMs` from when the
 *   stream first showed it to a second, never-waiting consumer (DynamoDB Local's
 *   ApproximateCreationDateTime is too coarse to time it, and the replicator itself may be busy
 *   waiting out an earlier batch when a change arrives);
 * - a region that is down (`reachable()` false) holds its changes back: the stream mapping retries the
 *   batch, so the region catches up, in order, when it comes back (as a replica does after an outage);
 * - items are written whole, and a newer item is never replaced by an older one.
 *
 * "Newer" is decided by the registry's own versions instead of AWS's write timestamps: a key item by
 * its `version`, STATE by its `registryVersion`, a heartbeat by its `beatAt`, and the write-once items (PUBLISHED#, PROMOTION#) are
 * put only where absent. For items with one writer, which is every registry item by design (ADR 0008),
 * that is exactly what last-writer-wins yields. It also makes replication idempotent: the echo of a
 * replicated write, or a stream replayed from TRIM_HORIZON, finds the same or a newer version and is
 * skipped, so nothing ping-pongs and nothing goes back in time. Unversioned items (clients, jti replay
 * markers) are put whole unless the target already holds the same content.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { TABLE } from '../constants.ts';
import { canonicalJson } from '../core/audit.ts';
import { JwksError } from '../errors.ts';
import { type Log, silentLog } from '../ports.ts';
import type { StreamConsumer } from './stream-mapping.ts';

export interface ReplicatorOptions {
  /** e.g. `replicate-to-us-east-1`: the stream mapping's checkpoint name. */
  readonly name: string;
  readonly target: DynamoDBClient;
  readonly targetTable: string;
  /** Replication delay of each change, read per batch (a drill can raise it to the policy's maximum). */
  readonly lagMs: () => number;
  /** False while either region is down: the batch fails and is retried later, nothing is lost. */
  readonly reachable: () => boolean;
  readonly log?: Log;
  readonly sleep?: (ms: number) => Promise<void>;
}

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

const WRITE_ONCE = [TABLE.PUBLICATION_SORT_PREFIX, TABLE.PROMOTION_SORT_PREFIX];

/** The condition under which `image` may replace what the target holds, or undefined (compare content). */
function newerCondition(
  image: Image,
): { expression: string; names: Record<string, string>; values?: Image } | undefined {
  const sk = image.sk?.S ?? '';
  const notExists = { expression: 'attribute_not_exists(#pk)', names: { '#pk': TABLE.PARTITION_KEY } };
  if (WRITE_ONCE.some((p) => sk.startsWith(p))) return notExists;
  // A heartbeat is newer by its instant: without it, the echo of an older beat would overwrite a newer
  // one and the two regions would pass old beats back and forth for ever.
  const attribute =
    sk === TABLE.STATE_SORT_KEY
      ? 'registryVersion'
      : sk === TABLE.HEARTBEAT_SORT_KEY
        ? 'beatAt'
        : image.version?.N
          ? 'version'
          : undefined;
  const value = attribute ? image[attribute] : undefined;
  if (!attribute || !value?.N) return undefined;
  return {
    expression: `${notExists.expression} OR #v < :v`,
    names: { ...notExists.names, '#v': attribute },
    values: { ':v': value },
  };
}

export function replicatorConsumers(opts: ReplicatorOptions): [StreamConsumer, StreamConsumer] {
  /** When each pending change was first read from the stream (by sequence number). */
  const seen = new Map<string, number>();
  const note = (event: DynamoDBStreamEvent) => {
    const now = Date.now();
    for (const r of event.Records) {
      const id = r.dynamodb?.SequenceNumber ?? '';
      if (!seen.has(id)) seen.set(id, now);
    }
  };
  const observer: StreamConsumer = {
    name: `${opts.name}-clock`,
    async handler(event) {
      note(event);
    },
  };
  return [observer, replicator(opts, seen, note)];
}

function replicator(
  opts: ReplicatorOptions,
  seen: Map<string, number>,
  note: (event: DynamoDBStreamEvent) => void,
): StreamConsumer {
  const log = opts.log ?? silentLog;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const TableName = opts.targetTable;

  const put = async (keys: Image, image: Image): Promise<void> => {
    // Lambda-shaped images carry no binary (the registry stores none), so they are SDK-shaped too.
    const condition = newerCondition(image);
    if (!condition) {
      const { Item } = await opts.target.send(
        new GetItemCommand({ TableName, Key: keys as never, ConsistentRead: true }),
      );
      if (Item && canonicalJson(Item) === canonicalJson(image)) return; // the echo of this very write
      await opts.target.send(new PutItemCommand({ TableName, Item: image as never }));
      return;
    }
    try {
      await opts.target.send(
        new PutItemCommand({
          TableName,
          Item: image as never,
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: condition.names,
          ...(condition.values ? { ExpressionAttributeValues: condition.values as never } : {}),
        }),
      );
    } catch (err) {
      // The target holds this version or a newer one: an echo, a replay, or an older change arriving late.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  };

  const apply = async (record: DynamoDBRecord): Promise<void> => {
    const { Keys, NewImage } = record.dynamodb ?? {};
    if (!Keys) return;
    if (record.eventName === 'REMOVE') {
      await opts.target.send(new DeleteItemCommand({ TableName, Key: Keys as never }));
    } else if (NewImage) {
      await put(Keys, NewImage);
    }
  };

  return {
    name: opts.name,
    async handler(event: DynamoDBStreamEvent) {
      if (!opts.reachable()) {
        throw new JwksError('UPSTREAM', `${opts.name}: region unreachable, changes held back`);
      }
      note(event); // in case this mapping read the changes before the observer did
      // Each change waits out its own lag, in order: waiting for the batch's newest change held every
      // older one back by the batch's span too, so with frequent writes (heartbeats) a change could
      // arrive later than the lag promised.
      for (const record of event.Records) {
        const firstSeen = seen.get(record.dynamodb?.SequenceNumber ?? '') ?? Date.now();
        const wait = firstSeen + opts.lagMs() - Date.now();
        if (wait > 0) await sleep(wait);
        await apply(record);
        seen.delete(record.dynamodb?.SequenceNumber ?? '');
      }
      log.info('replicated', { to: TableName, records: event.Records.length });
    },
  };
}
