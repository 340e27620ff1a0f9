import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3.ts';
import { hasCode, PreconditionFailedError } from '../../src/errors.ts';
import { s3rverClient, startS3rver } from '../support/s3rver.ts';

const BUCKET = 'jwks-test';
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('S3ObjectStore against s3rver', () => {
  let server: Awaited<ReturnType<typeof startS3rver>>;
  let client: S3Client;
  let store: S3ObjectStore;

  beforeAll(async () => {
    server = await startS3rver({ buckets: [BUCKET] });
    // The real path: the factory plus the SDK's own endpoint variable, as the local stack does it.
    client = s3rverClient(server.endpoint);
    store = new S3ObjectStore({ client, bucket: BUCKET });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
    vi.unstubAllEnvs();
  });

  it('returns the body, content type, cache control and metadata that were put when read back', async () => {
    const body = utf8(JSON.stringify({ keys: [{ kid: 'a' }] }));
    const { etag } = await store.put({
      key: '.well-known/jwks.json',
      body,
      contentType: 'application/json',
      cacheControl: 'public, max-age=300, stale-if-error=300',
      metadata: { 'registry-version': '7', 'body-sha256': 'abc' },
    });
    expect(etag).toMatch(/^"[^"]+"$/);

    const head = await store.head('.well-known/jwks.json');
    expect(head).toMatchObject({
      etag,
      contentType: 'application/json',
      cacheControl: 'public, max-age=300, stale-if-error=300',
      metadata: { 'registry-version': '7', 'body-sha256': 'abc' },
    });
    expect(head?.lastModified).toBeInstanceOf(Date);

    const got = await store.get('.well-known/jwks.json');
    expect(got?.etag).toBe(etag);
    expect(got?.body).toBeInstanceOf(Uint8Array);
    expect(text(got?.body ?? new Uint8Array())).toBe(text(body));
    expect(got?.metadata).toEqual(head?.metadata);
  });

  it('reports metadata names in lower case when they were written in mixed case', async () => {
    await store.put({
      key: 'mixed',
      body: utf8('x'),
      contentType: 'text/plain',
      metadata: { 'Registry-Version': '3' },
    });
    expect((await store.head('mixed'))?.metadata).toEqual({ 'registry-version': '3' });
  });

  it('changes the ETag when the body changes', async () => {
    const first = await store.put({ key: 'etag-check', body: utf8('one'), contentType: 'text/plain' });
    const second = await store.put({ key: 'etag-check', body: utf8('two'), contentType: 'text/plain' });
    expect(second.etag).not.toBe(first.etag);
    expect((await store.head('etag-check'))?.etag).toBe(second.etag);
  });

  it('accepts a SHA-256 checksum of the body when one is given', async () => {
    const body = utf8('{"id":"audit-1"}');
    const checksumSha256 = createHash('sha256').update(body).digest('base64');
    await store.put({ key: 'audit/1.json', body, contentType: 'application/json', checksumSha256 });
    expect(text((await store.get('audit/1.json'))?.body ?? new Uint8Array())).toBe('{"id":"audit-1"}');
  });

  it('returns null when the key does not exist', async () => {
    expect(await store.head('no/such/key')).toBeNull();
    expect(await store.get('no/such/key')).toBeNull();
  });

  it('throws rather than returning null when the bucket does not exist', async () => {
    const elsewhere = new S3ObjectStore({ client, bucket: 'no-such-bucket' });
    await expect(elsewhere.get('.well-known/jwks.json')).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('lists every key under the prefix across pages when there are more keys than a page holds', async () => {
    const paged = new S3ObjectStore({ client, bucket: BUCKET, pageSize: 2 });
    const kids = ['k1', 'k2', 'k3', 'k4', 'k5'];
    for (const kid of kids)
      await paged.put({ key: `revocations/${kid}`, body: utf8(kid), contentType: 'application/json' });
    await paged.put({ key: 'revoked-not-a-revocation', body: utf8('x'), contentType: 'text/plain' });

    const send = vi.spyOn(client, 'send');
    try {
      const keys = await paged.list('revocations/');
      expect([...keys].sort()).toEqual(kids.map((k) => `revocations/${k}`));
      expect(send.mock.calls.length).toBe(Math.ceil(kids.length / 2));
    } finally {
      send.mockRestore();
    }
  });

  it('returns an empty list when nothing is under the prefix', async () => {
    expect(await store.list('nothing-here/')).toEqual([]);
  });
});

describe('S3ObjectStore conditional writes (mocked: s3rver ignores conditional headers)', () => {
  // Mock this one instance, not the S3Client class, so the s3rver suite above keeps its real client.
  const client = new S3Client({ region: 'us-east-1' });
  const s3 = mockClient(client);
  const store = new S3ObjectStore({ client, bucket: BUCKET });
  const input = { key: '.well-known/jwks.json', body: utf8('{}'), contentType: 'application/json' } as const;
  const awsError = (name: string, httpStatusCode: number) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: name });

  beforeEach(() => {
    s3.reset();
  });

  it('sends If-Match when an ETag is expected', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' });
    expect(await store.put({ ...input, ifMatch: '"old"' })).toEqual({ etag: '"new"' });
    const sent = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(sent).toMatchObject({
      Bucket: BUCKET,
      Key: input.key,
      IfMatch: '"old"',
      ContentType: 'application/json',
    });
    expect(sent?.IfNoneMatch).toBeUndefined();
  });

  it('sends If-None-Match: * on a first write', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' });
    await store.put({ ...input, ifNoneMatch: '*' });
    const sent = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(sent?.IfNoneMatch).toBe('*');
    expect(sent?.IfMatch).toBeUndefined();
  });

  it('sends the SHA-256 checksum algorithm and value when a checksum is given', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' });
    await store.put({ ...input, checksumSha256: 'q83vEjRWeJA=' });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      ChecksumAlgorithm: 'SHA256',
      ChecksumSHA256: 'q83vEjRWeJA=',
    });
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])('throws PRECONDITION_FAILED with the cause when S3 answers %s (%i)', async (name, status) => {
    const cause = awsError(name, status);
    s3.on(PutObjectCommand).rejects(cause);
    const err = await store.put({ ...input, ifMatch: '"old"' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreconditionFailedError);
    expect(hasCode(err, 'PRECONDITION_FAILED')).toBe(true);
    expect((err as Error).cause).toBe(cause);
  });

  it('throws PRECONDITION_FAILED when If-Match finds the object deleted (404 NoSuchKey)', async () => {
    s3.on(PutObjectCommand).rejects(awsError('NoSuchKey', 404));
    const err = await store.put({ ...input, ifMatch: '"old"' }).catch((e: unknown) => e);
    expect(hasCode(err, 'PRECONDITION_FAILED')).toBe(true);
  });

  it('passes other errors through unchanged when the write fails for another reason', async () => {
    const cause = awsError('AccessDenied', 403);
    s3.on(PutObjectCommand).rejects(cause);
    await expect(store.put({ ...input, ifNoneMatch: '*' })).rejects.toBe(cause);
  });
});
