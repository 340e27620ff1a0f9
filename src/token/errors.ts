/**
 * OAuth 2.0 token endpoint errors (RFC 6749 §5.2, RFC 8707 §2) and how each is written on the wire:
 * a JSON `{error, error_description}` body that is never cached and never carries a stack trace.
 *
 * The descriptions are fixed strings chosen here, never built from input or from an exception, so
 * nothing a caller sends (and nothing about our internals) is echoed back. Authentication failures
 * share ONE description whatever the cause, so an unknown, a disabled and a wrongly authenticated
 * client get byte-identical answers (RFC 6749 §10.3-style non-disclosure).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
import { InvalidArgumentError } from '../errors.ts';
import type { TokenHttpResponse } from './types.ts';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  | 'server_error';

/** A request the endpoint refuses; `handle` turns it into the response, it never escapes. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    error: OAuthErrorCode,
    description: string,
    opts: { status?: number; headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(description);
    this.name = 'OAuthError';
    this.error = error;
    this.status = opts.status ?? (error === 'invalid_client' ? 401 : 400);
    this.headers = opts.headers ?? {};
  }
}

/** The one description every client-authentication failure carries. */
export const CLIENT_AUTH_FAILED = 'client authentication failed';

/** `clients disable` (and the store) asked about a client that does not exist. */
export class ClientNotFoundError extends InvalidArgumentError {
  readonly clientId: string;
  constructor(clientId: string, options?: { cause?: unknown }) {
    super(`no client ${JSON.stringify(clientId)}`, options);
    this.clientId = clientId;
  }
}

/** RFC 6749 §5.1/§5.2: token responses and errors must not be cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json;charset=UTF-8',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

export function jsonResponse(
  status: number,
  body: Readonly<Record<string, unknown>>,
  headers: Readonly<Record<string, string>> = {},
): TokenHttpResponse {
  return { status, headers: { ...NO_STORE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(err: OAuthError): TokenHttpResponse {
  return jsonResponse(err.status, { error: err.error, error_description: err.message }, err.headers);
}
