import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { assertIssuer, issuerUrls, renderDiscoveryDocuments } from '../../src/core/discovery.ts';
import { parsePolicy } from '../../src/core/policy.ts';
import { ALGORITHMS } from '../../src/core/types.ts';

const ISSUER = 'https://auth.example.com';
const policy = parsePolicy({}).policy;

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('renderDiscoveryDocuments', () => {
  it('publishes the RFC 8414 members with URLs under the issuer when rendered', () => {
    const meta = JSON.parse(renderDiscoveryDocuments(ISSUER, policy).oauthMetadata);
    expect(meta).toEqual({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/${OBJECT_KEYS.JWKS}`,
      token_endpoint: `${ISSUER}/oauth2/token`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...ALGORITHMS],
    });
    expect(meta.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
    expect(
      meta.token_endpoint_auth_signing_alg_values_supported.some((a: string) => a.startsWith('HS')),
    ).toBe(false);
  });

  it('adds the OIDC-required members to the OpenID configuration when rendered', () => {
    const es = parsePolicy({ algorithm: 'ES256' }).policy;
    const oauth = JSON.parse(renderDiscoveryDocuments(ISSUER, es).oauthMetadata);
    const oidc = JSON.parse(renderDiscoveryDocuments(ISSUER, es).openidConfiguration);
    expect(oidc).toMatchObject(oauth);
    expect(oidc.subject_types_supported).toEqual(['public']);
    expect(oidc.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(oidc.response_types_supported).toEqual([]);
    expect(oidc.claims_supported).toEqual(
      expect.arrayContaining(['iss', 'sub', 'aud', 'exp', 'client_id', 'scope']),
    );
  });

  it('gives the same bytes for the same input and compact JSON when rendered twice', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALGORITHMS), fc.domain(), (algorithm, host) => {
        const p = parsePolicy({ algorithm }).policy;
        const a = renderDiscoveryDocuments(`https://${host}`, p);
        const b = renderDiscoveryDocuments(`https://${host}`, { ...p });
        expect(a).toEqual(b);
        expect(a.oauthMetadata).toBe(JSON.stringify(JSON.parse(a.oauthMetadata)));
        expect(JSON.parse(a.openidConfiguration).issuer).toBe(new URL(`https://${host}`).origin);
      }),
      { numRuns: 50 },
    );
  });

  it('puts issuer exactly as given, matching the metadata URL minus the well-known suffix (RFC 8414 §3.3)', () => {
    const urls = issuerUrls('http://127.0.0.1:8787');
    expect(urls.oauthMetadata.replace('/.well-known/oauth-authorization-server', '')).toBe(urls.issuer);
    expect(urls.openidConfiguration.replace('/.well-known/openid-configuration', '')).toBe(urls.issuer);
    expect(JSON.parse(renderDiscoveryDocuments(urls.issuer, policy).oauthMetadata).issuer).toBe(urls.issuer);
  });
});

describe('assertIssuer', () => {
  it.each([
    ['a trailing slash', 'https://auth.example.com/'],
    ['a path', 'https://auth.example.com/tenant'],
    ['a query', 'https://auth.example.com?x=1'],
    ['a fragment', 'https://auth.example.com#x'],
    ['credentials', 'https://user:pw@auth.example.com'],
    ['plain http on a public host', 'http://auth.example.com'],
    ['no scheme', 'auth.example.com'],
    ['an upper-case host (not the canonical origin)', 'https://Auth.Example.com'],
  ])('throws INVALID_ARGUMENT when the issuer has %s', (_name, issuer) => {
    expect(codeOf(() => assertIssuer(issuer))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => renderDiscoveryDocuments(issuer, policy))).toBe('INVALID_ARGUMENT');
  });

  it.each([
    'https://auth.example.com',
    'https://d111111abcdef8.cloudfront.net',
    'http://127.0.0.1:8787',
    'http://localhost:8787',
  ])('accepts %s', (issuer) => {
    expect(assertIssuer(issuer)).toBe(issuer);
  });
});
