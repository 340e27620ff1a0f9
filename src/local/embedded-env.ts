/**
 * The environment of the embedded stack's process: where the SDK finds the embedded servers, and where
 * lifecycle events go besides SNS. Both are set up before anything starts.
 */
import type { Env } from '../adapters/aws/clients.ts';
import { ConsoleEventBus, WebhookEventBus } from '../adapters/local/webhook.ts';
import { ConfigError, InvalidArgumentError } from '../errors.ts';
import type { EventBus } from '../events/ports.ts';
import { HOME_REGION } from './region-config.ts';
import { S3RVER_CREDENTIALS } from './s3-server.ts';

/**
 * Optional: lifecycle events are also POSTed here (design §7). Local-only, hence not in
 * src/constants.ts's ENV (which names what the Lambda handlers read).
 */
export const EVENTS_WEBHOOK_URL_ENV = 'EVENTS_WEBHOOK_URL';

/**
 * The event sinks of the local stack: SNS (fauxqs) for subscribers, JSON lines on stderr (stdout
 * carries only the `ready` line), and the webhook when configured. Built before anything starts, so
 * a bad URL fails as configuration (exit 2) without starting a server.
 */
export function localSinks(env: Env): { webhook: EventBus | undefined; lines: EventBus } {
  const lines = new ConsoleEventBus({ write: (line) => void process.stderr.write(line) });
  const url = env[EVENTS_WEBHOOK_URL_ENV]?.trim();
  if (!url) return { webhook: undefined, lines };
  try {
    return { webhook: new WebhookEventBus({ url }), lines };
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new ConfigError(EVENTS_WEBHOOK_URL_ENV, `${EVENTS_WEBHOOK_URL_ENV}: ${err.message}`, {
      cause: err,
    });
  }
}

/** Point the SDK at the embedded servers through its standard settings (no adapter knows). */
export function useEmbeddedEndpoints(endpoints: {
  dynamodb?: string;
  s3?: string;
  edge?: string;
  sns?: string;
}): void {
  // Static credentials the embedded servers accept (s3rver knows only this key): the stack never
  // reaches AWS, so whatever credentials the user's shell has are not even looked at.
  process.env.AWS_REGION = HOME_REGION;
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  if (endpoints.dynamodb) {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
    process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = endpoints.dynamodb;
  }
  if (endpoints.s3) process.env.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  if (endpoints.edge) process.env.AWS_ENDPOINT_URL_CLOUDFRONT = endpoints.edge;
  if (endpoints.sns) {
    // fauxqs serves both protocols on one port; SQS is for subscribers (and the e2e test), not the stack.
    process.env.AWS_ENDPOINT_URL_SNS = endpoints.sns;
    process.env.AWS_ENDPOINT_URL_SQS = endpoints.sns;
  }
}
