/**
 * Turns a raw token request into its parameters, or refuses it (RFC 6749 §3.2, §3.1, Appendix B):
 *
 * - `application/x-www-form-urlencoded` only, in UTF-8 (a `charset` other than UTF-8 is refused);
 * - at most MAX_BODY_BYTES (16 KiB) of body: more is 413 with an `invalid_request` body. 413 rather
 *   than 400 because the limit is a property of the transport, not of OAuth: proxies and HTTP clients
 *   know not to retry the same body, and OAuth client libraries still find the `error` member;
 * - a parameter sent without a value is treated as omitted (§3.1);
 * - a parameter sent twice is `invalid_request` (§3.2: "MUST NOT be included more than once"), except
 *   `resource`, which RFC 8707 §2 allows to repeat; the endpoint decides what several of them mean.
 *
 * Descriptions name only parameters we know, never echo what the caller sent.
 */
import { OAuthError } from './errors.ts';
import type { TokenHttpRequest } from './types.ts';

export const MAX_BODY_BYTES = 16 * 1024;
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** Parameters we read; only these are ever named in an error description. */
const KNOWN = new Set([
  'grant_type',
  'scope',
  'resource',
  'audience',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
]);

export interface TokenParams {
  /** Single-valued parameters (empty values dropped). */
  readonly values: ReadonlyMap<string, string>;
  /** Every non-empty `resource` value, in order (RFC 8707 allows several). */
  readonly resources: readonly string[];
}

const invalidRequest = (description: string, status?: number) =>
  new OAuthError('invalid_request', description, status === undefined ? {} : { status });

/** A header's single value; a header repeated with different values is a malformed request. */
export function singleHeader(req: TokenHttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  if (value === undefined || typeof value === 'string') return value;
  const distinct = new Set(value);
  if (distinct.size > 1) throw invalidRequest(`the ${name} header was sent more than once`);
  return value[0];
}

function checkContentType(req: TokenHttpRequest): void {
  const raw = singleHeader(req, 'content-type');
  if (raw === undefined) throw invalidRequest(`content type must be ${FORM_MEDIA_TYPE}`);
  const [type, ...parameters] = raw.split(';').map((s) => s.trim());
  if (type?.toLowerCase() !== FORM_MEDIA_TYPE)
    throw invalidRequest(`content type must be ${FORM_MEDIA_TYPE}`);
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=', 2).map((s) => s.trim());
    if (name?.toLowerCase() !== 'charset') continue;
    if (value.replace(/^"(.*)"$/, '$1').toLowerCase() !== 'utf-8') {
      throw invalidRequest('the request body must be UTF-8');
    }
  }
}

function bodyText(body: Uint8Array | string): string {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (size > MAX_BODY_BYTES) throw invalidRequest(`the request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
  if (typeof body === 'string') return body;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw invalidRequest('the request body must be UTF-8');
  }
}

/** @throws OAuthError (invalid_request; 413 for an oversized body) */
export function parseTokenParams(req: TokenHttpRequest): TokenParams {
  checkContentType(req);
  const text = bodyText(req.body);
  const values = new Map<string, string>();
  const resources: string[] = [];
  const repeated = new Set<string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') continue;
    if (name === 'resource') {
      resources.push(value);
      continue;
    }
    if (values.has(name)) repeated.add(name);
    values.set(name, value);
  }
  if (repeated.size > 0) {
    const named = [...repeated].filter((n) => KNOWN.has(n)).sort();
    throw invalidRequest(
      named.length > 0
        ? `parameter ${named.join(', ')} must not be sent more than once`
        : 'a parameter was sent more than once',
    );
  }
  return { values, resources };
}
