import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import type { Algorithm } from '../../src/core/types.ts';
import { Signer } from '../../src/signer.ts';
import { createClient, disableClient } from '../../src/token/clients-admin.ts';
import { createTokenEndpoint } from '../../src/token/endpoint.ts';
import type { TokenHttpResponse } from '../../src/token/types.ts';
import { MemoryKeyVault, MemoryRegistry } from '../support/memory.ts';
import {
  API,
  activeKey,
  assertion,
  assertionForm,
  basic,
  clientKeyPair,
  createHarness,
  form,
  type Harness,
  ISSUER,
  post,
  T0,
  TOKEN_URL,
} from './harness.ts';
import { MemoryClientStore } from './memory-client-store.ts';

const cc = { grant_type: 'client_credentials' };
const json = (r: TokenHttpResponse) => JSON.parse(r.body) as Record<string, unknown>;

async function verifyWithJose(h: Harness, token: string, audience: string, alg: Algorithm = 'RS256') {
  return jwtVerify(token, createLocalJWKSet({ keys: [h.publicJwk] }), {
    issuer: ISSUER,
    audience,
    typ: 'at+jwt',
    algorithms: [alg],
    currentDate: new Date(h.now),
  });
}

describe('token endpoint: client_credentials issued', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  beforeEach(() => {
    h.now = T0;
  });

  it('issues an RFC 9068 access token with no-store headers when authenticated with client_secret_basic', async () => {
    const res = await h.endpoint.handle(
      post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') }),
    );
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    expect(res.headers['Content-Type']).toMatch(/^application\/json/);
    const body = json(res);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: h.policy.maxTokenTtl / 1000,
      scope: 'read write',
    });
    const { payload, protectedHeader } = await verifyWithJose(h, String(body.access_token), API);
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: h.publicJwk.kid, typ: 'at+jwt' });
    const iat = Math.floor(T0 / 1000);
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: 'svc-a',
      client_id: 'svc-a',
      aud: API,
      iat,
      exp: iat + h.policy.maxTokenTtl / 1000,
      scope: 'read write',
    });
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('grants the requested subset in the registered order and the named audience when authenticated with client_secret_post', async () => {
    const res = await h.endpoint.handle(
      post(
        form({
          ...cc,
          client_id: 'svc-a',
          client_secret: h.secrets['svc-a'] ?? '',
          scope: 'write',
          audience: 'orders',
        }),
      ),
    );
    expect(res.status).toBe(200);
    const body = json(res);
    expect(body.scope).toBe('write');
    const { payload } = await verifyWithJose(h, String(body.access_token), 'orders');
    expect(payload).toMatchObject({ sub: 'svc-a', aud: 'orders', scope: 'write' });

    const reordered = json(
      await h.endpoint.handle(
        post(form({ ...cc, scope: 'write read write' }), {
          authorization: basic('svc-a', h.secrets['svc-a'] ?? ''),
        }),
      ),
    );
    expect(reordered.scope).toBe('read write');
  });

  it.each([
    ['the issuer', ISSUER],
    ['the token endpoint URL', TOKEN_URL],
    ['a one-element array', [ISSUER]],
  ])(
    'issues a token for an RFC 8707 resource when authenticated with private_key_jwt aimed at %s',
    async (_name, aud) => {
      for (const clientId of ['jwt-a', 'jwt-rsa']) {
        const token = await assertion(h, clientId, { aud });
        const res = await h.endpoint.handle(
          post(assertionForm(token, { resource: API, client_id: clientId })),
        );
        expect(res.status).toBe(200);
        const { payload } = await verifyWithJose(h, String(json(res).access_token), API);
        expect(payload).toMatchObject({ sub: clientId, client_id: clientId, aud: API, scope: 'read' });
      }
    },
  );

  it('accepts a client assertion within the clock skew after its exp', async () => {
    const iat = Math.floor(T0 / 1000);
    const token = await assertion(h, 'jwt-a', { iat, exp: iat + 60 });
    h.now = T0 + 60_000 + h.policy.clockSkew - 1_000;
    expect((await h.endpoint.handle(post(assertionForm(token)))).status).toBe(200);
  });

  it('verifies with jwks-rsa and jsonwebtoken against the served JWKS when tokens are issued', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [h.publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = jwksRsa({ jwksUri: `http://127.0.0.1:${port}/.well-known/jwks.json`, cache: false });
      const res = await h.endpoint.handle(
        post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') }),
      );
      const token = String(json(res).access_token);
      const { kid } = decodeProtectedHeader(token);
      const key = await client.getSigningKey(kid);
      const verified = jwt.verify(token, key.getPublicKey(), {
        algorithms: ['RS256'],
        issuer: ISSUER,
        audience: API,
        clockTimestamp: Math.floor(h.now / 1000),
        complete: true,
      });
      expect(verified.header.typ).toBe('at+jwt');
      expect(verified.payload).toMatchObject({ sub: 'svc-a', client_id: 'svc-a' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never hands the secret to the store when clients are created and tokens issued', async () => {
    const secret = h.secrets['svc-a'] ?? '';
    await h.endpoint.handle(post(form(cc), { authorization: basic('svc-a', secret) }));
    await h.endpoint.handle(post(form({ ...cc, client_id: 'svc-a', client_secret: secret })));
    const seen = h.store.seen.join('\n');
    expect(seen).toContain('svc-a');
    expect(seen).not.toContain(secret);
    expect(seen).not.toContain(Buffer.from(secret, 'base64url').toString('base64').replace(/=+$/, ''));
  });
});

describe('token endpoint: lifetimes and keys', () => {
  it.each(['ES256', 'PS256', 'ES384'] as const)(
    'signs with the ACTIVE %s key when the policy uses it',
    async (alg) => {
      const h = await createHarness({ alg });
      const res = await h.endpoint.handle(
        post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') }),
      );
      const { protectedHeader } = await verifyWithJose(h, String(json(res).access_token), API, alg);
      expect(protectedHeader.alg).toBe(alg);
    },
  );

  it('caps the lifetime at maxTokenTtl when a longer one is configured', async () => {
    const h = await createHarness({ endpoint: { tokenTtlMs: 10 * 3_600_000 } });
    const res = json(
      await h.endpoint.handle(post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') })),
    );
    expect(res.expires_in).toBe(h.policy.maxTokenTtl / 1000);
    const { payload } = await verifyWithJose(h, String(res.access_token), API);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(h.policy.maxTokenTtl / 1000);
  });

  it('uses a shorter configured lifetime when one is given', async () => {
    const h = await createHarness({ endpoint: { tokenTtlMs: 300_000 } });
    const res = json(
      await h.endpoint.handle(post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') })),
    );
    expect(res.expires_in).toBe(300);
  });

  it('answers 503 temporarily_unavailable with Retry-After when no key is ACTIVE', async () => {
    const h = await createHarness({ activeKey: false });
    const res = await h.endpoint.handle(
      post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') }),
    );
    expect(res.status).toBe(503);
    expect(json(res).error).toBe('temporarily_unavailable');
    expect(res.headers['Retry-After']).toBe('5');
    expect(res.headers['Cache-Control']).toBe('no-store');
  });

  it('answers 500 server_error without detail when the store fails', async () => {
    const h = await createHarness();
    const store = new MemoryClientStore();
    store.get = async () => {
      throw new Error('ProvisionedThroughputExceeded at table secret-internal-name');
    };
    const errors: unknown[] = [];
    const endpoint = createTokenEndpoint({
      clients: store,
      signer: { sign: async () => ({ token: 'x', kid: 'k', alg: 'RS256' }) },
      policy: h.policy,
      issuer: ISSUER,
      log: { info() {}, warn() {}, error: (...args) => errors.push(args) },
    });
    const res = await endpoint.handle(
      post(form(cc), { authorization: basic('svc-a', h.secrets['svc-a'] ?? '') }),
    );
    expect(res.status).toBe(500);
    expect(json(res)).toEqual({ error: 'server_error', error_description: expect.any(String) });
    expect(res.body).not.toContain('secret-internal-name');
    expect(errors).toHaveLength(1);
  });

  it('refuses an issuer that is not an origin when created', () => {
    const policy = parsePolicy({}).policy;
    const make = (issuer: string) => () =>
      createTokenEndpoint({
        clients: new MemoryClientStore(),
        signer: { sign: async () => ({ token: '', kid: '', alg: 'RS256' }) },
        policy,
        issuer,
      });
    expect(make('https://issuer.example.com/')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(make('http://issuer.example.com')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(make('http://127.0.0.1:8787')).not.toThrow();
  });
});

describe('token endpoint: client reads', () => {
  const change = { changedBy: 'cli:test', reason: 'test' };

  async function setup(clientCacheTtlMs?: number) {
    const policy = parsePolicy({}).policy;
    const vault = new MemoryKeyVault();
    const registry = new MemoryRegistry();
    await activeKey(vault, registry, 'RS256');
    let now = T0;
    const store = new MemoryClientStore({ clock: () => now });
    const { secret } = await createClient(
      store,
      { clientId: 'svc', scopes: ['read'], audiences: [API] },
      change,
    );
    const endpoint = createTokenEndpoint({
      clients: store,
      signer: new Signer({ registry, vault, cacheTtlMs: policy.signerCacheTtl, clock: () => now }),
      policy,
      issuer: ISSUER,
      clock: () => now,
      ...(clientCacheTtlMs === undefined ? {} : { clientCacheTtlMs }),
    });
    const request = () => endpoint.handle(post(form(cc), { authorization: basic('svc', String(secret)) }));
    return { store, request, policy, advance: (ms: number) => (now += ms) };
  }

  it('reads a client at most once per signerCacheTtl when tokens are requested in a burst', async () => {
    const { store, request, policy, advance } = await setup();
    const before = store.gets;
    const results = await Promise.all(Array.from({ length: 20 }, request));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(store.gets - before).toBe(1);
    advance(policy.signerCacheTtl);
    await request();
    expect(store.gets - before).toBe(2);
  });

  it('refuses a disabled client within signerCacheTtl when it is disabled after a token', async () => {
    const { store, request, policy, advance } = await setup();
    expect((await request()).status).toBe(200);
    await disableClient(store, 'svc', change);
    advance(policy.signerCacheTtl);
    const res = await request();
    expect(res.status).toBe(401);
    expect(json(res).error).toBe('invalid_client');
  });

  it('reads the client on every request when the client cache is off', async () => {
    const { store, request } = await setup(0);
    const before = store.gets;
    await request();
    await request();
    expect(store.gets - before).toBe(2);
  });
});

describe('token endpoint: client keys from a jwks_uri', () => {
  /** A key server on loopback, counting its fetches. */
  async function keyServer(jwk: unknown) {
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      uri: `http://127.0.0.1:${port}/jwks`,
      fetches: () => fetches,
      close: () => new Promise((resolve) => server.close(resolve)),
    };
  }

  it('verifies a client assertion against keys fetched from a loopback jwks_uri when it is the local stack', async () => {
    const h = await createHarness({ endpoint: { allowLoopbackJwksUri: true } });
    const pair = await clientKeyPair('ES256');
    const keys = await keyServer(pair.jwk);
    try {
      await createClient(
        h.store,
        { clientId: 'jwt-remote', scopes: ['read'], audiences: [API], jwksUri: keys.uri },
        { changedBy: 'cli:test', reason: 'remote keys' },
        { allowLoopbackJwksUri: true },
      );
      for (let i = 0; i < 2; i++) {
        const token = await assertion(h, 'jwt-remote', {}, pair.keys);
        const res = await h.endpoint.handle(post(assertionForm(token)));
        expect(res.status).toBe(200);
      }
      expect(keys.fetches()).toBe(1);
    } finally {
      await keys.close();
    }
  });

  it('answers invalid_client without fetching when a stored client has a loopback jwks_uri outside the local stack', async () => {
    const h = await createHarness();
    const pair = await clientKeyPair('ES256');
    const keys = await keyServer(pair.jwk);
    try {
      // Written straight to the table, around `clients create` (which refuses it).
      await h.store.put({
        clientId: 'jwt-remote',
        scopes: ['read'],
        audiences: [API],
        status: 'active',
        jwksUri: keys.uri,
        createdAt: T0,
        changedBy: 'cli:test',
        reason: 'planted',
      });
      const token = await assertion(h, 'jwt-remote', {}, pair.keys);
      const res = await h.endpoint.handle(post(assertionForm(token)));
      expect(res.status).toBe(401);
      expect(json(res).error).toBe('invalid_client');
      expect(keys.fetches()).toBe(0);
    } finally {
      await keys.close();
    }
  });
});
