/**
 * How long a shared cache (the local edge, like CloudFront) may keep a response, from its
 * `Cache-Control` header. Hand-written because the edge needs an injected clock and RFC 5861
 * `stale-if-error`, and it caches store objects rather than HTTP responses, which is what
 * http-cache-semantics and friends model; the rules themselves are a handful of directives.
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2
 * @see https://www.rfc-editor.org/rfc/rfc5861#section-4
 */

export interface CachePolicy {
  /** May the edge keep it at all (`no-store` and `private` say no). */
  readonly storable: boolean;
  /** Freshness lifetime in ms: `s-maxage` (shared caches) over `max-age`; 0 for `no-cache`. */
  readonly ttlMs: number;
  /** How long past expiry a stored copy may still be served when the origin fails (`stale-if-error`). */
  readonly staleIfErrorMs: number;
}

export interface TtlLimits {
  /** Lifetime when the header gives none (CloudFront's default TTL). Default 0: not cached. */
  readonly defaultTtlMs?: number;
  /** Upper bound on any lifetime (CloudFront's max TTL, the policy's `cdnMaxTtl`). */
  readonly maxTtlMs?: number;
}

/** Directive names lower-cased; values unquoted. Repeated directives: the first wins. */
export function parseDirectives(header: string | undefined): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of (header ?? '').split(',')) {
    const [rawName, ...rest] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    if (!name || directives.has(name)) continue;
    const raw = rest.length > 0 ? rest.join('=').trim() : undefined;
    directives.set(name, raw?.replace(/^"(.*)"$/, '$1'));
  }
  return directives;
}

/** delta-seconds (RFC 9111 §1.2.2) in ms; anything else is undefined (and treated as "already stale"). */
function deltaSecondsMs(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 2_147_483_648) * 1000;
}

export function cachePolicy(header: string | undefined, limits: TtlLimits = {}): CachePolicy {
  const d = parseDirectives(header);
  const maxTtl = limits.maxTtlMs ?? Number.POSITIVE_INFINITY;
  const storable = !d.has('no-store') && !d.has('private');
  let ttl: number;
  if (d.has('no-cache')) ttl = 0;
  else if (d.has('s-maxage')) ttl = deltaSecondsMs(d.get('s-maxage')) ?? 0;
  else if (d.has('max-age')) ttl = deltaSecondsMs(d.get('max-age')) ?? 0;
  else ttl = limits.defaultTtlMs ?? 0;
  return {
    storable,
    ttlMs: Math.min(ttl, maxTtl),
    staleIfErrorMs: deltaSecondsMs(d.get('stale-if-error')) ?? 0,
  };
}
