import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenRoute } from '../../src/token/node-http.ts';
import { basic, createHarness, FORM, form, type Harness } from './harness.ts';

let h: Harness;
let server: Server;
let base: string;

beforeAll(async () => {
  h = await createHarness();
  server = createServer(tokenRoute(h.endpoint));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, optionally streaming the body in chunks without a Content-Length. */
function send(method: string, headers: Record<string, string>, chunks: Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(base, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }),
      );
      res.on('error', reject);
    });
    // The server may answer and close before the whole body is written: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('tokenRoute', () => {
  it('issues a token over HTTP when a client posts its Basic credentials', async () => {
    const body = Buffer.from(form({ grant_type: 'client_credentials' }));
    const res = await send(
      'POST',
      {
        'Content-Type': FORM,
        'Content-Length': String(body.length),
        Authorization: basic('svc-a', h.secrets['svc-a'] ?? ''),
      },
      [body],
    );
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.body).token_type).toBe('Bearer');
  });

  it('answers 413 and closes the connection without reading on when Content-Length is over 16 KiB', async () => {
    const res = await send('POST', { 'Content-Type': FORM, 'Content-Length': String(10 * 1024 * 1024) }, [
      Buffer.from('grant_type=client_credentials'),
    ]);
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body).error).toBe('invalid_request');
  });

  it('answers 413 when a chunked body grows past 16 KiB', async () => {
    const chunk = Buffer.alloc(4096, 'a');
    const res = await send('POST', { 'Content-Type': FORM, 'Transfer-Encoding': 'chunked' }, [
      Buffer.from('grant_type=client_credentials&pad='),
      chunk,
      chunk,
      chunk,
      chunk,
      chunk,
    ]);
    expect(res.status).toBe(413);
  });

  it('answers 405 with Allow when the method is GET', async () => {
    const res = await send('GET', {}, []);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('keeps serving after an oversized request when the next one is valid', async () => {
    await send('POST', { 'Content-Type': FORM, 'Content-Length': String(1 << 20) }, [
      Buffer.alloc(1024, 'a'),
    ]);
    const body = Buffer.from(
      form({ grant_type: 'client_credentials', client_id: 'svc-a', client_secret: h.secrets['svc-a'] ?? '' }),
    );
    const res = await send('POST', { 'Content-Type': FORM, 'Content-Length': String(body.length) }, [body]);
    expect(res.status).toBe(200);
  });
});
