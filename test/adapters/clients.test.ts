import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDynamoDbClient,
  createDynamoDbStreamsClient,
  createS3Client,
  DEFAULT_REGION,
  regionFromEnv,
} from '../../src/adapters/aws/clients.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly target: string | undefined;
  readonly host: string | undefined;
}

/** A stand-in service endpoint that records what reached it and answers just enough for the SDK. */
async function recordingEndpoint(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    const target = req.headers['x-amz-target'] as string | undefined;
    seen.push({ method: req.method ?? '', url: req.url ?? '', target, host: req.headers.host });
    if (target?.endsWith('.ListTables')) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"TableNames":[]}');
    } else if (target?.endsWith('.ListStreams')) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"Streams":[]}');
    } else {
      res.writeHead(200, { etag: '"abc"', 'content-length': '0' }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

describe('regionFromEnv', () => {
  it('prefers AWS_REGION when both are set', () => {
    expect(regionFromEnv({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('eu-west-1');
  });
  it('falls back to AWS_DEFAULT_REGION when AWS_REGION is unset or blank', () => {
    expect(regionFromEnv({ AWS_REGION: ' ', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
  });
  it('uses the default region when neither is set', () => {
    expect(regionFromEnv({})).toBe(DEFAULT_REGION);
  });
});

describe('client factories', () => {
  const endpoints: Array<Awaited<ReturnType<typeof recordingEndpoint>>> = [];
  let dynamo: Awaited<ReturnType<typeof recordingEndpoint>>;
  let streams: Awaited<ReturnType<typeof recordingEndpoint>>;
  let s3: Awaited<ReturnType<typeof recordingEndpoint>>;

  beforeAll(async () => {
    dynamo = await recordingEndpoint();
    streams = await recordingEndpoint();
    s3 = await recordingEndpoint();
    endpoints.push(dynamo, streams, s3);
  });
  afterAll(async () => {
    await Promise.all(endpoints.map((e) => new Promise((resolve) => e.server.close(resolve))));
  });
  beforeEach(() => {
    for (const e of endpoints) e.seen.length = 0;
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.url);
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB_STREAMS', streams.url);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.url);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('sends DynamoDB requests to AWS_ENDPOINT_URL_DYNAMODB when it is set', async () => {
    await createDynamoDbClient().send(new ListTablesCommand({}));
    expect(dynamo.seen.map((s) => s.target)).toEqual(['DynamoDB_20120810.ListTables']);
    expect(streams.seen).toEqual([]);
    expect(s3.seen).toEqual([]);
  });

  it('sends DynamoDB Streams requests to AWS_ENDPOINT_URL_DYNAMODB_STREAMS when it is set', async () => {
    await createDynamoDbStreamsClient().send(new ListStreamsCommand({}));
    expect(streams.seen.map((s) => s.target)).toEqual(['DynamoDBStreams_20120810.ListStreams']);
    expect(dynamo.seen).toEqual([]);
  });

  it('sends S3 requests path-style to AWS_ENDPOINT_URL_S3 when it is set', async () => {
    const client = createS3Client();
    expect(client.config.forcePathStyle).toBe(true);
    const head = await client.send(new HeadObjectCommand({ Bucket: 'my-bucket', Key: 'a/b.json' }));
    expect(head.ETag).toBe('"abc"');
    expect(s3.seen).toHaveLength(1);
    expect(s3.seen[0]?.method).toBe('HEAD');
    expect(s3.seen[0]?.url.split('?')[0]).toBe('/my-bucket/a/b.json');
    expect(s3.seen[0]?.host).toBe(new URL(s3.url).host);
    expect(dynamo.seen).toEqual([]);
  });

  it('keeps virtual-hosted S3 addressing when no S3 endpoint is configured', () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
    expect(createS3Client().config.forcePathStyle).toBe(false);
  });

  it('uses the region from the environment with standard retries', async () => {
    const client = createDynamoDbClient({ AWS_REGION: 'eu-central-1' });
    expect(await client.config.region()).toBe('eu-central-1');
    expect(client.config.retryMode).toBe('standard');
    expect(await client.config.retryStrategy()).toMatchObject({ mode: 'standard' });
  });
});
