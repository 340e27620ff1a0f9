/**
 * What an authenticated client may get: the token's scope and audience.
 *
 * - `scope` (RFC 6749 §3.3): space-delimited scope-tokens, each one of the client's scopes, else
 *   `invalid_scope`. Omitted: all of the client's scopes. The granted scope is returned in the client's
 *   registered order, so equal requests give equal tokens whatever order the tokens came in.
 * - audience: `resource` (RFC 8707) or `audience` (the parameter RFC 8693 and several providers use
 *   for a logical name). Omitted: the client's first audience. A value the client is not registered
 *   for is `invalid_target` — RFC 8707 §2 for `resource`, and RFC 8693 §2.2.2 uses the same code for
 *   `audience` — as is a `resource` that is not an absolute URI without fragment. One token has one
 *   audience, so several `resource` values are `invalid_target` too (RFC 8707 lets the server refuse
 *   a combination it cannot honour); sending both `resource` and `audience` is `invalid_request`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-2.2.2
 */
import { isResourceIndicator, SCOPE_TOKEN_PATTERN } from './client-validation.ts';
import { OAuthError } from './errors.ts';
import type { TokenParams } from './params.ts';
import type { Client } from './types.ts';

/** The granted scopes (in the client's order). @throws OAuthError invalid_scope */
export function grantedScopes(client: Client, requested: string | undefined): string[] {
  if (requested === undefined) return [...client.scopes];
  const tokens = requested.split(' ');
  if (!tokens.every((t) => SCOPE_TOKEN_PATTERN.test(t))) {
    throw new OAuthError('invalid_scope', 'scope is malformed');
  }
  const allowed = new Set(client.scopes);
  if (!tokens.every((t) => allowed.has(t))) {
    throw new OAuthError('invalid_scope', 'a requested scope is not allowed for this client');
  }
  const wanted = new Set(tokens);
  return client.scopes.filter((s) => wanted.has(s));
}

/** The token's audience. @throws OAuthError invalid_target / invalid_request */
export function grantedAudience(client: Client, params: TokenParams): string {
  const audience = params.values.get('audience');
  const { resources } = params;
  if (audience !== undefined && resources.length > 0) {
    throw new OAuthError('invalid_request', 'send either resource or audience, not both');
  }
  if (resources.length > 1) {
    throw new OAuthError('invalid_target', 'one resource per token request');
  }
  const resource = resources[0];
  if (resource !== undefined && !isResourceIndicator(resource)) {
    throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment');
  }
  const requested = resource ?? audience;
  if (requested === undefined) {
    const first = client.audiences[0];
    if (first === undefined) throw new OAuthError('invalid_target', 'the client has no audience');
    return first;
  }
  if (!client.audiences.includes(requested)) {
    throw new OAuthError('invalid_target', 'the requested audience is not allowed for this client');
  }
  return requested;
}
