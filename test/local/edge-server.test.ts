import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudFrontCdn } from '../../src/adapters/aws/cloudfront.ts';
import { S3ObjectStore } from '../../src/adapters/aws/s3.ts';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { hasCode } from '../../src/errors.ts';
import { EdgeServer } from '../../src/local/edge-server.ts';
import {
  createInvalidationRoute,
  INVALIDATION_PATH,
  LOCAL_DISTRIBUTION_ID,
} from '../../src/local/invalidation-api.ts';
import { S3RVER_CREDENTIALS, startS3rver } from '../support/s3rver.ts';
import { FakeStore, JWKS_CC, rawRequest, recordingLog } from './edge-fixtures.ts';

describe('EdgeServer', () => {
  let store: FakeStore;
  let now: number;
  let log: ReturnType<typeof recordingLog>;
  let edge: EdgeServer;
  let url: string;

  beforeEach(async () => {
    store = new FakeStore();
    now = Date.UTC(2030, 0, 1, 12, 0, 0);
    log = recordingLog();
    edge = new EdgeServer({ store, port: 0, log, clock: () => now, maxHeaderSize: 4096 });
    ({ url } = await edge.start());
  });
  afterEach(async () => {
    await edge.stop();
  });

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { redirect: 'manual', ...init });

  describe('serving objects', () => {
    it('answers GET with the object bytes and headers when the object exists', async () => {
      const etag = store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
      const res = await get(PATHS.JWKS);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"keys":[]}');
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('cache-control')).toBe(JWKS_CC);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('content-length')).toBe('11');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('last-modified')).toBe(new Date(Date.UTC(2030, 0, 1)).toUTCString());
    });

    it('answers HEAD with the same headers and no body', async () => {
      const etag = store.set(OBJECT_KEYS.OPENID_CONFIGURATION, '{"issuer":"x"}');
      const res = await get(PATHS.OPENID_CONFIGURATION, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('content-length')).toBe('14');
      expect(res.headers.get('cache-control')).toBe(JWKS_CC);
      expect(await res.text()).toBe('');
      const raw = await rawRequest(
        url,
        `HEAD ${PATHS.OPENID_CONFIGURATION} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      );
      expect(raw.endsWith('\r\n\r\n')).toBe(true);
    });

    it('serves the OAuth metadata and ignores the query string when one is given', async () => {
      store.set(OBJECT_KEYS.OAUTH_METADATA, '{"issuer":"y"}');
      const res = await get(`${PATHS.OAUTH_METADATA}?v=2`);
      expect(await res.text()).toBe('{"issuer":"y"}');
    });

    it.each([
      ['the exact ETag', (e: string) => e],
      ['the weak form', (e: string) => `W/${e}`],
      ['a list holding it', (e: string) => `"other", ${e}`],
      ['*', () => '*'],
    ])('answers 304 without a body when If-None-Match is %s', async (_label, header) => {
      const etag = store.set(OBJECT_KEYS.JWKS, '{"keys":[1]}');
      for (const method of ['GET', 'HEAD']) {
        const res = await get(PATHS.JWKS, { method, headers: { 'If-None-Match': header(etag) } });
        expect(res.status).toBe(304);
        expect(res.headers.get('etag')).toBe(etag);
        expect(res.headers.get('cache-control')).toBe(JWKS_CC);
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        expect(await res.text()).toBe('');
      }
    });

    it('answers 200 when If-None-Match names another version', async () => {
      store.set(OBJECT_KEYS.JWKS, '{"keys":[2]}');
      const res = await get(PATHS.JWKS, { headers: { 'If-None-Match': '"stale", W/"older"' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"keys":[2]}');
    });

    it('answers 304 on If-Modified-Since only when the object is not newer', async () => {
      store.set(OBJECT_KEYS.JWKS, '{"keys":[3]}');
      const later = await get(PATHS.JWKS, {
        headers: { 'If-Modified-Since': new Date(Date.UTC(2030, 0, 2)).toUTCString() },
      });
      expect(later.status).toBe(304);
      const earlier = await get(PATHS.JWKS, {
        headers: { 'If-Modified-Since': new Date(Date.UTC(2029, 0, 1)).toUTCString() },
      });
      expect(earlier.status).toBe(200);
    });
  });

  describe('errors', () => {
    it('answers 404 JSON when the object does not exist', async () => {
      const res = await get(PATHS.JWKS);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found' });
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    });

    it.each(['/nope', `${PATHS.JWKS}/`, '/.well-known/JWKS.json', '/'])(
      'answers 404 JSON for the unknown path %s',
      async (path) => {
        store.set(OBJECT_KEYS.JWKS, '{}');
        const res = await get(path);
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({ error: 'not_found' });
      },
    );

    it.each(['POST', 'PUT', 'DELETE', 'PATCH'])(
      'answers %s on a document path with 405 and Allow',
      async (method) => {
        store.set(OBJECT_KEYS.JWKS, '{}');
        const res = await get(PATHS.JWKS, { method, body: method === 'DELETE' ? null : 'x' });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, HEAD');
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        expect(store.gets).toBe(0);
      },
    );

    it('answers 502 JSON without a stack trace and logs it when the store fails with nothing cached', async () => {
      store.failure = new Error('disk on fire');
      const res = await get(PATHS.JWKS);
      expect(res.status).toBe(502);
      expect(await res.text()).toBe('{"error":"bad_gateway"}');
      expect(log.errors).toHaveLength(1);
    });

    it('answers 500 JSON and keeps serving when a mounted handler throws', async () => {
      edge.route('POST', PATHS.TOKEN, () => {
        throw new Error('boom at line 1');
      });
      const res = await get(PATHS.TOKEN, { method: 'POST', body: 'grant_type=client_credentials' });
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('{"error":"internal_error"}');
      store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
      expect((await get(PATHS.JWKS)).status).toBe(200);
    });

    it('answers with a 4xx and keeps serving when the request is malformed', async () => {
      store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
      const huge = await rawRequest(
        url,
        `GET ${PATHS.JWKS} HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(8192)}\r\n\r\n`,
      );
      expect(huge).toMatch(/^HTTP\/1\.1 431 /);
      expect(huge).not.toContain('Access-Control-Allow-Origin');
      const garbage = await rawRequest(url, '\x00\x01\x02 garbage \xff\r\n\r\n');
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      const badMethod = await rawRequest(url, `FROB ${PATHS.JWKS} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      expect(badMethod).toMatch(/^HTTP\/1\.1 4\d\d /);
      const badTarget = await rawRequest(
        url,
        'GET nonsense HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      );
      expect(badTarget).toMatch(/^HTTP\/1\.1 400 /);
      const res = await get(PATHS.JWKS);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"keys":[]}');
    });
  });

  describe('CORS', () => {
    it('answers a preflight for GET with the allowed methods and the requested headers', async () => {
      const res = await get(PATHS.JWKS, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://app.example',
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'if-none-match',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
      expect(res.headers.get('access-control-allow-headers')).toBe('if-none-match');
      expect(store.gets).toBe(0);
    });
  });

  describe('loopback only (design §11)', () => {
    const getWithHost = (host: string, target: string = PATHS.JWKS) =>
      rawRequest(url, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

    it.each(['evil.example', 'evil.example:8787', '127.0.0.1.nip.io', 'localhost.evil.example', '192.0.2.2'])(
      'answers 421 without reading the origin when the Host is %s',
      async (host) => {
        store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
        const raw = await getWithHost(host);
        expect(raw).toMatch(/^HTTP\/1\.1 421 /);
        expect(raw).toContain('{"error":"misdirected_request"}');
        expect(raw).not.toContain('Access-Control-Allow-Origin');
        expect(store.gets).toBe(0);
      },
    );

    it.each(['localhost', 'localhost:8787', '127.0.0.1:8787', '127.1.2.3', '[::1]:8787', 'app.localhost'])(
      'serves the document when the Host is the loopback name %s',
      async (host) => {
        store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
        expect(await getWithHost(host)).toMatch(/^HTTP\/1\.1 200 /);
      },
    );

    it('answers 421 when an absolute-form target names a foreign host', async () => {
      store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
      expect(await getWithHost('localhost', `http://evil.example${PATHS.JWKS}`)).toMatch(/^HTTP\/1\.1 421 /);
    });

    it('grants no CORS on the token route, to a preflight from a foreign origin or to a POST', async () => {
      edge.route('POST', PATHS.TOKEN, (_req, res) => {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"invalid_request"}');
      });
      const preflight = await get(PATHS.TOKEN, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://evil.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type',
        },
      });
      const post = await get(PATHS.TOKEN, {
        method: 'POST',
        body: 'x',
        headers: { Origin: 'https://evil.example' },
      });
      expect(preflight.status).toBe(405);
      for (const res of [preflight, post]) {
        expect([...res.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
      }
    });
  });

  describe('the invalidation route', () => {
    const invalidationXml = (path: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>1</Quantity><Items><Path>${path}</Path></Items></Paths><CallerReference>r1</CallerReference></InvalidationBatch>`;

    beforeEach(() => {
      edge.route('POST', INVALIDATION_PATH, createInvalidationRoute(edge.cdn));
    });

    /** Cache the JWKS, change the origin; the edge keeps serving the cached copy until a purge. */
    async function cachedThenChanged(): Promise<void> {
      store.set(OBJECT_KEYS.JWKS, '{"keys":["old"]}');
      await (await get(PATHS.JWKS)).text();
      store.set(OBJECT_KEYS.JWKS, '{"keys":["new"]}');
    }

    it('purges the cache when the CloudFront SDK client asks', async () => {
      await cachedThenChanged();
      const client = new CloudFrontClient({
        endpoint: url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      await new CloudFrontCdn({ client, distributionId: LOCAL_DISTRIBUTION_ID, maxAttempts: 1 }).invalidate(
        [PATHS.JWKS],
        'r1',
      );
      client.destroy();
      expect(await (await get(PATHS.JWKS)).text()).toBe('{"keys":["new"]}');
    });

    it.each([
      ['a cross-origin fetch', { Origin: 'https://evil.example', 'Content-Type': 'text/plain' }],
      ['a form post', { 'Content-Type': 'application/x-www-form-urlencoded' }],
      [
        'a same-origin fetch with forged SigV4 headers',
        {
          'Sec-Fetch-Site': 'same-origin',
          'Sec-Fetch-Mode': 'cors',
          'X-Amz-Date': '20300101T000000Z',
          Authorization: 'AWS4-HMAC-SHA256 Credential=x',
        },
      ],
    ])('answers 403 and purges nothing when the request is %s', async (_name, headers) => {
      await cachedThenChanged();
      const res = await get(INVALIDATION_PATH, {
        method: 'POST',
        headers,
        body: invalidationXml(PATHS.JWKS),
      });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('<Code>AccessDenied</Code>');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(await (await get(PATHS.JWKS)).text()).toBe('{"keys":["old"]}');
    });
  });

  describe('mounted routes', () => {
    it('dispatches to a mounted handler and answers 405 with its methods otherwise', async () => {
      edge.route('POST', PATHS.TOKEN, (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"access_token":"t"}');
      });
      const ok = await get(PATHS.TOKEN, { method: 'POST', body: 'x' });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBeNull();
      expect(await ok.json()).toEqual({ access_token: 't' });
      const wrong = await get(PATHS.TOKEN);
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('POST');
    });

    it('answers HEAD with a mounted GET handler when no HEAD handler is mounted', async () => {
      edge.route('GET', '/healthz', (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      });
      const head = await get('/healthz', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      const post = await get('/healthz', { method: 'POST' });
      expect(post.headers.get('allow')).toBe('GET, HEAD');
    });

    it('serves a document requested in absolute form (RFC 9112 §3.2.2)', async () => {
      store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
      const raw = await rawRequest(
        url,
        `GET http://localhost${PATHS.JWKS} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      );
      expect(raw).toMatch(/^HTTP\/1\.1 200 /);
      expect(raw.endsWith('{"keys":[]}')).toBe(true);
    });
  });

  describe('lifecycle', () => {
    it('fails with ADDRESS_IN_USE when the port is taken', async () => {
      const port = Number(new URL(url).port);
      const second = new EdgeServer({ store, port });
      const err = await second.start().catch((e: unknown) => e);
      expect(hasCode(err, 'ADDRESS_IN_USE')).toBe(true);
    });
  });
});

describe('EdgeServer over s3rver', () => {
  const BUCKET = 'edge-test';
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let client: S3Client;
  let objects: S3ObjectStore;
  let edge: EdgeServer;
  let url: string;
  let now = Date.now();

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [BUCKET] });
    client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    objects = new S3ObjectStore({ client, bucket: BUCKET });
    edge = new EdgeServer({ store: objects, port: 0, clock: () => now });
    ({ url } = await edge.start());
  });
  afterAll(async () => {
    await edge?.stop();
    client?.destroy();
    await s3?.stop();
  });

  it('serves the S3 object with its ETag, honours max-age and 304s a revalidation', async () => {
    const body = (v: number) => new TextEncoder().encode(`{"keys":[],"v":${v}}`);
    const put = (v: number) =>
      objects.put({
        key: OBJECT_KEYS.JWKS,
        body: body(v),
        contentType: 'application/json',
        cacheControl: 'public, max-age=1',
      });
    const { etag } = await put(1);

    const first = await fetch(`${url}${PATHS.JWKS}`);
    expect(first.headers.get('etag')).toBe(etag);
    expect(first.headers.get('cache-control')).toBe('public, max-age=1');
    expect(await first.text()).toBe('{"keys":[],"v":1}');
    expect((await fetch(`${url}${PATHS.JWKS}`, { headers: { 'If-None-Match': etag } })).status).toBe(304);

    await put(2);
    expect(await (await fetch(`${url}${PATHS.JWKS}`)).text()).toBe('{"keys":[],"v":1}');
    now += 1_100; // past max-age=1 on the edge's clock

    expect(await (await fetch(`${url}${PATHS.JWKS}`)).text()).toBe('{"keys":[],"v":2}');
  });
});
