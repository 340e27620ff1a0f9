/**
 * The local context must point the real AWS adapters at the endpoints stack.json names. One loopback
 * HTTP server stands in for DynamoDB Local, s3rver and the edge at once and records what arrives.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localContext } from '../../src/cli/local-context.ts';
import { parsePolicy } from '../../src/core/policy.ts';
import { writeStackInfo } from '../../src/local/data-dir.ts';
import { S3RVER_CREDENTIALS } from '../../src/local/s3-server.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly target: string | undefined;
  readonly authorization: string;
}

let server: Server;
let base: string;
let dir: string;
const seen: Seen[] = [];

function answer(req: IncomingMessage): { status: number; type: string; body: string } {
  if (req.headers['x-amz-target']) {
    return {
      status: 400,
      type: 'application/x-amz-json-1.0',
      body: '{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"test"}',
    };
  }
  if (req.url?.startsWith('/2020-05-31/')) {
    return {
      status: 400,
      type: 'text/xml',
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidArgument</Code><Message>test</Message></Error></ErrorResponse>',
    };
  }
  return { status: 404, type: 'application/xml', body: '' };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        target: req.headers['x-amz-target'] as string | undefined,
        authorization: String(req.headers.authorization ?? ''),
      });
      const a = answer(req);
      res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'jwks-cli-ctx-'));
  writeStackInfo(dir, {
    pid: process.pid,
    url: base,
    region: 'eu-west-1',
    dynamodbEndpoint: base,
    s3Endpoint: base,
    tableName: 'jwks-registry',
    bucket: 'jwks-bucket',
    distributionId: 'LOCALDIST',
    deploymentName: 'local-test',
    keysDir: join(dir, 'keys'),
    policy: { maxTokenTtl: '10m', algorithm: 'ES256' },
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
});

describe('localContext', () => {
  it('parses the policy the stack runs with and serves the JWKS from the stack url', () => {
    const ctx = localContext(dir);
    expect(ctx.policy).toEqual(parsePolicy({ maxTokenTtl: '10m', algorithm: 'ES256' }).policy);
    expect(ctx.jwksUrl).toBe(`${base}/.well-known/jwks.json`);
    ctx.close();
  });

  it('reads the registry table on the DynamoDB endpoint with the fixed local credentials', async () => {
    const ctx = localContext(dir);
    await expect(ctx.registry.readState()).rejects.toThrow();
    ctx.close();
    expect(seen[0]?.target).toMatch(/^DynamoDB_20120810\./);
    expect(seen[0]?.authorization).toContain(`Credential=${S3RVER_CREDENTIALS.accessKeyId}/`);
    expect(seen[0]?.authorization).toContain('/eu-west-1/dynamodb/');
  });

  it("addresses the bucket path-style on the S3 endpoint with s3rver's access key", async () => {
    const ctx = localContext(dir);
    expect(await ctx.store.head('.well-known/jwks.json')).toBeNull();
    ctx.close();
    expect(seen[0]).toMatchObject({ method: 'HEAD', url: '/jwks-bucket/.well-known/jwks.json' });
    expect(seen[0]?.authorization).toContain(`Credential=${S3RVER_CREDENTIALS.accessKeyId}/`);
  });

  it("sends CloudFront's CreateInvalidation to the edge for the stack's distribution", async () => {
    const ctx = localContext(dir);
    await expect(ctx.cdn.invalidate(['/.well-known/jwks.json'], 'ref-1')).rejects.toMatchObject({
      code: 'INVALIDATION_FAILED',
    });
    ctx.close();
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/2020-05-31/distribution/LOCALDIST/invalidation' });
  });

  it('fetches the JWKS from the edge and fails with UPSTREAM when it is not served', async () => {
    const ctx = localContext(dir);
    await expect(ctx.fetchJwks()).rejects.toMatchObject({ code: 'UPSTREAM' });
    ctx.close();
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/.well-known/jwks.json' });
  });

  it('names the operator as cli:<user>', async () => {
    const ctx = localContext(dir);
    expect(await ctx.changedBy()).toMatch(/^cli:.+/);
    ctx.close();
  });
});
