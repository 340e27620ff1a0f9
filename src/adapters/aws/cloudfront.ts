/**
 * Cdn over CloudFront: one CreateInvalidation per published change (design §5).
 *
 * CloudFront limits invalidations in progress per distribution and throttles the API, both of which a
 * burst of publishes can hit. A dropped invalidation would leave verifiers on a stale JWKS until the
 * cache TTL runs out, so those answers are retried with exponential backoff and full jitter, and a
 * persistent failure throws InvalidationError (the stream batch fails and is retried) — never ignored.
 * The SDK's own retry strategy does not cover TooManyInvalidationsInProgress (a plain 400).
 * @see https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
import { createHash } from 'node:crypto';
import { type CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { InvalidationError } from '../../errors.ts';
import { type Cdn, type Log, silentLog } from '../../ports.ts';

interface AwsErrorShape {
  readonly name?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'TooManyInvalidationsInProgress',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** Worth waiting for: the distribution's in-progress limit, API throttling, or the service shedding load. */
export function isRetryableInvalidationError(err: unknown): boolean {
  const e = (err ?? {}) as AwsErrorShape;
  const status = e.$metadata?.httpStatusCode;
  return (
    (e.name !== undefined && THROTTLING_NAMES.has(e.name)) ||
    e.$retryable?.throttling === true ||
    status === 429 ||
    status === 503
  );
}

/**
 * CloudFront answers a repeated CallerReference with the *same* paths by returning the existing
 * invalidation (success, nothing to do here). The same reference with *different* paths is refused with
 * `InvalidationBatchAlreadyExists` (not modelled in the SDK, so matched by name): the new paths were not
 * invalidated. We then retry under a reference qualified by the paths, still deterministic, so a later
 * retry of this request collapses onto that one.
 */
const BATCH_EXISTS = 'InvalidationBatchAlreadyExists';
const pathQualifiedReference = (callerReference: string, paths: readonly string[]): string =>
  `${callerReference}~${createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16)}`;

export interface CloudFrontCdnOptions {
  readonly client: CloudFrontClient;
  readonly distributionId: string;
  /** Total CreateInvalidation calls before giving up (default 8). */
  readonly maxAttempts?: number;
  /** Backoff base: the ceiling of the n-th wait (n from 0) is min(maxDelayMs, baseDelayMs · 2ⁿ). Default 500. */
  readonly baseDelayMs?: number;
  /** Backoff cap (default 20 s). */
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter source (tests pin it). */
  readonly random?: () => number;
  readonly log?: Log;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CloudFrontCdn implements Cdn {
  readonly #client: CloudFrontClient;
  readonly #distributionId: string;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #log: Log;

  constructor(opts: CloudFrontCdnOptions) {
    this.#client = opts.client;
    this.#distributionId = opts.distributionId;
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? 8);
    this.#baseDelayMs = opts.baseDelayMs ?? 500;
    this.#maxDelayMs = opts.maxDelayMs ?? 20_000;
    this.#sleep = opts.sleep ?? realSleep;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.log ?? silentLog;
  }

  async invalidate(paths: readonly string[], callerReference: string): Promise<void> {
    const items = [...new Set(paths)];
    if (items.length === 0) return;
    let reference = callerReference;
    let lastError: unknown;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      try {
        await this.#client.send(
          new CreateInvalidationCommand({
            DistributionId: this.#distributionId,
            InvalidationBatch: {
              CallerReference: reference,
              Paths: { Quantity: items.length, Items: items },
            },
          }),
        );
        return;
      } catch (err) {
        lastError = err;
        if ((err as AwsErrorShape | null)?.name === BATCH_EXISTS && reference === callerReference) {
          reference = pathQualifiedReference(callerReference, items);
          this.#log.warn('invalidation reference reused with other paths; retrying path-qualified', {
            callerReference,
            reference,
          });
          continue;
        }
        if (!isRetryableInvalidationError(err)) {
          throw new InvalidationError(`CloudFront refused the invalidation of ${items.join(', ')}`, {
            cause: err,
          });
        }
        if (attempt + 1 < this.#maxAttempts) {
          const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** attempt);
          const delayMs = Math.floor(this.#random() * ceiling);
          this.#log.warn('invalidation throttled; backing off', {
            error: (err as AwsErrorShape).name,
            attempt: attempt + 1,
            delayMs,
          });
          await this.#sleep(delayMs);
        }
      }
    }
    throw new InvalidationError(
      `CloudFront invalidation of ${items.join(', ')} still throttled after ${this.#maxAttempts} attempts`,
      { cause: lastError },
    );
  }
}
