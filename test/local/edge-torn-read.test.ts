/**
 * The local edge never serves a torn origin read (s3rver rewrites objects in place): a body whose MD5
 * is not its ETag is read again, and failing that the last good copy is served.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { hasCode } from '../../src/errors.ts';
import { EdgeServer } from '../../src/local/edge-server.ts';
import { intactOrThrow } from '../../src/local/origin-integrity.ts';
import { FakeStore, recordingLog } from './edge-fixtures.ts';

describe('intactOrThrow', () => {
  const store = new FakeStore();
  const etag = store.set(OBJECT_KEYS.JWKS, '{"keys":[{"kid":"a"}]}');
  const object = store.objects.get(OBJECT_KEYS.JWKS);

  it('passes an object whose body is what its ETag names', () => {
    expect(intactOrThrow(object ?? null)?.etag).toBe(etag);
  });

  it('throws TORN_READ when the body is not what its ETag names', () => {
    const torn = { ...(object as NonNullable<typeof object>), body: new TextEncoder().encode('{"keys":[') };
    let caught: unknown;
    try {
      intactOrThrow(torn);
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'TORN_READ')).toBe(true);
  });

  it('throws TORN_READ when the ETag is empty or names no digest (a metadata file read mid-rewrite)', () => {
    for (const etag of ['""', '', '"not-a-digest"', '"0123456789abcdef0123456789abcdef-0"']) {
      let caught: unknown;
      try {
        intactOrThrow({ ...(object as NonNullable<typeof object>), etag });
      } catch (err) {
        caught = err;
      }
      expect(hasCode(caught, 'TORN_READ'), etag).toBe(true);
    }
  });

  it('passes a multipart ETag, which names no digest', () => {
    const multipart = {
      ...(object as NonNullable<typeof object>),
      etag: '"0123456789abcdef0123456789abcdef-2"',
    };
    expect(intactOrThrow(multipart)).toBe(multipart);
  });
});

describe('EdgeServer with an origin that tears reads', () => {
  let store: FakeStore;
  let now: number;
  let edge: EdgeServer;
  let url: string;

  beforeEach(async () => {
    store = new FakeStore();
    now = Date.UTC(2030, 0, 1, 12, 0, 0);
    edge = new EdgeServer({ store, port: 0, log: recordingLog(), clock: () => now });
    ({ url } = await edge.start());
  });
  afterEach(async () => {
    await edge.stop();
  });

  it('reads again and serves the whole document when one read was torn', async () => {
    const body = '{"keys":[{"kid":"whole"}]}';
    store.set(OBJECT_KEYS.JWKS, body);
    store.tornNext = 1;
    const res = await fetch(`${url}${PATHS.JWKS}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(body);
    expect(store.gets).toBe(2);
  });

  it('serves the last good copy, never torn bytes, when every read after an invalidation is torn', async () => {
    const first = '{"keys":[{"kid":"first"}]}';
    store.set(OBJECT_KEYS.JWKS, first);
    expect(await (await fetch(`${url}${PATHS.JWKS}`)).text()).toBe(first);
    store.set(OBJECT_KEYS.JWKS, '{"keys":[{"kid":"second"}]}');
    store.tornNext = 100;
    await edge.cdn.invalidate([PATHS.JWKS], 'ref-torn');
    const res = await fetch(`${url}${PATHS.JWKS}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(first);
    expect(JSON.parse(first)).toEqual({ keys: [{ kid: 'first' }] });
  });
});
