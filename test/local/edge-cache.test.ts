import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { hasCode } from '../../src/errors.ts';
import { EdgeCache } from '../../src/local/edge-cache.ts';
import { EdgeServer } from '../../src/local/edge-server.ts';
import { FakeStore, recordingLog } from './edge-fixtures.ts';

describe('EdgeServer caching like an edge', () => {
  let store: FakeStore;
  let now: number;
  let edge: EdgeServer;
  let url: string;

  beforeEach(async () => {
    store = new FakeStore();
    now = Date.UTC(2030, 0, 1, 12, 0, 0);
    edge = new EdgeServer({ store, port: 0, clock: () => now });
    ({ url } = await edge.start());
  });
  afterEach(async () => {
    await edge.stop();
  });

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { redirect: 'manual', ...init });

  it('keeps serving the cached bytes with a growing Age until max-age passes, then refetches', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    const first = await get(PATHS.JWKS);
    expect(await first.text()).toBe('{"v":1}');
    expect(first.headers.get('age')).toBeNull();
    store.set(OBJECT_KEYS.JWKS, '{"v":2}');

    now += 30_000;
    const cached = await get(PATHS.JWKS);
    expect(await cached.text()).toBe('{"v":1}');
    expect(cached.headers.get('age')).toBe('30');
    expect(cached.headers.get('x-cache')).toMatch(/^Hit/);

    now += 30_000; // 60 s: max-age reached
    const fresh = await get(PATHS.JWKS);
    expect(await fresh.text()).toBe('{"v":2}');
    expect(store.gets).toBe(2);
  });

  it('answers a fresh hit with the headers of the miss that filled it, plus Age and X-Cache', async () => {
    const etag = store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
    const miss = await get(PATHS.JWKS);
    await miss.text();
    now += 2_500;
    for (const method of ['GET', 'HEAD']) {
      const hit = await get(PATHS.JWKS, { method });
      expect(await hit.text()).toBe(method === 'GET' ? '{"keys":[]}' : '');
      // Compare what the edge writes; Date, Connection and Keep-Alive are node's.
      const own = (h: Headers) =>
        Object.fromEntries([...h].filter(([n]) => !['date', 'connection', 'keep-alive'].includes(n)));
      const { age, 'x-cache': xCache, ...rest } = own(hit.headers);
      const { 'x-cache': _, ...missRest } = own(miss.headers);
      expect(rest).toEqual(missRest);
      expect(rest.etag).toBe(etag);
      expect(age).toBe('2');
      expect(xCache).toBe('Hit from local-edge');
    }
    expect(store.gets).toBe(1);
  });

  it('answers a conditional request for a fresh copy with 304, and a bad path with 404', async () => {
    const etag = store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
    await (await get(PATHS.JWKS)).text();
    const revalidated = await get(PATHS.JWKS, { headers: { 'If-None-Match': etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('x-cache')).toMatch(/^Hit/);
    expect((await get(`${PATHS.JWKS}x`)).status).toBe(404);
  });

  it('shows a change at once when the path is invalidated', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    store.set(OBJECT_KEYS.OPENID_CONFIGURATION, '{"d":1}');
    await get(PATHS.JWKS);
    await get(PATHS.OPENID_CONFIGURATION);
    store.set(OBJECT_KEYS.JWKS, '{"v":2}');
    store.set(OBJECT_KEYS.OPENID_CONFIGURATION, '{"d":2}');

    await edge.cdn.invalidate([PATHS.JWKS], 'ref-1');
    expect(await (await get(PATHS.JWKS)).text()).toBe('{"v":2}');
    expect(await (await get(PATHS.OPENID_CONFIGURATION)).text()).toBe('{"d":1}');

    await edge.cdn.invalidate(['/.well-known/*'], 'ref-2');
    expect(await (await get(PATHS.OPENID_CONFIGURATION)).text()).toBe('{"d":2}');
  });

  it('rejects an invalidation path without a leading slash', async () => {
    const err = await edge.cdn.invalidate(['.well-known/jwks.json'], 'r').catch((e: unknown) => e);
    expect(hasCode(err, 'INVALIDATION_FAILED')).toBe(true);
  });

  it('serves the stale copy within stale-if-error, and the last good copy after it, when the store fails', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}'); // max-age=60, stale-if-error=30
    await get(PATHS.JWKS);
    store.failure = new Error('origin down');

    now += 75_000;
    const stale = await get(PATHS.JWKS);
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe('{"v":1}');
    expect(stale.headers.get('age')).toBe('75');

    now += 20_000; // 95 s > 60 + 30
    const lastGood = await get(PATHS.JWKS);
    expect(lastGood.status).toBe(200);
    expect(await lastGood.text()).toBe('{"v":1}');
    expect(lastGood.headers.get('x-cache')).toMatch(/^StaleIfError/);
  });

  it('serves the last good copy right after expiry when the object has no stale-if-error', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}', 'public, max-age=10');
    await get(PATHS.JWKS);
    store.failure = new Error('origin down');
    now += 10_000;
    const res = await get(PATHS.JWKS);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"v":1}');
  });

  it('serves the last good copy, not a 502, when the origin fails right after an invalidation', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    await get(PATHS.JWKS);
    await edge.cdn.invalidate([PATHS.JWKS], 'r');
    store.failure = new Error('origin down');
    const res = await get(PATHS.JWKS);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"v":1}');
  });

  it('answers from the origin when a read fails twice and the third attempt succeeds', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    store.failNext = 2;
    const res = await get(PATHS.JWKS);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"v":1}');
    expect(res.headers.get('x-cache')).toMatch(/^Miss/);
    expect(store.gets).toBe(3);
  });

  it('gives up after three attempts and answers 502 when it never had a copy', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    store.failNext = 3;
    const res = await get(PATHS.JWKS);
    expect(res.status).toBe(502);
    expect(store.gets).toBe(3);
  });

  it('answers 404 when the object is gone, and then has no copy to fall back on', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    await get(PATHS.JWKS);
    await edge.cdn.invalidate([PATHS.JWKS], 'r');
    store.objects.delete(OBJECT_KEYS.JWKS);
    expect((await get(PATHS.JWKS)).status).toBe(404);
    store.failure = new Error('origin down');
    expect((await get(PATHS.JWKS)).status).toBe(502);
  });

  it('reads the store on every request when the object says no-store', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}', 'no-store');
    await get(PATHS.JWKS);
    await get(PATHS.JWKS);
    expect(store.gets).toBe(2);
  });

  it('reads the store once when concurrent requests miss together', async () => {
    // On the cache itself: three lookups start before the gated origin read ends, with no guess at when
    // three HTTP requests have reached the server.
    const cache = new EdgeCache({ clock: () => now, log: recordingLog() });
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    let release = () => {};
    store.gate = new Promise((resolve) => {
      release = resolve;
    });
    const load = () => store.get(OBJECT_KEYS.JWKS);
    const pending = Promise.all([1, 2, 3].map(() => cache.lookup(PATHS.JWKS, load)));
    expect(store.gets).toBe(1);
    release();
    const results = await pending;
    expect(results.map((r) => new TextDecoder().decode(r?.object.body))).toEqual([
      '{"v":1}',
      '{"v":1}',
      '{"v":1}',
    ]);
    expect(results.map((r) => r?.status)).toEqual(['Miss', 'Miss', 'Miss']);
    expect(store.gets).toBe(1);
  });

  it('does not cache a read that was in flight when an invalidation arrived', async () => {
    store.set(OBJECT_KEYS.JWKS, '{"v":1}');
    let release = () => {};
    store.gate = new Promise((resolve) => {
      release = resolve;
    });
    const old = get(PATHS.JWKS);
    await vi.waitFor(() => expect(store.gets).toBe(1));
    await edge.cdn.invalidate([PATHS.JWKS], 'r');
    release();
    await (await old).text();
    store.gate = undefined;
    store.set(OBJECT_KEYS.JWKS, '{"v":2}');
    expect(await (await get(PATHS.JWKS)).text()).toBe('{"v":2}');
  });
});
