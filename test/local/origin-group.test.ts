/**
 * The local stand-ins for a region's availability (ADR 0008): a bucket that fails while its region is
 * down, and CloudFront's origin group (first origin with the object answers; the last one's answer,
 * whatever it is, is the group's).
 */
import { describe, expect, it } from 'vitest';
import { JwksError } from '../../src/errors.ts';
import type { EdgeOrigin } from '../../src/local/edge-server.ts';
import { originGroup, RegionDownError, regionalStore } from '../../src/local/origin-group.ts';
import type { StoredObject } from '../../src/ports.ts';
import { MemoryObjectStore } from '../support/memory.ts';

const KEY = '.well-known/jwks.json';
const text = (o: StoredObject | null) => (o ? new TextDecoder().decode(o.body) : null);

async function storeWith(body: string): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  await store.put({ key: KEY, body: new TextEncoder().encode(body), contentType: 'application/json' });
  return store;
}

/** An origin that answers `answer` (an object body, null, or a failure) and counts its reads. */
function origin(answer: string | null | Error): EdgeOrigin & { reads: number } {
  const o = {
    reads: 0,
    async get(): Promise<StoredObject | null> {
      o.reads++;
      if (answer instanceof Error) throw answer;
      if (answer === null) return null;
      return {
        body: new TextEncoder().encode(answer),
        etag: '"e"',
        contentType: 'application/json',
        metadata: {},
      };
    },
  };
  return o;
}

describe('regionalStore', () => {
  it('passes every call through to the bucket when the region is up', async () => {
    const bucket = await storeWith('{"keys":[]}');
    const store = regionalStore('eu-west-1', bucket, () => true);
    expect(text(await store.get(KEY))).toBe('{"keys":[]}');
    expect(await store.head(KEY)).toMatchObject({ etag: expect.any(String) });
    expect(await store.list('.well-known/')).toEqual([KEY]);
    await store.put({ key: 'other', body: new Uint8Array([1]), contentType: 'application/octet-stream' });
    expect(bucket.puts.map((p) => p.key)).toEqual([KEY, 'other']);
  });

  it('fails every call with UPSTREAM and touches nothing when the region is down', async () => {
    const bucket = await storeWith('{"keys":[]}');
    const store = regionalStore('eu-west-1', bucket, () => false);
    const put = { key: 'other', body: new Uint8Array([1]), contentType: 'application/octet-stream' };
    for (const call of [
      () => store.get(KEY),
      () => store.head(KEY),
      () => store.list(''),
      () => store.put(put),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(RegionDownError);
      await expect(call()).rejects.toMatchObject({ code: 'UPSTREAM' });
    }
    expect(bucket.puts).toHaveLength(1);
  });

  it('follows the region per call when it goes down and comes back', async () => {
    let up = true;
    const store = regionalStore('eu-west-1', await storeWith('x'), () => up);
    expect(text(await store.get(KEY))).toBe('x');
    up = false;
    await expect(store.get(KEY)).rejects.toMatchObject({ code: 'UPSTREAM' });
    up = true;
    expect(text(await store.get(KEY))).toBe('x');
  });
});

describe('originGroup', () => {
  it('refuses an empty group with INVALID_ARGUMENT', () => {
    expect(() => originGroup([])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('answers from the first origin and asks no other when the first has the object', async () => {
    const [a, b] = [origin('a'), origin('b')];
    expect(text(await originGroup([a, b]).get(KEY))).toBe('a');
    expect(b.reads).toBe(0);
  });

  it('answers from the next origin when the first lacks the object', async () => {
    const [a, b] = [origin(null), origin('b')];
    expect(text(await originGroup([a, b]).get(KEY))).toBe('b');
    expect(a.reads).toBe(1);
  });

  it('answers from the next origin when the first fails', async () => {
    const [a, b] = [origin(new Error('down')), origin('b')];
    expect(text(await originGroup([a, b]).get(KEY))).toBe('b');
  });

  it('goes on past several failing origins to the last when three are grouped', async () => {
    const group = originGroup([origin(new Error('down')), origin(null), origin('c')]);
    expect(text(await group.get(KEY))).toBe('c');
  });

  it("returns the last origin's not-found when every origin lacks the object or fails", async () => {
    expect(await originGroup([origin(new Error('down')), origin(null)]).get(KEY)).toBeNull();
  });

  it("fails with the last origin's error when the last origin fails", async () => {
    const last = new JwksError('UPSTREAM', 'last is down');
    await expect(originGroup([origin(null), origin(last)]).get(KEY)).rejects.toBe(last);
    await expect(originGroup([origin(new Error('first')), origin(last)]).get(KEY)).rejects.toBe(last);
  });

  it('fails over from a down regional bucket to the next region when the home region is lost', async () => {
    let homeUp = true;
    const home = regionalStore('us-east-1', await storeWith('home'), () => homeUp);
    const other = regionalStore('eu-west-1', await storeWith('other'), () => true);
    const group = originGroup([home, other]);
    expect(text(await group.get(KEY))).toBe('home');
    homeUp = false;
    expect(text(await group.get(KEY))).toBe('other');
  });
});
