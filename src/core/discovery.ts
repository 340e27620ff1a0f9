/**
 * The discovery documents published next to the JWKS (design §2, §5): RFC 8414 authorization server
 * metadata at `/.well-known/oauth-authorization-server` and the OpenID Provider configuration at
 * `/.well-known/openid-configuration`. Pure and deterministic: the same issuer and policy give the same
 * bytes (fixed member order, compact JSON), so the publisher's "skip when the bytes are equal" works
 * for them as for the JWKS.
 *
 * One issuer (design §2): the canonical base URL, an origin without a path. RFC 8414 §3.3 and OIDC
 * Discovery §4.3 require `issuer` to equal the URL the metadata was fetched from minus the well-known
 * suffix; the documents are served at the root, so an issuer with a path would never match.
 *
 * Why an OpenID configuration at all, for a server that issues no ID tokens: many resource-server
 * libraries find `jwks_uri` only through it (Spring Security's issuer-uri, go-oidc, Microsoft.IdentityModel).
 * OIDC Discovery §3 makes `authorization_endpoint`, `response_types_supported`,
 * `subject_types_supported` and `id_token_signing_alg_values_supported` REQUIRED. We publish:
 * - `response_types_supported: []` in both documents (RFC 8414 §2 requires the member too): there is no
 *   authorization endpoint, so no response type is supported; listing `token` or `code` would
 *   advertise flows that do not exist. `authorization_endpoint` is omitted, as RFC 8414 §2 allows when
 *   no grant type uses it; an OIDC relying party doing a login flow cannot use this server and should
 *   not think it can.
 * - `subject_types_supported: ["public"]` (`sub` is the client id, the same for every audience);
 * - `id_token_signing_alg_values_supported`: the policy's algorithm, the one access tokens are signed
 *   with (go-oidc, for one, takes this list as its verifier's algorithm allow-list). After a change of
 *   `algorithm`, tokens of the old algorithm stay valid for at most `maxTokenTtl`; verifiers that use
 *   this list refuse them early, which the runbook should mention for an algorithm migration.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
 */
import { PATHS } from '../constants.ts';
import { InvalidArgumentError } from '../errors.ts';
import { ALGORITHMS, type Policy } from './types.ts';

export interface DiscoveryDocuments {
  readonly oauthMetadata: string;
  readonly openidConfiguration: string;
}

export interface IssuerUrls {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly oauthMetadata: string;
  readonly openidConfiguration: string;
}

export const GRANT_TYPES_SUPPORTED = ['client_credentials'] as const;
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;
/** Claims of the access tokens (RFC 9068 §2.2). */
export const CLAIMS_SUPPORTED = ['iss', 'sub', 'client_id', 'aud', 'exp', 'iat', 'jti', 'scope'] as const;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The issuer, checked: an https origin (http only on a loopback host, for the local stack), no path,
 * query, fragment, credentials or trailing slash. @throws InvalidArgumentError
 */
export function assertIssuer(issuer: string): string {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`issuer ${JSON.stringify(issuer)} ${why}`);
  };
  if (!URL.canParse(issuer)) bad('is not an absolute URL');
  const url = new URL(issuer);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    bad('must be https (http only on a loopback host)');
  }
  if (
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    issuer.includes('?') ||
    issuer.includes('#')
  ) {
    bad('must not have credentials, a query or a fragment');
  }
  if (url.origin !== issuer) bad(`must be an origin without path or trailing slash (${url.origin})`);
  return issuer;
}

/** Every URL derived from the issuer: the token endpoint the `aud` of client assertions may name, etc. */
export function issuerUrls(issuer: string): IssuerUrls {
  const base = assertIssuer(issuer);
  return {
    issuer: base,
    jwksUri: `${base}${PATHS.JWKS}`,
    tokenEndpoint: `${base}${PATHS.TOKEN}`,
    oauthMetadata: `${base}${PATHS.OAUTH_METADATA}`,
    openidConfiguration: `${base}${PATHS.OPENID_CONFIGURATION}`,
  };
}

export function renderDiscoveryDocuments(
  issuer: string,
  policy: Pick<Policy, 'algorithm'>,
): DiscoveryDocuments {
  const urls = issuerUrls(issuer);
  // Built member by member: a fixed order keeps the bytes stable.
  const common = {
    issuer: urls.issuer,
    jwks_uri: urls.jwksUri,
    token_endpoint: urls.tokenEndpoint,
    grant_types_supported: [...GRANT_TYPES_SUPPORTED],
    response_types_supported: [] as string[],
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...ALGORITHMS],
  };
  const openid = {
    ...common,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [policy.algorithm],
    claims_supported: [...CLAIMS_SUPPORTED],
  };
  return { oauthMetadata: JSON.stringify(common), openidConfiguration: JSON.stringify(openid) };
}
