import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkHttpContract,
  checkKeySet,
  checkNotModified,
  checkSameKeys,
  checkThumbprints,
  maxAgeOf,
} from '../../src/probe/checks.ts';
import { checkDiscovery } from '../../src/probe/discovery-check.ts';
import type { HttpSnapshot } from '../../src/probe/types.ts';

const PATH = 'cloudfront-jwks' as const;
const ISSUER = 'https://auth.example.com';

const answer = (over: Partial<HttpSnapshot> & { headers?: Record<string, string> } = {}): HttpSnapshot => ({
  url: `${ISSUER}/.well-known/jwks.json`,
  status: 200,
  body: '{"keys":[]}',
  ms: 12,
  ...over,
  headers: {
    'content-type': 'application/json',
    'cache-control': 'public, max-age=300, stale-if-error=300',
    etag: '"abc"',
    'access-control-allow-origin': '*',
    ...over.headers,
  },
});

/** Two real public keys with thumbprint kids, as the product publishes them. */
async function publicKeys(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    out.push({ ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg });
  }
  return out;
}

describe('checkHttpContract', () => {
  it('passes when status, JSON type, max-age, ETag and CORS are all as published', () => {
    const r = checkHttpContract('jwks.http', PATH, answer());
    expect(r).toMatchObject({ ok: true, ms: 12, name: 'jwks.http', path: PATH });
    expect(r.detail).toContain('max-age=300');
  });

  it('fails when Cache-Control has no max-age', () => {
    const r = checkHttpContract('jwks.http', PATH, answer({ headers: { 'cache-control': 'public' } }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('no max-age');
  });

  it('fails when Cache-Control is missing altogether or forbids storing', () => {
    const missing = answer();
    const headers = { ...missing.headers };
    delete headers['cache-control'];
    expect(checkHttpContract('jwks.http', PATH, { ...missing, headers }).ok).toBe(false);
    expect(
      checkHttpContract('jwks.http', PATH, answer({ headers: { 'cache-control': 'no-store, max-age=300' } }))
        .ok,
    ).toBe(false);
    expect(
      checkHttpContract('jwks.http', PATH, answer({ headers: { 'cache-control': 'max-age=0' } })).ok,
    ).toBe(false);
  });

  it('fails on a content type that is not JSON', () => {
    const r = checkHttpContract('jwks.http', PATH, answer({ headers: { 'content-type': 'text/plain' } }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('Content-Type "text/plain"');
  });

  it('accepts application/jwk-set+json where the caller allows it, with parameters', () => {
    const res = answer({ headers: { 'content-type': 'application/jwk-set+json; charset=utf-8' } });
    expect(checkHttpContract('jwks.http', PATH, res).ok).toBe(false);
    expect(
      checkHttpContract('jwks.http', PATH, res, ['application/json', 'application/jwk-set+json']).ok,
    ).toBe(true);
  });

  it('fails without an ETag, with an unquoted one, or without CORS for any origin', () => {
    const noEtag = answer();
    const headers = { ...noEtag.headers };
    delete headers.etag;
    expect(checkHttpContract('jwks.http', PATH, { ...noEtag, headers }).detail).toContain('no ETag');
    expect(checkHttpContract('jwks.http', PATH, answer({ headers: { etag: 'abc' } })).ok).toBe(false);
    expect(
      checkHttpContract(
        'jwks.http',
        PATH,
        answer({ headers: { 'access-control-allow-origin': 'https://a.example' } }),
      ).ok,
    ).toBe(false);
  });

  it('fails on a redirect and names its target (verifiers must not be redirected)', () => {
    const r = checkHttpContract(
      'jwks.http',
      PATH,
      answer({ status: 302, headers: { location: 'https://elsewhere/' } }),
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('redirect to https://elsewhere/');
  });
});

describe('maxAgeOf', () => {
  it('reads max-age, not s-maxage, and nothing from a malformed value', () => {
    expect(maxAgeOf('public, max-age=300')).toBe(300);
    expect(maxAgeOf('s-maxage=60')).toBeUndefined();
    expect(maxAgeOf('max-age=abc')).toBeUndefined();
    expect(maxAgeOf(undefined)).toBeUndefined();
  });
});

describe('checkNotModified', () => {
  it('passes on 304 without a body', () => {
    expect(checkNotModified('jwks.not-modified', PATH, '"abc"', answer({ status: 304, body: '' })).ok).toBe(
      true,
    );
  });

  it('fails when the conditional GET gets a 200 again', () => {
    const r = checkNotModified('jwks.not-modified', PATH, '"abc"', answer({ status: 200 }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('status 200, expected 304');
  });

  it('fails when there was no ETag to send', () => {
    expect(checkNotModified('jwks.not-modified', PATH, undefined, answer()).ok).toBe(false);
  });
});

describe('checkKeySet', () => {
  let keys: Record<string, unknown>[];
  beforeAll(async () => {
    keys = await publicKeys();
  });

  it('passes on two public signing keys with distinct kids', () => {
    expect(checkKeySet('jwks.keys', PATH, JSON.stringify({ keys }))).toMatchObject({ ok: true });
  });

  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])(
    'fails when a key has the private member %s',
    (member) => {
      const leaked = [{ ...keys[0], [member]: 'AQAB' }, keys[1]];
      const r = checkKeySet('jwks.keys', PATH, JSON.stringify({ keys: leaked }));
      expect(r.ok).toBe(false);
      expect(r.detail).toContain(`private member(s) ${member}`);
    },
  );

  it('fails on two keys with one kid', () => {
    const r = checkKeySet(
      'jwks.keys',
      PATH,
      JSON.stringify({ keys: [keys[0], { ...keys[1], kid: keys[0]?.kid }] }),
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('appears twice');
  });

  it('fails with one key only: no standby is published', () => {
    const r = checkKeySet('jwks.keys', PATH, JSON.stringify({ keys: [keys[0]] }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('expected at least 2');
  });

  it('fails on a key without use "sig" or without alg, and on a body that is not a JWK Set', () => {
    const { alg: _alg, ...noAlg } = keys[0] as Record<string, unknown>;
    expect(checkKeySet('jwks.keys', PATH, JSON.stringify({ keys: [noAlg, keys[1]] })).detail).toContain(
      'has no alg',
    );
    expect(
      checkKeySet('jwks.keys', PATH, JSON.stringify({ keys: [{ ...keys[0], use: 'enc' }, keys[1]] })).ok,
    ).toBe(false);
    expect(checkKeySet('jwks.keys', PATH, '[]').detail).toBe('the body has no "keys" array');
    expect(checkKeySet('jwks.keys', PATH, '<html>').detail).toBe('the body is not JSON');
  });
});

describe('checkThumbprints', () => {
  it('passes when every kid is the RFC 7638 thumbprint of its key', async () => {
    const keys = await publicKeys();
    expect((await checkThumbprints('jwks.kids', PATH, JSON.stringify({ keys }))).ok).toBe(true);
  });

  it('fails on a kid that is not the thumbprint, naming it', async () => {
    const keys = await publicKeys();
    const r = await checkThumbprints(
      'jwks.kids',
      PATH,
      JSON.stringify({ keys: [{ ...keys[0], kid: '2024-01' }, keys[1]] }),
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('kid 2024-01');
  });
});

describe('checkSameKeys', () => {
  it('passes on the same kids in the same order and fails otherwise', () => {
    const a = JSON.stringify({ keys: [{ kid: 'a' }, { kid: 'b' }] });
    expect(checkSameKeys('api-jwks.same-keys', 'apigw-jwks', a, a).ok).toBe(true);
    const stale = JSON.stringify({ keys: [{ kid: 'b' }, { kid: 'c' }] });
    expect(checkSameKeys('api-jwks.same-keys', 'apigw-jwks', a, stale).ok).toBe(false);
  });
});

describe('checkDiscovery', () => {
  const doc = (over: Record<string, unknown> = {}) =>
    answer({
      url: `${ISSUER}/.well-known/openid-configuration`,
      body: JSON.stringify({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        token_endpoint: `${ISSUER}/oauth2/token`,
        ...over,
      }),
    });

  it('passes and returns jwks_uri and token_endpoint when the issuer matches', () => {
    const r = checkDiscovery('discovery', 'discovery', ISSUER, doc());
    expect(r.check.ok).toBe(true);
    expect(r).toMatchObject({
      jwksUri: `${ISSUER}/.well-known/jwks.json`,
      tokenEndpoint: `${ISSUER}/oauth2/token`,
    });
  });

  it('fails when the document names another issuer', () => {
    const r = checkDiscovery('discovery', 'discovery', ISSUER, doc({ issuer: 'https://evil.example' }));
    expect(r.check.ok).toBe(false);
    expect(r.jwksUri).toBeUndefined();
  });

  it('fails on a plain-http jwks_uri off loopback', () => {
    const r = checkDiscovery(
      'discovery',
      'discovery',
      ISSUER,
      doc({ jwks_uri: 'http://auth.example.com/jwks' }),
    );
    expect(r.check.ok).toBe(false);
    expect(r.check.detail).toContain('jwks_uri');
  });
});
