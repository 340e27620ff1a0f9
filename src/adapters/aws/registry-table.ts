/**
 * Creates the registry table for the local stack and the adapter tests only. In AWS the CDK app
 * defines the table (infra/), with point-in-time recovery, deletion protection and encryption that
 * this function does not set; keep the key schema, billing mode and stream view type here in step
 * with it (both take them from TABLE in constants.ts).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../constants.ts';

const STREAM = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } as const;

/**
 * Idempotent: creates the table if it is missing, waits until it is ACTIVE, makes sure its stream
 * (NEW_AND_OLD_IMAGES: publish re-reads, events diffs old → new) and TTL are on, and returns the
 * stream ARN the local stream poller reads.
 */
export async function createRegistryTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<{ streamArn: string }> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: TABLE.PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: TABLE.SORT_KEY, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE.PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: TABLE.SORT_KEY, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: STREAM,
      }),
    );
  } catch (err) {
    // Already there (a restart of the local stack on its data dir): check it below.
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  let table = await waitUntilActive(client, tableName);
  if (!table.StreamSpecification?.StreamEnabled) {
    await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: STREAM }));
    table = await waitUntilActive(client, tableName);
  }
  await enableTtl(client, tableName);
  const streamArn = table.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  return { streamArn };
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (!Table) throw new Error(`table ${tableName} not found`);
  return Table;
}

/**
 * TTL removes expired client-assertion `jti` items. DynamoDB Local accepts UpdateTimeToLive; an
 * emulator that does not is tolerated (nothing here depends on deletion happening on time).
 */
async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const { TimeToLiveDescription: ttl } = await client.send(
      new DescribeTimeToLiveCommand({ TableName: tableName }),
    );
    if (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') return;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE.TTL_ATTRIBUTE },
      }),
    );
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'ValidationException' && name !== 'UnknownOperationException') throw err;
  }
}
