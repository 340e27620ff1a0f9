import { type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { baseClientConfig, createSnsClient } from '../../src/adapters/aws/clients.ts';
import { SnsEventBus } from '../../src/adapters/aws/sns.ts';
import type { KeyEventType, KeyLifecycleEvent } from '../../src/core/events.ts';
import { ensureTopic } from '../../src/local/sns-server.ts';
import { FAUXQS_CREDENTIALS, startFauxqs } from '../support/fauxqs.ts';
import { T0 } from '../support/fixtures.ts';

const event = (id: string, type: KeyEventType): KeyLifecycleEvent => ({
  id,
  type,
  kid: `kid-${id}`,
  version: 3,
  alg: 'ES256',
  status: 'REVOKED',
  previousStatus: 'ACTIVE',
  at: new Date(T0).toISOString(),
  jwksUri: 'http://127.0.0.1/.well-known/jwks.json',
  registryVersion: 9,
  changedBy: 'cli:alice',
  reason: 'compromised',
});

interface SqsMessage {
  readonly Body?: string;
  readonly MessageAttributes?: Record<string, { StringValue?: string }>;
}

/** Everything the queue will deliver: receive until a long poll comes back empty. */
async function drain(sqs: SQSClient, queueUrl: string): Promise<SqsMessage[]> {
  const got: SqsMessage[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!out.Messages?.length) return got;
    got.push(...out.Messages);
  }
}

describe('SnsEventBus against fauxqs', () => {
  let server: Awaited<ReturnType<typeof startFauxqs>>;
  let sns: SNSClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    server = await startFauxqs();
    // The real path: the client factories plus the SDK's own endpoint variables, as the local stack does.
    vi.stubEnv('AWS_ENDPOINT_URL_SNS', server.endpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_SQS', server.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', FAUXQS_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', FAUXQS_CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    sns = createSnsClient();
    // fauxqs names queues `sqs.<region>.localhost`, which this resolver does not know: send every SQS
    // call to AWS_ENDPOINT_URL_SQS instead (what docs/events.md tells local subscribers to do).
    sqs = new SQSClient({ ...baseClientConfig(), useQueueUrlAsEndpoint: false });
  });
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    await server?.stop();
    vi.unstubAllEnvs();
  });

  async function subscribedQueue(topicArn: string, name: string, attributes: Record<string, string>) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const queueUrl = QueueUrl as string;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: attributes,
      }),
    );
    return queueUrl;
  }

  it('delivers exactly the events a filter policy on type selects, with the type attribute', async () => {
    const topicArn = await ensureTopic(sns, 'jwks-events-filter');
    const revokedOnly = await subscribedQueue(topicArn, 'revoked-only', {
      FilterPolicy: JSON.stringify({ type: ['key.revoked'] }),
      RawMessageDelivery: 'true',
    });
    const everything = await subscribedQueue(topicArn, 'everything', {});
    const bus = new SnsEventBus({ client: sns, topicArn });
    const sent = [
      event('e1', 'key.pending'),
      event('e2', 'key.revoked'),
      event('e3', 'key.activated'),
      event('e4', 'key.retired'),
      event('e5', 'key.revoked'),
    ];
    for (const e of sent) await bus.publish(e);

    const filtered = await drain(sqs, revokedOnly);
    expect(filtered.map((m) => JSON.parse(m.Body as string))).toEqual(
      sent.filter((e) => e.type === 'key.revoked'),
    );
    expect(filtered.map((m) => m.MessageAttributes?.type?.StringValue)).toEqual([
      'key.revoked',
      'key.revoked',
    ]);

    // Without raw delivery subscribers get the SNS envelope: the event is its Message, type an attribute.
    const all = (await drain(sqs, everything)).map((m) => JSON.parse(m.Body as string));
    expect(all.map((n) => JSON.parse(n.Message))).toEqual(sent);
    expect(all.map((n) => n.MessageAttributes?.type?.Value)).toEqual(sent.map((e) => e.type));
  });

  it('listens on loopback only when started', () => {
    expect(new URL(server.endpoint).hostname).toBe('127.0.0.1');
  });

  it('returns the same topic ARN when the topic is ensured again after a restart of the stack', async () => {
    expect(await ensureTopic(sns, 'jwks-events-again')).toBe(await ensureTopic(sns, 'jwks-events-again'));
  });

  it('rejects with the SDK error when the topic does not exist', async () => {
    const bus = new SnsEventBus({ client: sns, topicArn: 'arn:aws:sns:us-east-1:000000000000:missing' });
    await expect(bus.publish(event('x', 'key.pending'))).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});
