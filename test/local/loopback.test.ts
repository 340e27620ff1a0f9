import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeServer } from '../../src/local/edge-server.ts';
import { isLoopbackAddress, isLoopbackHost, listeningAddresses } from '../../src/local/loopback.ts';
import { startFauxqs } from '../support/fauxqs.ts';
import { startS3rver } from '../support/s3rver.ts';
import { FakeStore } from './edge-fixtures.ts';

describe('isLoopbackHost', () => {
  it.each([
    'localhost',
    'localhost:8787',
    'LOCALHOST.',
    'app.localhost:1',
    '127.0.0.1:8787',
    '127.9.8.7',
    '[::1]:80',
  ])('accepts the loopback name %s', (host) => expect(isLoopbackHost(host)).toBe(true));

  it.each([
    'evil.example',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    'evillocalhost',
    '127.256.0.1',
    '0.0.0.0',
    '',
  ])('refuses %j', (host) => expect(isLoopbackHost(host)).toBe(false));
});

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('accepts %s', (a) =>
    expect(isLoopbackAddress(a)).toBe(true),
  );
  it.each(['0.0.0.0', '::', '192.0.2.2', '::ffff:192.0.2.2', 'fd00::2'])('refuses %s', (a) =>
    expect(isLoopbackAddress(a)).toBe(false),
  );
});

describe('listeningAddresses (the kernel socket table)', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reports the address a socket listens on when given its port', async () => {
    const addresses = await listeningAddresses(port);
    if (addresses === undefined) return; // not Linux: no table to read
    expect(addresses).toEqual(['127.0.0.1']);
  });
});

/** The status a server answers to a request with the given Host header. */
function statusWithHost(endpoint: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(endpoint, { method: 'GET', headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the embedded servers on loopback only (design §11)', () => {
  const servers: Array<{ name: string; endpoint: string; stop(): Promise<void> }> = [];
  beforeAll(async () => {
    const s3 = await startS3rver();
    const sns = await startFauxqs();
    const edge = new EdgeServer({ store: new FakeStore(), port: 0 });
    const { url } = await edge.start();
    servers.push(
      { name: 's3rver', ...s3 },
      { name: 'fauxqs', ...sns },
      { name: 'edge', endpoint: url, stop: () => edge.stop() },
    );
  });
  afterAll(() => Promise.all(servers.map((s) => s.stop())));

  it.each(['s3rver', 'fauxqs', 'edge'])(
    '%s holds no listening socket on a non-loopback address',
    async (name) => {
      const server = servers.find((s) => s.name === name);
      const addresses = await listeningAddresses(Number(new URL(server?.endpoint ?? '').port));
      if (addresses === undefined) return; // not Linux
      expect(addresses).not.toHaveLength(0);
      expect(addresses.filter((a) => !isLoopbackAddress(a))).toEqual([]);
    },
  );

  it.each(['s3rver', 'fauxqs', 'edge'])(
    '%s answers 421 when the Host is not a loopback name',
    async (name) => {
      const server = servers.find((s) => s.name === name);
      const port = new URL(server?.endpoint ?? '').port;
      expect(await statusWithHost(server?.endpoint ?? '', `evil.example:${port}`)).toBe(421);
      expect(await statusWithHost(server?.endpoint ?? '', `localhost:${port}`)).not.toBe(421);
    },
  );
});
