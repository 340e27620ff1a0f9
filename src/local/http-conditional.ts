/**
 * Conditional GET evaluation for the local edge (RFC 9110 §13). Hand-written: the `fresh` package that
 * Express uses also turns a request's `Cache-Control: no-cache` into "not fresh", which is a browser
 * cache rule, not an edge's; what an edge needs is the two preconditions below.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
 */

/** Entity-tags in an If-None-Match list; `W/"x"` and `"x"` kept verbatim, unquoted junk tolerated. */
const ENTITY_TAG = /(?:W\/)?"[^"]*"|[^\s,]+/g;

/** The opaque part, for weak comparison: `W/"abc"`, `"abc"` and `abc` all compare as `abc`. */
const opaque = (tag: string): string => tag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

/**
 * True when If-None-Match matches the current representation, i.e. the answer is 304 for GET/HEAD.
 * If-None-Match uses the weak comparison function; `*` matches any current representation.
 */
export function ifNoneMatchMatches(header: string, etag: string): boolean {
  const tags: string[] = header.match(ENTITY_TAG) ?? [];
  if (tags.includes('*')) return true;
  const current = opaque(etag);
  return tags.some((tag) => opaque(tag) === current);
}

/**
 * True when If-Modified-Since says the client's copy is current (RFC 9110 §13.1.3). Only consulted when
 * there is no If-None-Match; an unparsable date is ignored. HTTP dates have whole-second precision.
 */
export function notModifiedSince(header: string, lastModified: Date | undefined): boolean {
  if (!lastModified) return false;
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
}
