/**
 * The probe's only I/O: one HTTP request with global `fetch`, as any client makes it — no redirects
 * followed (design §5: the documents are never redirected, so a redirect is a finding), a timeout, and
 * the answer reduced to an HttpSnapshot for the pure checks.
 */
import type { HttpSnapshot } from './types.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  readonly fetch?: FetchLike;
  /** @default 5000 ms */
  readonly timeoutMs?: number;
}

/** A request that got no HTTP answer at all (refused, reset, timed out, DNS). */
export interface RequestFailure {
  readonly url: string;
  readonly error: string;
  readonly ms: number;
}

export const isFailure = (r: HttpSnapshot | RequestFailure): r is RequestFailure => 'error' in r;

function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

export async function request(
  url: string,
  init: RequestInit,
  opts: RequestOptions = {},
): Promise<HttpSnapshot | RequestFailure> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await (opts.fetch ?? fetch)(url, {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    const body = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { url, status: res.status, headers, body, ms: elapsed() };
  } catch (err) {
    return { url, error: reason(err), ms: elapsed() };
  }
}
