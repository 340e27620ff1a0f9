/**
 * Event sinks for the local stack (design §7): a webhook (`EVENTS_WEBHOOK_URL`), JSON lines on the
 * console, and a fan-out that feeds several sinks from one handler. None of them is an SNS stand-in —
 * the SNS adapter runs against fauxqs for that; these are extra sinks a developer can watch.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { BusEvent } from '../../core/events.ts';
import { InvalidArgumentError, JwksError } from '../../errors.ts';
import type { EventBus } from '../../events/ports.ts';

/** A webhook delivery that failed for good: a non-retryable answer, or every attempt used up. */
export class EventDeliveryError extends JwksError {
  readonly attempts: number;
  /** The last HTTP status, when there was an answer. */
  readonly status: number | undefined;
  constructor(message: string, attempts: number, status: number | undefined, options?: { cause?: unknown }) {
    super('UPSTREAM', message, options);
    this.attempts = attempts;
    this.status = status;
  }
}

export interface WebhookEventBusOptions {
  readonly url: string;
  /** Attempts in all, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** Backoff cap before attempt n+1: min(maxDelayMs, baseDelayMs × 2^(n−1)), full jitter. Default 200 ms. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Per attempt. Default 5 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<unknown>;
  readonly random?: () => number;
}

/** 408/425/429 and 5xx are worth another try; any other answer will not change (RFC 9110 §15). */
const retryable = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * POSTs each event as its JSON body. Retries with exponential backoff and full jitter (so receivers
 * that come back after an outage are not hit in lockstep); the `Idempotency-Key` header carries the
 * event id for receivers that de-duplicate on headers.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export class WebhookEventBus implements EventBus {
  readonly #url: string;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<unknown>;
  readonly #random: () => number;

  constructor(opts: WebhookEventBusOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (err) {
      throw new InvalidArgumentError('webhook URL is not a URL', { cause: err });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError(`webhook URL must be http or https, not ${url.protocol}`);
    }
    this.#url = url.href;
    this.#maxAttempts = opts.maxAttempts ?? 5;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new InvalidArgumentError(`maxAttempts ${this.#maxAttempts} is not a positive integer`);
    }
    this.#baseDelayMs = opts.baseDelayMs ?? 200;
    this.#maxDelayMs = opts.maxDelayMs ?? 5_000;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#fetch = opts.fetch ?? fetch;
    this.#sleep = opts.sleep ?? delay;
    this.#random = opts.random ?? Math.random;
  }

  async publish(event: BusEvent): Promise<void> {
    const body = JSON.stringify(event);
    let lastStatus: number | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (attempt > 1) {
        const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 2));
        await this.#sleep(Math.floor(this.#random() * cap));
      }
      try {
        const res = await this.#fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': event.id },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        await res.body?.cancel(); // the answer's body is not used; free the connection
        if (res.ok) return;
        lastStatus = res.status;
        lastError = undefined;
        if (!retryable(res.status)) {
          throw new EventDeliveryError(
            `webhook refused event ${event.id}: ${res.status}`,
            attempt,
            res.status,
          );
        }
      } catch (err) {
        if (err instanceof EventDeliveryError) throw err;
        lastStatus = undefined;
        lastError = err; // network error or timeout: retry
      }
    }
    // The URL is not in the message: it may carry a secret token.
    throw new EventDeliveryError(
      `webhook did not accept event ${event.id} after ${this.#maxAttempts} attempts` +
        (lastStatus === undefined ? '' : ` (last status ${lastStatus})`),
      this.#maxAttempts,
      lastStatus,
      { cause: lastError },
    );
  }
}

/** One JSON line per event (stdout by default), for `npm start` and `jq`. */
export class ConsoleEventBus implements EventBus {
  readonly #write: (line: string) => void;

  constructor(opts: { write?: (line: string) => void } = {}) {
    this.#write = opts.write ?? ((line) => void process.stdout.write(line));
  }

  async publish(event: BusEvent): Promise<void> {
    this.#write(`${JSON.stringify(event)}\n`);
  }
}

/**
 * Every event to every sink, concurrently. It fails if any sink failed (after the others were given
 * the event too), so the stream record is retried; sinks that had accepted it get it again with the
 * same id.
 */
export class FanoutEventBus implements EventBus {
  readonly #buses: readonly EventBus[];

  constructor(buses: readonly EventBus[]) {
    this.#buses = [...buses];
  }

  async publish(event: BusEvent): Promise<void> {
    const results = await Promise.allSettled(this.#buses.map((bus) => bus.publish(event)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new JwksError('UPSTREAM', `${errors.length} event sinks failed for event ${event.id}`, {
        cause: new AggregateError(errors),
      });
    }
  }
}
