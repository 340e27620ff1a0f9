import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import { isLoopbackAddress, listeningAddresses } from '../../src/local/loopback.ts';
import {
  type DynamoDbLocal,
  localDynamoDbClient,
  localStreamsClient,
  startDynamoDbLocal,
} from '../support/dynamodb-local.ts';

const running: DynamoDbLocal[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(dir?: string): Promise<DynamoDbLocal> {
  const ddb = await startDynamoDbLocal(dir === undefined ? {} : { dir });
  running.push(ddb);
  return ddb;
}

async function streamRecords(endpoint: string, streamArn: string) {
  const streams = localStreamsClient(endpoint);
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const shard = StreamDescription?.Shards?.[0];
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shard?.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const { Records } = await streams.send(new GetRecordsCommand({ ShardIterator }));
  streams.destroy();
  return {
    shardId: shard?.ShardId,
    records: (Records ?? []).map((r) => [r.eventID, r.dynamodb?.SequenceNumber]),
  };
}

describe('startDynamoDbLocal', () => {
  it('answers on a loopback endpoint when started in memory', async () => {
    const ddb = await start();
    expect(new URL(ddb.endpoint).hostname).toBe('127.0.0.1');
    const client = localDynamoDbClient(ddb.endpoint);
    await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
    client.destroy();
  });

  it('stops the Java process when stop is called (twice is fine)', async () => {
    const ddb = await start();
    await ddb.stop();
    await ddb.stop();
    const client = localDynamoDbClient(ddb.endpoint);
    await expect(client.send(new ListTablesCommand({}))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    client.destroy();
  });

  it('keeps the table, its stream, shard ids and sequence numbers when restarted on the same dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwks-ddb-'));
    dirs.push(dir);
    const first = await start(dir);
    let client = localDynamoDbClient(first.endpoint);
    const { streamArn } = await createRegistryTable(client, 'registry');
    for (const n of ['1', '2']) {
      await client.send(
        new PutItemCommand({ TableName: 'registry', Item: { pk: { S: 'p' }, sk: { S: 's' }, n: { N: n } } }),
      );
    }
    client.destroy();
    const before = await streamRecords(first.endpoint, streamArn);
    await first.stop();

    const second = await start(dir);
    client = localDynamoDbClient(second.endpoint);
    // Idempotent on an existing table: same stream, nothing recreated.
    await expect(createRegistryTable(client, 'registry')).resolves.toEqual({ streamArn });
    client.destroy();
    const after = await streamRecords(second.endpoint, streamArn);
    expect(before.records).toHaveLength(2);
    expect(after).toEqual(before);
  });

  it('rejects with the ENOENT cause when no java is on the PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(tmpdir(), 'no-java-here');
    try {
      await expect(startDynamoDbLocal({ startTimeoutMs: 5_000 })).rejects.toMatchObject({
        cause: { code: 'ENOENT' },
      });
    } finally {
      process.env.PATH = path;
    }
  });
});

/** A raw request, so the test picks the Host and Origin headers a browser or a rebound page would send. */
function rawRequest(
  endpoint: string,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(endpoint, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

const LIST_TABLES = {
  'X-Amz-Target': 'DynamoDB_20120810.ListTables',
  'Content-Type': 'application/x-amz-json-1.0',
  Authorization:
    'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
};

describe('startDynamoDbLocal on loopback only (design §11)', () => {
  let ddb: DynamoDbLocal;
  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
  });
  afterAll(() => ddb.stop());

  it('holds no listening socket on a non-loopback address when started', async () => {
    const addresses = await listeningAddresses(ddb.port);
    expect(addresses).not.toHaveLength(0);
    expect(addresses?.filter((a) => !isLoopbackAddress(a))).toEqual([]);
  });

  it('answers 421 when the Host is not a loopback name (DNS rebinding)', async () => {
    const foreign = await rawRequest(ddb.endpoint, 'POST', {
      ...LIST_TABLES,
      Host: `evil.example:${ddb.port}`,
    });
    const local = await rawRequest(ddb.endpoint, 'POST', { ...LIST_TABLES, Host: `localhost:${ddb.port}` });
    expect(foreign.status).toBe(421);
    expect(local.status).toBe(200);
  });

  it('grants no CORS to a foreign origin, on a preflight or a request', async () => {
    const origin = 'https://evil.example';
    const preflight = await rawRequest(ddb.endpoint, 'OPTIONS', {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'x-amz-target,content-type,authorization',
    });
    const post = await rawRequest(ddb.endpoint, 'POST', { ...LIST_TABLES, Origin: origin });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
  });
});
