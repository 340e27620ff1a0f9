/**
 * The key registry on DynamoDB (design §4). Item layout and validation: registry-items.ts.
 *
 * Concurrency: every lifecycle change is ONE TransactWriteItems that puts each changed key item
 * (conditioned on its item `version`, or on its absence) and the STATE item (conditioned on the
 * `registryVersion` read). Two writers that read the same registry cannot both commit: DynamoDB
 * cancels the loser's whole transaction, which surfaces here as ConflictError, and it re-reads.
 *
 * Fencing (multi-region, ADR 0008): a commit whose STATE names an `epoch` (every commit of a
 * multi-region primary carries it forward) also carries a ConditionCheck that `PROMOTION#<epoch + 1>`
 * does not exist. Conditions see the writing region's replica only, and STATE and a PROMOTION item
 * replicate as separate items, so the registryVersion condition alone lets a fenced region keep
 * committing; this check is refused as soon as the newer promotion is in the writer's own table
 * (replicated there, or written there directly by `promote-region`), also for a run that read before
 * it arrived. It surfaces as FencedError (FENCED), which is final.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateQuery,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE } from '../../constants.ts';
import type {
  Commit,
  KeyRecord,
  KeyWrite,
  Promotion,
  RegionPublication,
  RegistrySnapshot,
  RegistryState,
} from '../../core/types.ts';
import { ConflictError, FencedError, InvalidArgumentError } from '../../errors.ts';
import type { PromoteInput, Registry } from '../../ports.ts';
import {
  promotionFromItem,
  promotionItemKey,
  publicationFromItem,
  publicationItemKey,
} from './region-items.ts';
import { keyItemKey, keyRecordFromItem, registryStateFromItem, STATE_KEY } from './registry-items.ts';

const MARSHALL = { removeUndefinedValues: true } as const;

/** Cancellation reasons that mean "someone else changed it first": re-read and re-plan. */
const CONFLICT_REASONS = new Set(['ConditionalCheckFailed', 'TransactionConflict']);

export class DynamoDbRegistry implements Registry {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  constructor(opts: { client: DynamoDBClient; tableName: string }) {
    this.#client = opts.client;
    this.#tableName = opts.tableName;
  }

  /** One strongly consistent Query over the registry partition (all pages). */
  async read(): Promise<RegistrySnapshot> {
    let state: RegistryState = { registryVersion: 0 };
    const keys: KeyRecord[] = [];
    const publications: RegionPublication[] = [];
    const promotions: Promotion[] = [];
    const pages = paginateQuery(
      { client: this.#client },
      {
        TableName: this.#tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
        ExpressionAttributeValues: marshall({ ':pk': TABLE.REGISTRY_PARTITION }),
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const raw of page.Items ?? []) {
        const item = unmarshall(raw);
        if (item.sk === TABLE.STATE_SORT_KEY) state = registryStateFromItem(item);
        else if (String(item.sk).startsWith(TABLE.KEY_SORT_PREFIX)) keys.push(keyRecordFromItem(item));
        else if (String(item.sk).startsWith(TABLE.PUBLICATION_SORT_PREFIX))
          publications.push(publicationFromItem(item));
        else if (String(item.sk).startsWith(TABLE.PROMOTION_SORT_PREFIX))
          promotions.push(promotionFromItem(item));
        // Other sort keys in the partition are not the registry's business (forward compatibility).
      }
    }
    // A single-region registry reads exactly as it always did.
    const multi = publications.length > 0 || promotions.length > 0;
    return multi ? { state, keys, publications, promotions } : { state, keys };
  }

  /** The signer's read: the STATE item alone, strongly consistent. */
  async readState(): Promise<RegistryState> {
    const { Item } = await this.#client.send(
      new GetItemCommand({ TableName: this.#tableName, Key: marshall(STATE_KEY), ConsistentRead: true }),
    );
    return Item ? registryStateFromItem(unmarshall(Item)) : { registryVersion: 0 };
  }

  async commit(commit: Commit): Promise<void> {
    const expected = commit.expectedRegistryVersion;
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new InvalidArgumentError(`expectedRegistryVersion ${expected} is not a version`);
    }
    const keyRefs = commit.keys.map((w) => w.record.keyRef);
    if (new Set(keyRefs).size !== keyRefs.length) {
      throw new InvalidArgumentError(`one commit writes a key twice: ${keyRefs.join(',')}`);
    }
    const registryVersion = expected + 1;
    const stamp = { changedBy: commit.change.changedBy, reason: commit.change.reason, registryVersion };
    const epoch = commit.state.epoch;
    const fence = epoch === undefined ? [] : [this.#fenceCheck(epoch)];
    const items: TransactWriteItem[] = [...fence, ...commit.keys.map((write) => this.#keyPut(write, stamp))];
    items.push({
      Put: {
        TableName: this.#tableName,
        Item: marshall({ ...commit.state, ...STATE_KEY, ...stamp }, MARSHALL),
        ...(expected === 0
          ? {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
            }
          : {
              ConditionExpression: '#rv = :expected',
              ExpressionAttributeNames: { '#rv': 'registryVersion' },
              ExpressionAttributeValues: marshall({ ':expected': expected }),
            }),
      },
    });
    try {
      await this.#client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (err) {
      if (epoch !== undefined && isFenced(err)) {
        throw new FencedError(
          epoch,
          `a promotion newer than epoch ${epoch} exists: this region is fenced off`,
          {
            cause: err,
          },
        );
      }
      if (isConflict(err)) {
        throw new ConflictError(`registry changed since version ${expected} was read`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Per key: set `publishedAt` once. The condition makes it idempotent and never lets a replayed or
   * late publish overwrite the first instant (the planner's activation gate depends on it).
   */
  async markPublished(keyRefs: readonly string[], at: number): Promise<void> {
    await Promise.all(
      [...new Set(keyRefs)].map(async (keyRef) => {
        try {
          await this.#client.send(
            new UpdateItemCommand({
              TableName: this.#tableName,
              Key: marshall(keyItemKey(keyRef)),
              UpdateExpression: 'SET #at = :at, #v = #v + :one, #by = :by, #reason = :reason',
              ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#at)',
              ExpressionAttributeNames: {
                '#pk': TABLE.PARTITION_KEY,
                '#at': 'publishedAt',
                '#v': 'version',
                '#by': 'changedBy',
                '#reason': 'reason',
              },
              ExpressionAttributeValues: marshall({
                ':at': at,
                ':one': 1,
                ':by': 'publisher',
                ':reason': 'published in JWKS',
              }),
            }),
          );
        } catch (err) {
          // Already marked (or gone): nothing to do, by design.
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        }
      }),
    );
  }

  /** Per key: a `PUBLISHED#<region>#<keyRef>` item, put once (the first instant stays). */
  async markRegionPublished(
    region: string,
    keys: readonly { keyRef: string; kid: string }[],
    at: number,
  ): Promise<void> {
    await Promise.all(
      keys.map(async ({ keyRef, kid }) => {
        const item = { ...publicationItemKey(region, keyRef), region, keyRef, kid, publishedAt: at };
        publicationFromItem(item); // garbage (a bad region name) is never written
        try {
          await this.#client.send(
            new PutItemCommand({
              TableName: this.#tableName,
              Item: marshall(item),
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
            }),
          );
        } catch (err) {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        }
      }),
    );
  }

  /** The PROMOTION item (must not exist) and STATE's primary and epoch, in one transaction. */
  async promote(input: PromoteInput): Promise<void> {
    const { region, epoch, expectedRegistryVersion: expected, at, change, servingRegions } = input;
    const promotion = {
      ...promotionItemKey(epoch),
      epoch,
      region,
      promotedAt: at,
      ...(servingRegions ? { servingRegions: [...servingRegions] } : {}),
      ...change,
    };
    promotionFromItem(promotion);
    if (expected < 1) throw new InvalidArgumentError('a registry with no STATE has no primary to replace');
    try {
      await this.#client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#tableName,
                Item: marshall(promotion),
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
              },
            },
            {
              Update: {
                TableName: this.#tableName,
                Key: marshall(STATE_KEY),
                UpdateExpression:
                  'SET #rv = :next, #region = :region, #epoch = :epoch, #at = :at, #by = :by, #reason = :reason',
                ConditionExpression: '#rv = :expected',
                ExpressionAttributeNames: {
                  '#rv': 'registryVersion',
                  '#region': 'primaryRegion',
                  '#epoch': 'epoch',
                  '#at': 'updatedAt',
                  '#by': 'changedBy',
                  '#reason': 'reason',
                },
                ExpressionAttributeValues: marshall({
                  ':next': expected + 1,
                  ':expected': expected,
                  ':region': region,
                  ':epoch': epoch,
                  ':at': at,
                  ':by': change.changedBy,
                  ':reason': change.reason,
                }),
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (isConflict(err)) throw new ConflictError(`promotion to epoch ${epoch} lost a race`, { cause: err });
      throw err;
    }
  }

  /** The fence: the next epoch's PROMOTION item must not exist (first item of the transaction). */
  #fenceCheck(epoch: number): TransactWriteItem {
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new InvalidArgumentError(`epoch ${epoch} is not an epoch`);
    return {
      ConditionCheck: {
        TableName: this.#tableName,
        Key: marshall(promotionItemKey(epoch + 1)),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
      },
    };
  }

  /** One key Put; the record is validated as it will be read back, so garbage is never written. */
  #keyPut(
    write: KeyWrite,
    stamp: { changedBy: string; reason: string; registryVersion: number },
  ): TransactWriteItem {
    const nextVersion = (write.expectedVersion ?? 0) + 1;
    if (write.record.version !== nextVersion) {
      throw new InvalidArgumentError(
        `key ${write.record.keyRef}: version ${write.record.version} must be ${nextVersion} (expected + 1)`,
      );
    }
    let record: KeyRecord;
    try {
      record = keyRecordFromItem({ ...write.record, ...stamp });
    } catch (err) {
      throw new InvalidArgumentError(`key ${write.record.keyRef}: ${(err as Error).message}`, { cause: err });
    }
    return {
      Put: {
        TableName: this.#tableName,
        Item: marshall(
          { ...record, ...keyItemKey(record.keyRef), registryVersion: stamp.registryVersion },
          MARSHALL,
        ),
        ...(write.expectedVersion === null
          ? {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
            }
          : {
              ConditionExpression: '#v = :expected',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: marshall({ ':expected': write.expectedVersion }),
            }),
      },
    };
  }
}

/** The fence (item 0) failed its condition: a newer promotion exists in this replica. */
function isFenced(err: unknown): boolean {
  return (
    err instanceof TransactionCanceledException &&
    err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
  );
}

function isConflict(err: unknown): boolean {
  if (!(err instanceof TransactionCanceledException)) return false;
  const codes = (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
  return (
    codes.some((c) => CONFLICT_REASONS.has(c)) && codes.every((c) => c === 'None' || CONFLICT_REASONS.has(c))
  );
}
