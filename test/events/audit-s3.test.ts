import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3.ts';
import { auditObjectKey } from '../../src/core/audit.ts';
import type { KeyChange } from '../../src/core/events.ts';
import { verifyAuditChain } from '../../src/events/audit-chain.ts';
import { AuditLog, readAudit } from '../../src/events/audit-log.ts';
import type { EventBus } from '../../src/events/ports.ts';
import { keyChangeFromRecord } from '../../src/events/stream-change.ts';
import { createEventsHandler } from '../../src/handlers/events-handler.ts';
import type { ObjectStore, PutObjectInput } from '../../src/ports.ts';
import { s3rverClient, startS3rver } from '../support/s3rver.ts';
import { historyRecords, keyHistory } from './stream-fixtures.ts';

const BUCKET = 'jwks-audit-test';
const JWKS_URI = 'http://127.0.0.1/.well-known/jwks.json';

/** Counts the writes that reach the store, without changing what they do. */
class CountingStore implements ObjectStore {
  readonly puts: PutObjectInput[] = [];
  constructor(readonly inner: ObjectStore) {}
  head = (key: string) => this.inner.head(key);
  get = (key: string) => this.inner.get(key);
  list = (prefix: string) => this.inner.list(prefix);
  delete = (key: string) => this.inner.delete(key);
  put = (input: PutObjectInput) => {
    this.puts.push(input);
    return this.inner.put(input);
  };
}

describe('AuditLog over S3ObjectStore against s3rver', () => {
  let server: Awaited<ReturnType<typeof startS3rver>>;
  let client: S3Client;
  let store: CountingStore;

  beforeAll(async () => {
    server = await startS3rver({ buckets: [BUCKET] });
    client = s3rverClient(server.endpoint);
    store = new CountingStore(new S3ObjectStore({ client, bucket: BUCKET }));
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
    vi.unstubAllEnvs();
  });

  it('writes one object per stream record, and none more when the batch is redelivered and replayed', async () => {
    const published: string[] = [];
    const bus: EventBus = { publish: async (e) => void published.push(e.id) };
    const handler = createEventsHandler({ bus, audit: new AuditLog({ store }), jwksUri: JWKS_URI });
    const records = historyRecords(keyHistory('s3-key'));

    expect((await handler({ Records: records })).batchItemFailures).toEqual([]);
    const keys = await store.inner.list('audit/');
    const heads = await Promise.all(keys.map((k) => store.inner.head(k)));
    const firstIds = [...published];

    // Redelivery of one record twice, then a replay of the whole batch.
    const dup = records[3] as DynamoDBRecord;
    expect((await handler({ Records: [dup, dup] })).batchItemFailures).toEqual([]);
    expect((await handler({ Records: records })).batchItemFailures).toEqual([]);

    expect(keys).toHaveLength(records.length);
    expect(store.puts).toHaveLength(records.length);
    expect(await store.inner.list('audit/')).toEqual(keys);
    const headsAfter = await Promise.all(keys.map((k) => store.inner.head(k)));
    expect(headsAfter.map((h) => h?.etag)).toEqual(heads.map((h) => h?.etag));
    expect(published.slice(firstIds.length + 2)).toEqual(firstIds);
    expect(published.slice(firstIds.length, firstIds.length + 2)).toEqual([dup.eventID, dup.eventID]);

    const audit = await readAudit(store.inner);
    expect(verifyAuditChain(audit)).toEqual({
      ok: true,
      chains: 1,
      records: records.length,
      firstBreak: null,
    });
  });

  it('sends a SHA-256 checksum S3 accepts, and If-None-Match, when writing a record', async () => {
    const change = keyChangeFromRecord(
      historyRecords(keyHistory('s3-sum'))[1] as DynamoDBRecord,
    ) as KeyChange;
    await new AuditLog({ store }).append(change, null);
    const put = store.puts.at(-1) as PutObjectInput;
    expect(put.key).toBe(auditObjectKey(change));
    expect(put.ifNoneMatch).toBe('*');
    expect(put.checksumSha256).toBe(createHash('sha256').update(put.body).digest('base64'));
    const stored = await store.inner.get(put.key);
    expect(Buffer.from(stored?.body ?? []).equals(Buffer.from(put.body))).toBe(true);
  });
});

describe('AuditLog when S3 answers 412 (mocked: s3rver ignores If-None-Match)', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const s3 = mockClient(client);
  const log = new AuditLog({ store: new S3ObjectStore({ client, bucket: BUCKET }) });
  const change = keyChangeFromRecord(
    historyRecords(keyHistory('mock-key'))[0] as DynamoDBRecord,
  ) as KeyChange;
  const awsError = (name: string, httpStatusCode: number) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: name });

  beforeEach(() => {
    s3.reset();
    s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  });

  it('reports the record as already written, with no retry, when the conditional put loses (412)', async () => {
    s3.on(PutObjectCommand).rejects(awsError('PreconditionFailed', 412));
    await expect(log.append(change, null)).resolves.toEqual({ key: auditObjectKey(change), written: false });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: BUCKET,
      Key: auditObjectKey(change),
      IfNoneMatch: '*',
      ChecksumAlgorithm: 'SHA256',
      ContentType: 'application/json',
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('fails when S3 fails otherwise, so the stream record is retried', async () => {
    s3.on(PutObjectCommand).rejects(awsError('InternalError', 500));
    await expect(log.append(change, null)).rejects.toMatchObject({ name: 'InternalError' });
  });
});
