/**
 * Issue #6 end to end on `npm start`: across rotations and an operator's revoke, a webhook
 * receiver (EVENTS_WEBHOOK_URL) gets every lifecycle event once, in order per key; an SQS queue
 * subscribed to the local topic with a filter policy gets exactly the revocation; the events name
 * who made each change and why; and `jwks audit --verify --json` finds intact chains covering them.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwksPublishedEvent, KeyLifecycleEvent } from '../../src/core/events.ts';
import type { StackInfo } from '../../src/local/data-dir.ts';
import { type CliRun, cli, type StackProcess, startStack } from './stack-process.ts';

const POLICY = {
  JWKS_MAX_AGE: '1s',
  PREPUBLISH_LEAD: '3s',
  ROTATION_PERIOD: '5s',
  MAX_TOKEN_TTL: '2s',
  CLOCK_SKEW: '1s',
  SIGNER_CACHE_TTL: '1s',
  RETENTION: '4s',
};
const LIFECYCLE = ['key.pending', 'key.activated', 'key.retired', 'key.expired'];
const REASON = 'e2e: standby key material exposed';
const OPERATOR = `cli:${userInfo().username}`;
/** fauxqs accepts any credentials; these keep the test from sending real ones anywhere. */
const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A webhook endpoint: records each POSTed event (and its Idempotency-Key) in arrival order — the key
 * lifecycle events in `got`, the publisher's `jwks.published` notifications in `published`.
 */
async function startReceiver(): Promise<{
  url: string;
  got: KeyLifecycleEvent[];
  keys: string[];
  published: JwksPublishedEvent[];
  server: Server;
}> {
  const got: KeyLifecycleEvent[] = [];
  const keys: string[] = [];
  const published: JwksPublishedEvent[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      const event = JSON.parse(body) as KeyLifecycleEvent | JwksPublishedEvent;
      if (event.type === 'jwks.published') published.push(event);
      else {
        got.push(event);
        keys.push(String(req.headers['idempotency-key']));
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/jwks`;
  return { url, got, keys, published, server };
}

const parseJson = <T>(run: CliRun): T => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
};

interface AuditListing {
  records: Array<{
    eventId: string;
    kid: string | null;
    event: KeyLifecycleEvent | null;
    changedBy: string;
    reason: string;
    oldImage: { periodEndsAt?: number } | null;
    newImage: { status: string; periodEndsAt?: number } | null;
  }>;
}

describe('lifecycle events and the audit trail on the local stack', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: StackProcess;
  let info: StackInfo;
  let sns: SNSClient;
  let sqs: SQSClient;
  let queueUrl: string;
  let revokedKid: string | undefined;
  let rotateRun: CliRun;
  let revokeRun: CliRun;
  const queued: Message[] = [];
  let verifyRun: CliRun;
  let listing: AuditListing;
  /** The webhook's events when the audit trail was listed; all later ones arrived after it. */
  let receivedBeforeListing: KeyLifecycleEvent[];

  beforeAll(async () => {
    receiver = await startReceiver();
    stack = await startStack({ env: { ...POLICY, EVENTS_WEBHOOK_URL: receiver.url } });
    info = JSON.parse(readFileSync(join(stack.dataDir, 'stack.json'), 'utf8')) as StackInfo;

    // A subscriber as in AWS, on the local emulator: a queue, a subscription with a filter policy.
    const client = { region: info.region, endpoint: info.snsEndpoint, credentials: LOCAL_CREDENTIALS };
    sns = new SNSClient(client);
    // fauxqs queue URLs name sqs.<region>.localhost: send every call to the endpoint (docs/events.md).
    sqs = new SQSClient({ ...client, useQueueUrlAsEndpoint: false });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'revocations' }))).QueueUrl as string;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: info.topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: { FilterPolicy: JSON.stringify({ type: ['key.revoked'] }), RawMessageDelivery: 'true' },
      }),
    );

    // Two rotations: one on schedule, then one an operator asks for right after it (so the active
    // key's period is still running and only the CLI writes its end: a deterministic `cli:` record).
    const activations = () => receiver.got.filter((e) => e.type === 'key.activated').length;
    await until('a scheduled rotation', () => activations() >= 2, 60_000);
    rotateRun = await cli(stack.dataDir, ['rotate', '--json']);
    await until('the requested rotation', () => activations() >= 3, 30_000);

    // Right after an activation the next standby may still be CREATING (no kid yet): wait for it.
    const deadline = Date.now() + 15_000;
    while (!revokedKid && Date.now() < deadline) {
      const status = parseJson<{ pendingKid?: string }>(await cli(stack.dataDir, ['status', '--json']));
      if (status.pendingKid) revokedKid = status.pendingKid;
    }
    if (!revokedKid) throw new Error('no standby with a kid within 15 s');
    revokeRun = await cli(stack.dataDir, ['revoke', revokedKid, '--reason', REASON, '--json']);
    await until(
      'the revocation event',
      () => receiver.got.some((e) => e.type === 'key.revoked' && e.kid === revokedKid),
      15_000,
    );

    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (!out.Messages?.length) break;
      queued.push(...out.Messages);
    }

    receivedBeforeListing = [...receiver.got];
    listing = parseJson<AuditListing>(await cli(stack.dataDir, ['audit', '--json']));
    verifyRun = await cli(stack.dataDir, ['audit', '--verify', '--json']);
    // Every record listed was written before its event went out: wait for those deliveries.
    const audited = listing.records.flatMap((r) => (r.event ? [r.event.id] : []));
    await until(
      'every audited event at the webhook',
      () => audited.every((id) => receiver.got.some((e) => e.id === id)),
      15_000,
    );
  }, 180_000);

  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    await stack?.stop();
    await new Promise((r) => receiver?.server.close(r));
  });

  const byKid = (): Map<string, KeyLifecycleEvent[]> => {
    const map = new Map<string, KeyLifecycleEvent[]>();
    for (const e of receiver.got) map.set(String(e.kid), [...(map.get(String(e.kid)) ?? []), e]);
    return map;
  };

  it('audits the operator as cli:<OS user> with the reason of the command that wrote', () => {
    expect(rotateRun.code, rotateRun.stderr).toBe(0);
    const { activeKid } = JSON.parse(rotateRun.stdout) as { activeKid: string };
    const periodEnd = listing.records.filter(
      (r) => r.newImage?.periodEndsAt !== undefined && r.newImage.periodEndsAt !== r.oldImage?.periodEndsAt,
    );
    expect(periodEnd).toContainEqual(
      expect.objectContaining({ changedBy: OPERATOR, reason: 'operator: rotate', event: null }),
    );
    expect(receiver.got.filter((e) => e.type === 'key.activated').map((e) => e.kid)).toContain(activeKid);
  });

  it('revokes the standby through the CLI', () => {
    expect(revokeRun.code, revokeRun.stderr).toBe(0);
    expect(JSON.parse(revokeRun.stdout)).toMatchObject({ kid: revokedKid, alreadyRevoked: false });
  });

  it('delivers every event once to the webhook, with its id as the Idempotency-Key', () => {
    const ids = receiver.got.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.keys).toEqual(ids);
  });

  it('delivers each key’s events in lifecycle order, the revoked key’s ending with key.revoked', () => {
    const keys = byKid();
    expect(keys.size).toBeGreaterThanOrEqual(4);
    for (const [kid, events] of keys) {
      const types = events.map((e) => e.type);
      const versions = events.map((e) => e.version);
      expect(versions, kid).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size, kid).toBe(versions.length);
      if (kid === revokedKid) {
        expect(types.at(-1)).toBe('key.revoked');
        expect(types.slice(0, -1), kid).toEqual(LIFECYCLE.slice(0, types.length - 1));
      } else {
        expect(types, kid).toEqual(LIFECYCLE.slice(0, types.length));
      }
    }
    // The first key went all the way: pending, activated, retired and expired.
    expect([...keys.values()].some((events) => events.length === LIFECYCLE.length)).toBe(true);
  });

  it('names who made each change and why: the operator with their reason, or the schedule', () => {
    const revoked = receiver.got.find((e) => e.type === 'key.revoked');
    expect(revoked).toMatchObject({ kid: revokedKid, status: 'REVOKED' });
    expect(revoked).toMatchObject({ changedBy: OPERATOR, reason: REASON });
    for (const e of receiver.got) {
      // The revoke command also reconciles (a new standby) as the operator, with the reason prefixed.
      if (e.changedBy === OPERATOR) expect(e.reason.startsWith(REASON), e.id).toBe(true);
      else
        expect(e, e.id).toMatchObject({
          changedBy: 'schedule',
          reason: expect.stringMatching(/^scheduled reconciliation: /),
        });
    }
  });

  it('announces every changed JWKS write as jwks.published, once, with the kids it served', () => {
    expect(receiver.published.length).toBeGreaterThanOrEqual(3);
    const ids = receiver.published.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of receiver.published) {
      expect(e).toMatchObject({ changedBy: 'publisher', jwksUri: `${stack.url}/.well-known/jwks.json` });
      expect(e.id).toBe(`jwks-${e.registryVersion}-${e.sha256}`);
    }
    // The revoked kid was announced while it was published.
    expect(receiver.published.some((e) => e.kids.includes(String(revokedKid)))).toBe(true);
  });

  it('delivers exactly the revocation to the SQS queue whose filter policy selects key.revoked', () => {
    const revoked = receiver.got.filter((e) => e.type === 'key.revoked');
    expect(queued.map((m) => JSON.parse(m.Body as string))).toEqual(revoked);
  });

  it('prints events as JSON lines on stderr and keeps stdout to the ready line', () => {
    const revoked = receiver.got.find((e) => e.type === 'key.revoked') as KeyLifecycleEvent;
    expect(stack.stderr()).toContain(`${JSON.stringify(revoked)}\n`);
    expect(stack.stdout).toEqual([`ready ${stack.url}`]);
  });

  it('audits every event the webhook got, and announces every audited event', () => {
    const audited = listing.records.flatMap((r) => (r.event ? [r.event] : []));
    const byId = new Map(audited.map((e) => [e.id, e]));
    for (const e of receivedBeforeListing) expect(byId.get(e.id), e.id).toEqual(e);
    const received = new Set(receiver.got.map((e) => e.id));
    for (const e of audited) expect(received.has(e.id), e.id).toBe(true);
  });

  it('reports intact audit chains covering all of them with jwks audit --verify --json', () => {
    expect(verifyRun.code, verifyRun.stderr).toBe(0);
    const result = JSON.parse(verifyRun.stdout) as { ok: boolean; records: number; chains: number };
    expect(result.ok).toBe(true);
    expect(result.records).toBeGreaterThanOrEqual(receivedBeforeListing.length);
    expect(result.chains).toBeGreaterThanOrEqual(new Set(receivedBeforeListing.map((e) => e.kid)).size);
  });
});
