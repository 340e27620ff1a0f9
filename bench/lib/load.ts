/**
 * A bounded HTTP load generator for the benchmarks, on autocannon (a well-kept load tester; its own
 * HTTP/1.1 client, so the load costs little CPU next to the server under test).
 *
 * Safety rails, because a benchmark runs on a developer's machine: the target must be a loopback
 * address; every run is bounded by time (autocannon's `duration`, plus a watchdog that stops it) AND by
 * a request count (`maxOverallRequests`); the run stops by itself and resolves.
 *
 * Latencies come from autocannon's `response` event (hrtime, sub-millisecond) rather than its
 * histogram, which records whole milliseconds — too coarse for a loopback p99 of ~1 ms.
 */
import autocannon from 'autocannon';
import { type Distribution, distribution } from './stats.ts';

export interface LoadOptions {
  readonly url: string;
  /** Concurrent keep-alive connections, each sending its next request when the previous answered. */
  readonly connections: number;
  readonly durationMs: number;
  /** Hard cap on requests (the run ends at whichever bound comes first). Default 5 million. */
  readonly maxRequests?: number;
  /** The status every answer must have to count as a success. Default 200. */
  readonly expectStatus?: number;
}

export interface LoadResult {
  /** Answers with the expected status. */
  readonly ok: number;
  /** Answers with any other status. */
  readonly badStatus: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly elapsedMs: number;
  /** Successful answers per second. */
  readonly reqPerSec: number;
  /** Latency of the successful answers, ms. */
  readonly latencyMs: Distribution;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const DEFAULT_MAX_REQUESTS = 5_000_000;
const MAX_DURATION_MS = 60_000;

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`load generator: refusing non-loopback target ${url}`);
}

/** One bounded run of `connections` keep-alive connections against `url` (GET). */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  assertLoopback(opts.url);
  if (!(opts.durationMs > 0 && opts.durationMs <= MAX_DURATION_MS)) {
    throw new Error(`load generator: duration must be in (0, ${MAX_DURATION_MS}] ms`);
  }
  const expect = opts.expectStatus ?? 200;
  const latencies: number[] = [];
  let badStatus = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        method: 'GET',
        connections: opts.connections,
        duration: opts.durationMs / 1000,
        maxOverallRequests: opts.maxRequests ?? DEFAULT_MAX_REQUESTS,
        timeout: 10,
      },
      (err, result) => {
        clearTimeout(watchdog);
        if (err) return reject(err);
        const elapsedMs = result.duration * 1000;
        resolve({
          ok: latencies.length,
          badStatus,
          errors: result.errors,
          elapsedMs,
          reqPerSec: (latencies.length * 1000) / elapsedMs,
          latencyMs: distribution(latencies),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === expect) latencies.push(responseTime);
      else badStatus++;
    });
    // autocannon ends on its own at `duration`; this only guards against a run that would not.
    const watchdog = setTimeout(() => instance.stop(), opts.durationMs + 10_000);
  });
}
