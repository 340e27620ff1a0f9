/**
 * The local stack's SNS: fauxqs, an in-memory SNS/SQS emulator that speaks the real wire protocols and
 * honours subscription filter policies, so the production SNS adapter runs unchanged against it
 * (design §7) and a developer can subscribe an SQS queue exactly as in AWS.
 *
 * fauxqs's own `startFauxqs` listens on 0.0.0.0; this builds its app (`buildApp`) and listens on
 * loopback only, and answers 421 to a request whose Host is not a loopback name (DNS rebinding,
 * design §11). Its queue URLs name `sqs.<region>.localhost:<port>`, which many resolvers do not map
 * to loopback, so a local SQS subscriber builds its SQSClient with `useQueueUrlAsEndpoint: false` (the
 * SDK then sends every call to `AWS_ENDPOINT_URL_SQS`; fauxqs finds the queue by the URL in the body).
 * State is in memory: topics and subscriptions are gone after a restart, hence `ensureTopic` at every
 * start (CreateTopic is idempotent).
 * @see https://www.npmjs.com/package/fauxqs
 */
import { CreateTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import { buildApp } from 'fauxqs';
import { JwksError } from '../errors.ts';
import { isLoopbackHost } from './loopback.ts';

export interface SnsServerOptions {
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Region for ARNs when a request's signature does not name one. Default us-east-1. */
  readonly defaultRegion?: string;
}

export interface RunningSnsServer {
  /** `http://host:port`, the value for `AWS_ENDPOINT_URL_SNS` (and `AWS_ENDPOINT_URL_SQS`). */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startSnsServer(opts: SnsServerOptions = {}): Promise<RunningSnsServer> {
  const host = opts.host ?? '127.0.0.1';
  const app = buildApp({ logger: false, ...(opts.defaultRegion && { defaultRegion: opts.defaultRegion }) });
  app.addHook('onRequest', async (request, reply) => {
    if (!isLoopbackHost(request.headers.host)) {
      await reply.code(421).send({ error: 'misdirected_request' });
    }
  });
  try {
    await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    await app.close();
    const code = (err as { code?: string }).code === 'EADDRINUSE' ? 'ADDRESS_IN_USE' : 'UPSTREAM';
    throw new JwksError(code, `SNS emulator failed to start: ${(err as Error).message}`, { cause: err });
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new JwksError('UPSTREAM', 'SNS emulator has no TCP address');
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${address.port}`,
    stop() {
      stopped ??= app.close().then(() => undefined);
      return stopped;
    },
  };
}

/** Creates the topic if needed and returns its ARN (idempotent, for every start of the local stack). */
export async function ensureTopic(client: SNSClient, name: string): Promise<string> {
  const { TopicArn } = await client.send(new CreateTopicCommand({ Name: name }));
  if (!TopicArn) throw new JwksError('UPSTREAM', `CreateTopic ${name} returned no TopicArn`);
  return TopicArn;
}
