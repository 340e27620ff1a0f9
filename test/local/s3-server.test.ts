import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3.ts';
import { hasCode } from '../../src/errors.ts';
import { S3RVER_CREDENTIALS, startS3Server } from '../../src/local/s3-server.ts';

const clientFor = (endpoint: string) =>
  new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });

describe('startS3Server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jwks-s3-server-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps objects across a restart when started on the same data dir', async () => {
    const first = await startS3Server({ dir, buckets: ['data'] });
    const client1 = clientFor(first.endpoint);
    await new S3ObjectStore({ client: client1, bucket: 'data' }).put({
      key: 'kept.json',
      body: new TextEncoder().encode('{"kept":true}'),
      contentType: 'application/json',
    });
    client1.destroy();
    await first.stop();

    const second = await startS3Server({ dir, buckets: ['data'] });
    const client2 = clientFor(second.endpoint);
    try {
      const got = await new S3ObjectStore({ client: client2, bucket: 'data' }).get('kept.json');
      expect(new TextDecoder().decode(got?.body)).toBe('{"kept":true}');
    } finally {
      client2.destroy();
      await second.stop();
    }
  });

  it('stops listening when stopped', async () => {
    const server = await startS3Server({ dir, buckets: ['data'] });
    await server.stop();
    await server.stop(); // idempotent
    await expect(fetch(`${server.endpoint}/data`)).rejects.toThrow();
  });

  it('fails with ADDRESS_IN_USE when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await startS3Server({ dir, port }).catch((e: unknown) => e);
      expect(hasCode(err, 'ADDRESS_IN_USE')).toBe(true);
    } finally {
      blocker.close();
    }
  });
});

describe("startS3Server in a process with OpenSSL's legacy provider (npm start)", () => {
  it('runs s3rver in that process and pages through a listing with its DES continuation tokens', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--openssl-legacy-provider',
        '--import',
        'tsx',
        join(import.meta.dirname, '../support/s3-in-process.ts'),
      ],
      { env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
      legacy: true,
      listed: ['a.json', 'b.json', 'c.json'],
      childProcesses: 0,
      listeningAfterStop: false,
    });
  });
});
