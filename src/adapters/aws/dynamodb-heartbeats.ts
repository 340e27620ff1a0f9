/**
 * Heartbeat items (src/heartbeat.ts) in the registry table: `pk = HEARTBEAT#<region>`,
 * `sk = HEARTBEAT`, `region`, `beatAt` (epoch ms). One partition per region, outside `REGISTRY`, so a
 * region's role can be allowed to write its own heartbeat only (infra/rotation-schedule.ts), the
 * registry Query never returns one, and the stream consumers' filter on `pk = REGISTRY` drops its
 * changes before any publisher or audit consumer runs (infra/stream-consumer.ts).
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE } from '../../constants.ts';
import type { HeartbeatStore } from '../../heartbeat.ts';
import { regionName } from './region-items.ts';
import { num } from './registry-items.ts';

export const heartbeatItemKey = (region: string) =>
  ({ pk: `${TABLE.HEARTBEAT_PARTITION_PREFIX}${region}`, sk: TABLE.HEARTBEAT_SORT_KEY }) as const;

export class DynamoDbHeartbeats implements HeartbeatStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  constructor(opts: { client: DynamoDBClient; tableName: string }) {
    this.#client = opts.client;
    this.#tableName = opts.tableName;
  }

  async beat(region: string, at: number): Promise<void> {
    const item = { ...heartbeatItemKey(region), region, beatAt: at };
    regionName(item, 'region'); // garbage is never written
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: marshall(item),
          // A run whose clock is behind an earlier run's never moves the heartbeat back.
          ConditionExpression: 'attribute_not_exists(#at) OR #at < :at',
          ExpressionAttributeNames: { '#at': 'beatAt' },
          ExpressionAttributeValues: marshall({ ':at': at }),
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async read(regions: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const beats = await Promise.all(
      regions.map(async (region) => {
        const { Item } = await this.#client.send(
          new GetItemCommand({
            TableName: this.#tableName,
            Key: marshall(heartbeatItemKey(region)),
            ConsistentRead: true,
          }),
        );
        return Item ? ([region, num(unmarshall(Item), 'beatAt')] as const) : undefined;
      }),
    );
    return new Map(beats.filter((b) => b !== undefined));
  }
}
