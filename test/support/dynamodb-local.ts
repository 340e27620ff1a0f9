/**
 * DynamoDB Local for the adapter tests: one in-memory instance per test file (JVM start-up takes a few
 * seconds), plus SDK clients pointed at it. The process management lives in src/local/dynamodb-local.ts,
 * shared with the local stack.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';

export { type DynamoDbLocal, startDynamoDbLocal } from '../../src/local/dynamodb-local.ts';

/** Any credentials do: the emulator runs with `-sharedDb` and checks no signature. */
const localConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

export const localDynamoDbClient = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient(localConfig(endpoint));

export const localStreamsClient = (endpoint: string): DynamoDBStreamsClient =>
  new DynamoDBStreamsClient(localConfig(endpoint));

let counter = 0;
/** A table name no other test in this process uses (tests share one emulator). */
export const uniqueTableName = (prefix = 'jwks-test'): string =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
