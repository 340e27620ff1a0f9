import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConsoleEventBus,
  EventDeliveryError,
  FanoutEventBus,
  WebhookEventBus,
} from '../../src/adapters/local/webhook.ts';
import type { BusEvent } from '../../src/core/events.ts';
import { hasCode, JwksError } from '../../src/errors.ts';
import type { EventBus } from '../../src/events/ports.ts';

const event: BusEvent & Record<string, unknown> = { id: 'evt-1', type: 'key.revoked', kid: 'kid-1' };

const HANG = -1;

interface Received {
  readonly method: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

describe('WebhookEventBus against a local HTTP server', () => {
  let server: Server;
  let url: string;
  const received: Received[] = [];
  /** Status to answer per request, in order (HANG: no answer); 204 once the script runs out. */
  let script: number[] = [];
  const sleeps: number[] = [];
  const sleep = async (ms: number) => void sleeps.push(ms);

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      received.push({
        method: req.method,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const status = script.shift() ?? 204;
      if (status === HANG) return; // never answer
      res.statusCode = status;
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=secret-token`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    sleeps.length = 0;
    script = [];
  });

  it('POSTs the event JSON with its id as idempotency key when the receiver accepts it', async () => {
    await new WebhookEventBus({ url, sleep }).publish(event);
    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe('POST');
    expect(received[0]?.headers['content-type']).toBe('application/json');
    expect(received[0]?.headers['idempotency-key']).toBe('evt-1');
    expect(JSON.parse(received[0]?.body ?? '')).toEqual(event);
  });

  it('retries with growing backoff and succeeds when the receiver answers 500 first', async () => {
    script = [500, 503];
    await new WebhookEventBus({ url, sleep, baseDelayMs: 100, random: () => 0.999 }).publish(event);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeLessThan(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThan(200);
  });

  it('gives up with UPSTREAM after maxAttempts when the receiver keeps failing', async () => {
    script = [500, 500, 500, 500];
    const err = await new WebhookEventBus({ url, sleep, maxAttempts: 3 })
      .publish(event)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventDeliveryError);
    expect(hasCode(err, 'UPSTREAM')).toBe(true);
    expect(err).toMatchObject({ attempts: 3, status: 500 });
    expect(received).toHaveLength(3);
    expect(String((err as Error).message)).not.toContain('secret-token');
  });

  it('gives up at once when the receiver refuses the event with a 4xx', async () => {
    script = [400];
    const err = await new WebhookEventBus({ url, sleep, maxAttempts: 5 })
      .publish(event)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM', attempts: 1, status: 400 });
    expect(received).toHaveLength(1);
  });

  it('retries a connection failure and gives up with the cause when nothing listens', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const bus = new WebhookEventBus({ url: `http://127.0.0.1:${port}/`, sleep, maxAttempts: 2 });
    const err = await bus.publish(event).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM', attempts: 2, status: undefined });
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(sleeps).toHaveLength(1);
  });

  it('retries when an attempt times out and succeeds when the next is answered', async () => {
    script = [HANG];
    await new WebhookEventBus({ url, sleep, timeoutMs: 100 }).publish(event);
    expect(received).toHaveLength(2);
  });

  it('refuses a URL that is not http(s) when constructed', () => {
    for (const bad of ['file:///etc/passwd', 'not a url']) {
      expect(() => new WebhookEventBus({ url: bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('ConsoleEventBus', () => {
  it('writes one JSON line per event when publishing', async () => {
    const lines: string[] = [];
    const bus = new ConsoleEventBus({ write: (l) => void lines.push(l) });
    await bus.publish(event);
    await bus.publish({ ...event, id: 'evt-2' });
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['evt-1', 'evt-2']);
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
  });
});

describe('FanoutEventBus', () => {
  const ok = (): EventBus & { got: BusEvent[] } => {
    const got: BusEvent[] = [];
    return { got, publish: async (e) => void got.push(e) };
  };
  const failing = (code: 'UPSTREAM' | 'CONFLICT'): EventBus => ({
    publish: vi.fn(async () => {
      throw new JwksError(code, 'sink down');
    }),
  });

  it('gives every sink the event when all accept', async () => {
    const [a, b] = [ok(), ok()];
    await new FanoutEventBus([a, b]).publish(event);
    expect([a.got, b.got]).toEqual([[event], [event]]);
  });

  it('still feeds the other sinks and rethrows when one sink fails', async () => {
    const a = ok();
    const err = await new FanoutEventBus([failing('CONFLICT'), a]).publish(event).catch((e: unknown) => e);
    expect(hasCode(err, 'CONFLICT')).toBe(true);
    expect(a.got).toEqual([event]);
  });

  it('fails with UPSTREAM carrying every cause when several sinks fail', async () => {
    const err = await new FanoutEventBus([failing('CONFLICT'), failing('UPSTREAM')])
      .publish(event)
      .catch((e: unknown) => e);
    expect(hasCode(err, 'UPSTREAM')).toBe(true);
    expect(((err as Error).cause as AggregateError).errors).toHaveLength(2);
  });
});
