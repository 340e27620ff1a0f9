/**
 * The events Lambda's entry (src/handlers/events.ts) as Lambda loads it: a cold start with exactly the
 * function's environment, then a stream batch through the exported handler with S3 and SNS mocked at
 * the SDK client (the audit log, the SNS bus and the handler are the real ones).
 */
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV, PATHS } from '../../src/constants.ts';
import { keyStreamRecord } from '../events/stream-fixtures.ts';
import { keyRecord } from '../support/fixtures.ts';

const ISSUER = 'https://d111111abcdef8.cloudfront.net';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:jwks-events';

/** What the events function is deployed with (infra/jwks-events.ts). */
const EVENTS_ENV: Record<string, string> = {
  [ENV.TOPIC_ARN]: TOPIC_ARN,
  [ENV.AUDIT_BUCKET_NAME]: 'audit-bucket',
  [ENV.ISSUER]: ISSUER,
  [ENV.DEPLOYMENT_NAME]: 'JwksPublisher-prod',
  AWS_REGION: 'eu-west-1',
};

type Handler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/** Import the entry fresh (a cold start) with exactly this environment. */
async function coldStart(env: Record<string, string | undefined>): Promise<{ handler: Handler }> {
  vi.resetModules();
  for (const name of [...Object.values(ENV), 'AWS_REGION']) vi.stubEnv(name, env[name] ?? '');
  return import('../../src/handlers/events.ts');
}

const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);

describe('events Lambda entry', () => {
  beforeEach(() => {
    vi.unstubAllEnvs();
    s3.reset();
    sns.reset();
  });
  afterEach(() => vi.unstubAllEnvs());

  it.each([ENV.TOPIC_ARN, ENV.AUDIT_BUCKET_NAME, ENV.ISSUER])(
    'fails its cold start naming %s when it is missing',
    async (missing) => {
      await expect(coldStart({ ...EVENTS_ENV, [missing]: undefined })).rejects.toMatchObject({
        code: 'MISSING_CONFIG',
        variable: missing,
      });
    },
  );

  it('audits to the audit bucket and announces on the topic with the issuer JWKS URL when a key activates', async () => {
    s3.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: 'NotFound',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
        message: 'Not Found',
      }),
    );
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    sns.on(PublishCommand).resolves({ MessageId: 'm1' });
    const { handler } = await coldStart(EVENTS_ENV);

    const record = keyStreamRecord({ old: keyRecord('k1', 'PENDING'), new: keyRecord('k1', 'ACTIVE') });
    const response = await handler({ Records: [record] });

    expect(response.batchItemFailures).toEqual([]);
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: 'audit-bucket', IfNoneMatch: '*', ChecksumAlgorithm: 'SHA256' });
    expect(put?.Key).toMatch(/^audit\/k1\//);
    const publish = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.TopicArn).toBe(TOPIC_ARN);
    expect(JSON.parse(publish?.Message ?? '{}')).toMatchObject({
      id: record.eventID,
      type: 'key.activated',
      jwksUri: `${ISSUER}${PATHS.JWKS}`,
    });
  });
});
