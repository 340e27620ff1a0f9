import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { hasCode } from '../../src/errors.ts';
import { appendRevocation, listRevokedKids, readRevocation } from '../../src/revocations.ts';
import { b64, T0 } from '../support/fixtures.ts';
import { MemoryObjectStore } from '../support/memory.ts';

let store: MemoryObjectStore;
const kid = b64('kid-1');

beforeEach(() => {
  store = new MemoryObjectStore();
});

describe('revocation list', () => {
  it('appends one object per kid with If-None-Match: * and a checksum', async () => {
    const put = vi.spyOn(store, 'put');
    const result = await appendRevocation(store, {
      kid,
      revokedAt: T0,
      reason: 'leak',
      changedBy: 'cli:ops',
    });
    expect(result).toEqual({ created: true });
    expect(put.mock.calls[0]?.[0]).toMatchObject({
      key: `${OBJECT_KEYS.REVOCATIONS_PREFIX}${kid}`,
      ifNoneMatch: '*',
      contentType: 'application/json',
      checksumSha256: expect.any(String),
    });
    expect(await readRevocation(store, kid)).toEqual({
      kid,
      revokedAt: T0,
      reason: 'leak',
      changedBy: 'cli:ops',
    });
  });

  it('keeps the first entry when the kid is revoked again', async () => {
    await appendRevocation(store, { kid, revokedAt: T0, reason: 'first', changedBy: 'cli:a' });
    const again = await appendRevocation(store, {
      kid,
      revokedAt: T0 + 1,
      reason: 'second',
      changedBy: 'cli:b',
    });
    expect(again).toEqual({ created: false });
    expect((await readRevocation(store, kid))?.reason).toBe('first');
  });

  it('lists every revoked kid', async () => {
    const other = b64('kid-2');
    await appendRevocation(store, { kid, revokedAt: T0, reason: 'r', changedBy: 'c' });
    await appendRevocation(store, { kid: other, revokedAt: T0, reason: 'r', changedBy: 'c' });
    await store.put({ key: 'unrelated', body: new Uint8Array(), contentType: 'text/plain' });
    expect(await listRevokedKids(store)).toEqual(new Set([kid, other]));
  });

  it('returns null for a kid that is not listed', async () => {
    expect(await readRevocation(store, kid)).toBeNull();
  });

  it.each(['../jwks', 'a/b', '', 'x y'])('refuses %j as a kid', async (bad) => {
    let err: unknown;
    try {
      await appendRevocation(store, { kid: bad, revokedAt: T0, reason: 'r', changedBy: 'c' });
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'INVALID_ARGUMENT')).toBe(true);
  });
});
