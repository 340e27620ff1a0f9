import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { CachedClientStore } from '../../src/token/client-cache.ts';
import { createClient, disableClient, listClients } from '../../src/token/clients-admin.ts';
import { verifySecretHash } from '../../src/token/secrets.ts';
import type { Client } from '../../src/token/types.ts';
import { MemoryClientStore } from './memory-client-store.ts';

const T0 = Date.UTC(2030, 0, 1);
const change = { changedBy: 'cli:alice', reason: 'new service' };
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

let store: MemoryClientStore;
beforeEach(() => {
  store = new MemoryClientStore({ clock: () => T0 });
});

describe('createClient', () => {
  it('returns a secret once and stores an active client with only its hash when no keys are given', async () => {
    const { client, secret } = await createClient(
      store,
      { clientId: 'svc-a', scopes: ['read'], audiences: ['https://api.example.com'] },
      change,
      { clock: () => T0 },
    );
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client).toMatchObject({ clientId: 'svc-a', status: 'active', createdAt: T0, ...change });
    expect(await verifySecretHash(String(secret), String(client.secretHash))).toBe(true);
    expect(store.seen.join('\n')).not.toContain(String(secret));
    expect(await store.get('svc-a')).toEqual(client);
  });

  it('generates no secret unless asked when the client registers public keys', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwks = { keys: [await exportJWK(publicKey)] };
    const input = { clientId: 'jwt-a', scopes: ['read'], audiences: ['orders'], jwks };
    const plain = await createClient(store, input, change);
    expect(plain.secret).toBeUndefined();
    expect(plain.client.secretHash).toBeUndefined();
    const both = await createClient(store, { ...input, clientId: 'jwt-b', withSecret: true }, change);
    expect(both.secret).toBeDefined();
  });

  it('throws CONFLICT when the client id is taken', async () => {
    const input = { clientId: 'svc-a', scopes: ['read'], audiences: ['orders'] };
    await createClient(store, input, change);
    expect(await codeOf(createClient(store, input, change))).toBe('CONFLICT');
  });

  it.each([
    ['an id with #', { clientId: 'svc#1' }],
    ['an id with a space', { clientId: 'svc 1' }],
    ['no scopes', { scopes: [] }],
    ['a scope with a space', { scopes: ['read write'] }],
    ['a scope with a quote', { scopes: ['re"ad'] }],
    ['no audiences', { audiences: [] }],
    ['duplicate audiences', { audiences: ['a', 'a'] }],
    ['a jwks with a private key', { jwks: 'private' }],
    ['a jwks with a symmetric key', { jwks: 'oct' }],
    ['a jwks with a small RSA key', { jwks: 'rsa1024' }],
    ['a jwksUri over plain http to a public host', { jwksUri: 'http://keys.example.com/jwks' }],
    ['both jwks and jwksUri', { jwks: 'ok', jwksUri: 'https://keys.example.com/jwks' }],
    ['no secret and no keys', { withSecret: false }],
  ])('throws INVALID_ARGUMENT and stores nothing when given %s', async (_name, patch) => {
    const jwksOf = async (kind: unknown) => {
      if (kind === 'oct') return { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] };
      if (kind === 'rsa1024') {
        const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        return { keys: [publicKey.export({ format: 'jwk' })] };
      }
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      return { keys: [await exportJWK(kind === 'private' ? privateKey : publicKey)] };
    };
    const { jwks, ...rest } = patch as Record<string, unknown>;
    const input = {
      clientId: 'svc-a',
      scopes: ['read'],
      audiences: ['orders'],
      ...rest,
      ...(jwks === undefined ? {} : { jwks: await jwksOf(jwks) }),
    };
    expect(await codeOf(createClient(store, input as never, change))).toBe('INVALID_ARGUMENT');
    expect(await store.list()).toEqual([]);
  });
});

describe('createClient: a jwksUri on this machine (design §11)', () => {
  const LOOPBACK_URIS = [
    'http://127.0.0.1:8080/jwks',
    'https://localhost/jwks',
    'https://keys.localhost/jwks',
    'https://[::1]/jwks',
    'https://127.1.2.3/jwks',
    'http://2130706433/jwks',
    'https://0.0.0.0/jwks',
    'https://[::ffff:127.0.0.1]/jwks',
  ];
  const input = (jwksUri: string) => ({
    clientId: 'svc-a',
    scopes: ['read'],
    audiences: ['orders'],
    jwksUri,
  });

  it.each(LOOPBACK_URIS)('throws INVALID_ARGUMENT and stores nothing when the jwksUri is %s', async (uri) => {
    expect(await codeOf(createClient(store, input(uri), change))).toBe('INVALID_ARGUMENT');
    expect(await store.list()).toEqual([]);
  });

  it.each(LOOPBACK_URIS)('accepts %s when the local stack allows loopback', async (uri) => {
    const { client } = await createClient(store, input(uri), change, { allowLoopbackJwksUri: true });
    expect(client.jwksUri).toBe(uri);
  });
});

describe('listClients / disableClient', () => {
  it('lists without hashes, with auth methods, and disables by id', async () => {
    await createClient(store, { clientId: 'svc-b', scopes: ['read'], audiences: ['orders'] }, change);
    await createClient(store, { clientId: 'svc-a', scopes: ['read'], audiences: ['orders'] }, change);
    const listed = await listClients(store);
    expect(listed.map((c) => c.clientId)).toEqual(['svc-a', 'svc-b']);
    expect(listed[0]).not.toHaveProperty('secretHash');
    expect(listed[0]?.authMethods).toEqual(['client_secret_basic', 'client_secret_post']);
    const off = await disableClient(store, 'svc-a', { changedBy: 'cli:bob', reason: 'retired' });
    expect(off).toMatchObject({ status: 'disabled', changedBy: 'cli:bob', reason: 'retired' });
    expect((await store.get('svc-a'))?.status).toBe('disabled');
  });

  it('throws INVALID_ARGUMENT when disabling an unknown client', async () => {
    expect(await codeOf(disableClient(store, 'ghost', change))).toBe('INVALID_ARGUMENT');
  });
});

describe('CachedClientStore', () => {
  const client: Client = {
    clientId: 'svc-a',
    scopes: ['read'],
    audiences: ['orders'],
    status: 'active',
    secretHash: 'x',
    createdAt: T0,
    changedBy: 'cli:test',
    reason: 'fixture',
  };

  it('reads once per TTL, caches misses, and shares a read between concurrent callers', async () => {
    let now = T0;
    await store.put(client);
    const cached = new CachedClientStore(store, { ttlMs: 1_000, clock: () => now });
    await Promise.all([cached.get('svc-a'), cached.get('svc-a'), cached.get('ghost'), cached.get('ghost')]);
    expect(store.gets).toBe(2);
    now += 999;
    await cached.get('svc-a');
    expect(store.gets).toBe(2);
    now += 1;
    await cached.get('svc-a');
    expect(store.gets).toBe(3);
  });

  it('forgets a failed read so the next call tries again', async () => {
    const failing = new MemoryClientStore();
    let fail = true;
    const get = failing.get.bind(failing);
    failing.get = async (id) => {
      if (fail) throw new Error('throttled');
      return get(id);
    };
    const cached = new CachedClientStore(failing, { ttlMs: 60_000, clock: () => T0 });
    await expect(cached.get('svc-a')).rejects.toThrow('throttled');
    fail = false;
    expect(await cached.get('svc-a')).toBeUndefined();
  });

  it('drops its entry when the status is changed through it', async () => {
    await store.put(client);
    const cached = new CachedClientStore(store, { ttlMs: 60_000, clock: () => T0 });
    expect((await cached.get('svc-a'))?.status).toBe('active');
    await cached.setStatus('svc-a', 'disabled', change);
    expect((await cached.get('svc-a'))?.status).toBe('disabled');
  });

  it('keeps at most maxEntries ids', async () => {
    const cached = new CachedClientStore(store, { ttlMs: 60_000, maxEntries: 2, clock: () => T0 });
    for (const id of ['a', 'b', 'c', 'a']) await cached.get(id);
    expect(store.gets).toBe(4); // 'a' was evicted by 'c'
  });

  it('never caches useJti', async () => {
    const cached = new CachedClientStore(store, { ttlMs: 60_000, clock: () => T0 });
    expect(await cached.useJti('svc-a', 'j', T0 + 1_000)).toBe(true);
    expect(await cached.useJti('svc-a', 'j', T0 + 1_000)).toBe(false);
  });
});
