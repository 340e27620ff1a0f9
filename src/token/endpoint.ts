/**
 * The OAuth 2.0 token endpoint for the client credentials grant (RFC 6749 §4.4), transport-neutral:
 * `handle` takes a method, lower-case headers and a body, and returns status, headers and body, so the
 * same code serves the local edge route (node-http.ts) and the Lambda (handlers/token-handler.ts).
 *
 * The access token is an RFC 9068 JWT signed by the Signer with the registry's ACTIVE key: header
 * `typ: at+jwt`, `kid`, `alg`; claims `iss`, `sub` (= `client_id`: the client acts for itself),
 * `client_id`, `aud`, `exp`, `iat`, `jti`, `scope`. Its lifetime never exceeds the policy's
 * `maxTokenTtl` (the retention rule of design §3 depends on that bound).
 *
 * Errors are RFC 6749 §5.2 JSON with `Cache-Control: no-store`; a client's mistake is always a 4xx.
 * No ACTIVE key (or the vault refusing it) is 503 `temporarily_unavailable` with `Retry-After`; any
 * other failure of ours is a 500 `server_error` whose body says nothing more (the log has the cause).
 *
 * Cost of a token once warm: one vault `sign` (KMS Sign), no registry read within `signerCacheTtl`,
 * no client read within the same TTL (CachedClientStore), no scrypt after a client's first success
 * (SecretVerifier); `private_key_jwt` adds one conditional write (the jti).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2
 */
import { randomBytes } from 'node:crypto';
import { issuerUrls } from '../core/discovery.ts';
import type { Policy } from '../core/types.ts';
import { InvalidArgumentError, KeyUnusableError, NoActiveKeyError } from '../errors.ts';
import { type Clock, type Log, silentLog } from '../ports.ts';
import type { Signer } from '../signer.ts';
import { assertionAudiences } from './assertion-audience.ts';
import { ClientAssertionVerifier } from './client-assertion.ts';
import { type AuthenticatedClient, ClientAuthenticator } from './client-auth.ts';
import { CachedClientStore } from './client-cache.ts';
import { errorResponse, jsonResponse, OAuthError } from './errors.ts';
import { grantedAudience, grantedScopes } from './grant.ts';
import { parseTokenParams, singleHeader } from './params.ts';
import { SecretVerifier } from './secret-verifier.ts';
import type { ClientStore, TokenHttpRequest, TokenHttpResponse, TokenResponseBody } from './types.ts';

export const GRANT_TYPE = 'client_credentials';
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface TokenEndpointOptions {
  /** Only `get` and `useJti` are called (through a CachedClientStore). */
  readonly clients: ClientStore;
  readonly signer: Pick<Signer, 'sign'>;
  readonly policy: Pick<Policy, 'maxTokenTtl' | 'clockSkew' | 'signerCacheTtl'>;
  /** The canonical issuer (an origin, design §2): the tokens' `iss`, an accepted assertion `aud`. */
  readonly issuer: string;
  /** This endpoint's URL, the other accepted assertion `aud`. Default `<issuer>/oauth2/token`. */
  readonly tokenEndpointUrl?: string;
  /**
   * Whether the issuer and `<issuer>/oauth2/token` are accepted as assertion `aud` (default true). A
   * multi-region deployment accepts them in the home region only (assertion-audience.ts).
   */
  readonly issuerAudience?: boolean;
  /** Access token lifetime; default and upper bound `policy.maxTokenTtl`. */
  readonly tokenTtlMs?: number;
  /** How long a client record is used before it is read again. Default `policy.signerCacheTtl`. */
  readonly clientCacheTtlMs?: number;
  /** How long a verified secret skips scrypt. Default 5 minutes. */
  readonly secretCacheTtlMs?: number;
  readonly clock?: Clock;
  readonly log?: Log;
  /** Accept client keys from a loopback jwks_uri: set by the local stack only (design §11). */
  readonly allowLoopbackJwksUri?: boolean;
}

export interface TokenEndpoint {
  handle(request: TokenHttpRequest): Promise<TokenHttpResponse>;
  /** Precompute the dummy hash and dummy keys, so the first failed request is not slower (optional). */
  warmUp(): Promise<void>;
}

export function createTokenEndpoint(opts: TokenEndpointOptions): TokenEndpoint {
  const urls = issuerUrls(opts.issuer);
  const tokenEndpointUrl = opts.tokenEndpointUrl ?? urls.tokenEndpoint;
  if (!URL.canParse(tokenEndpointUrl)) throw new InvalidArgumentError('tokenEndpointUrl is not a URL');
  const ttlMs = Math.min(opts.tokenTtlMs ?? opts.policy.maxTokenTtl, opts.policy.maxTokenTtl);
  const ttlSeconds = Math.floor(ttlMs / 1000);
  if (ttlSeconds < 1) throw new InvalidArgumentError('access token lifetime must be at least 1 s');
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? silentLog;
  const clients = new CachedClientStore(opts.clients, {
    ttlMs: opts.clientCacheTtlMs ?? opts.policy.signerCacheTtl,
    clock,
  });
  const secrets = new SecretVerifier({
    clock,
    ...(opts.secretCacheTtlMs === undefined ? {} : { cacheTtlMs: opts.secretCacheTtlMs }),
  });
  const assertions = new ClientAssertionVerifier({
    clients,
    audiences: assertionAudiences(urls.issuer, {
      tokenEndpointUrl,
      issuerAudience: opts.issuerAudience ?? true,
    }),
    clockSkewMs: opts.policy.clockSkew,
    clock,
    allowLoopbackJwksUri: opts.allowLoopbackJwksUri === true,
  });
  const auth = new ClientAuthenticator({ clients, secrets, assertions, realm: urls.issuer, log });
  const retryAfter = String(Math.max(1, Math.ceil(opts.policy.signerCacheTtl / 1000)));

  async function issue(authenticated: AuthenticatedClient, scope: string[], aud: string) {
    const { client } = authenticated;
    const iat = Math.floor(clock() / 1000);
    const claims: Record<string, unknown> = {
      iss: urls.issuer,
      sub: client.clientId,
      client_id: client.clientId,
      aud,
      exp: iat + ttlSeconds,
      iat,
      jti: randomBytes(16).toString('base64url'),
      ...(scope.length > 0 ? { scope: scope.join(' ') } : {}),
    };
    const { token } = await opts.signer.sign(claims, { typ: ACCESS_TOKEN_TYP });
    const body: TokenResponseBody = {
      access_token: token,
      token_type: 'Bearer',
      expires_in: ttlSeconds,
      ...(scope.length > 0 ? { scope: scope.join(' ') } : {}),
    };
    return jsonResponse(200, { ...body });
  }

  async function process(request: TokenHttpRequest): Promise<TokenHttpResponse> {
    if (request.method.toUpperCase() !== 'POST') {
      throw new OAuthError('invalid_request', 'the token endpoint accepts POST only', {
        status: 405,
        headers: { Allow: 'POST' },
      });
    }
    const params = parseTokenParams(request);
    const grantType = params.values.get('grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    if (grantType !== GRANT_TYPE) {
      throw new OAuthError('unsupported_grant_type', `only ${GRANT_TYPE} is supported`);
    }
    const authenticated = await auth.authenticate(singleHeader(request, 'authorization'), params);
    const scope = grantedScopes(authenticated.client, params.values.get('scope'));
    const aud = grantedAudience(authenticated.client, params);
    const response = await issue(authenticated, scope, aud);
    log.info('token: issued', { clientId: authenticated.client.clientId, method: authenticated.method, aud });
    return response;
  }

  return {
    async handle(request) {
      try {
        return await process(request);
      } catch (err) {
        if (err instanceof OAuthError) return errorResponse(err);
        if (err instanceof NoActiveKeyError || err instanceof KeyUnusableError) {
          const awaitingKid = err instanceof NoActiveKeyError ? err.awaitingKid : undefined;
          log.error('token: no usable signing key', {
            code: err.code,
            ...(awaitingKid ? { awaitingKid } : {}),
          });
          return errorResponse(
            new OAuthError('temporarily_unavailable', 'no signing key is available; retry shortly', {
              status: 503,
              headers: { 'Retry-After': retryAfter },
            }),
          );
        }
        // The cause goes to the log (our messages never hold a secret); the caller learns nothing more.
        log.error('token: request failed', { error: err });
        return errorResponse(
          new OAuthError('server_error', 'the request could not be processed', { status: 500 }),
        );
      }
    },
    async warmUp() {
      await Promise.all([secrets.warmUp(), assertions.warmUp()]);
    },
  };
}
