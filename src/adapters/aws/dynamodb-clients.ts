/**
 * OAuth clients and client-assertion `jti`s in the registry table (design §4).
 *
 * Item layout (one partition per client, so client traffic never touches the registry partition the
 * publisher and the signer read):
 * - client: `pk = CLIENT#<clientId>`, `sk = CLIENT`; the Client members, the secret only as its hash,
 *   `jwks` as a map.
 * - used assertion id: `pk = JTI#<clientId>#<jti>`, `sk = JTI`, `ttl` = epoch SECONDS when DynamoDB
 *   TTL may delete it (TABLE.TTL_ATTRIBUTE), `expiresAt` = the same instant in ms. Client ids never
 *   contain `#` (CLIENT_ID_PATTERN), so the key is unambiguous whatever the jti holds.
 *
 * `list` is a Scan filtered on `sk = CLIENT`: clients are spread over partitions and listing is a rare
 * operator command, so it does not justify an index. Stream consumers see client and jti writes too;
 * the publisher and the events consumer only act on `pk = REGISTRY` items.
 *
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html (TTL deletes late,
 *   up to days: useJti therefore treats an item whose ttl has passed as absent)
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateScan,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE } from '../../constants.ts';
import type { ChangeContext } from '../../core/types.ts';
import { ConflictError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import { clientFromRecord } from '../../token/client-validation.ts';
import { ClientNotFoundError } from '../../token/errors.ts';
import type { Client, ClientStatus, ClientStore } from '../../token/types.ts';

export const CLIENT_SORT_KEY = 'CLIENT';
export const JTI_SORT_KEY = 'JTI';

export const clientItemKey = (clientId: string) =>
  ({ [TABLE.PARTITION_KEY]: `CLIENT#${clientId}`, [TABLE.SORT_KEY]: CLIENT_SORT_KEY }) as const;

export const jtiItemKey = (clientId: string, jti: string) =>
  ({ [TABLE.PARTITION_KEY]: `JTI#${clientId}#${jti}`, [TABLE.SORT_KEY]: JTI_SORT_KEY }) as const;

const MARSHALL = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

function toClient(raw: Record<string, unknown>): Client {
  const { [TABLE.PARTITION_KEY]: _pk, [TABLE.SORT_KEY]: _sk, ...item } = raw;
  return clientFromRecord(item);
}

export class DynamoDbClientStore implements ClientStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #clock: Clock;

  constructor(opts: { client: DynamoDBClient; tableName: string; clock?: Clock }) {
    this.#client = opts.client;
    this.#tableName = opts.tableName;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Strongly consistent: a `clients disable` is seen by the next read (callers cache on top). */
  async get(clientId: string): Promise<Client | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({
        TableName: this.#tableName,
        Key: marshall(clientItemKey(clientId)),
        ConsistentRead: true,
      }),
    );
    return Item ? toClient(unmarshall(Item)) : undefined;
  }

  async put(client: Client): Promise<void> {
    // Validate as it will be read back, so garbage is never written.
    const record = clientFromRecord(client as unknown as Record<string, unknown>);
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: marshall({ ...record, ...clientItemKey(record.clientId) }, MARSHALL),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        throw new ConflictError(`client ${record.clientId} already exists`, { cause: err });
      }
      throw err;
    }
  }

  async list(): Promise<Client[]> {
    const clients: Client[] = [];
    const pages = paginateScan(
      { client: this.#client },
      {
        TableName: this.#tableName,
        FilterExpression: '#sk = :sk',
        ExpressionAttributeNames: { '#sk': TABLE.SORT_KEY },
        ExpressionAttributeValues: marshall({ ':sk': CLIENT_SORT_KEY }),
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const raw of page.Items ?? []) clients.push(toClient(unmarshall(raw)));
    }
    return clients.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }

  async setStatus(clientId: string, status: ClientStatus, change: ChangeContext): Promise<Client> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: marshall(clientItemKey(clientId)),
          UpdateExpression: 'SET #status = :status, #updatedAt = :at, #by = :by, #reason = :reason',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: {
            '#pk': TABLE.PARTITION_KEY,
            '#status': 'status',
            '#updatedAt': 'updatedAt',
            '#by': 'changedBy',
            '#reason': 'reason',
          },
          ExpressionAttributeValues: marshall({
            ':status': status,
            ':at': this.#clock(),
            ':by': change.changedBy,
            ':reason': change.reason,
          }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!Attributes) throw new ClientNotFoundError(clientId);
      return toClient(unmarshall(Attributes));
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException)
        throw new ClientNotFoundError(clientId, { cause: err });
      throw err;
    }
  }

  /**
   * One conditional Put: it succeeds when no item exists, or when the existing one has expired (TTL
   * deletion lags), so two concurrent uses of one jti cannot both get `true`.
   */
  async useJti(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    const nowSeconds = Math.floor(this.#clock() / 1000);
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: marshall({
            ...jtiItemKey(clientId, jti),
            [TABLE.TTL_ATTRIBUTE]: Math.ceil(expiresAt / 1000),
            expiresAt,
          }),
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY, '#ttl': TABLE.TTL_ATTRIBUTE },
          ExpressionAttributeValues: marshall({ ':now': nowSeconds }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
