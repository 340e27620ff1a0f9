import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStackFile } from '../../src/local/data-dir.ts';
import { isLoopbackAddress, listeningAddresses } from '../../src/local/loopback.ts';
import {
  lockFiles,
  type StackProcess,
  startExpectingFailure,
  startStack,
  tempDataDir,
} from './stack-process.ts';

interface Jwks {
  keys: Array<{ kid: string; alg: string }>;
}

const JWKS_PATH = '/.well-known/jwks.json';

/** A raw HTTP exchange (fetch hides HEAD bodies and forbids some headers). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Send bytes on a fresh connection and collect whatever comes back until the server closes. */
function rawSocket(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setEncoding('utf8').on('data', (c: string) => {
      answer += c;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

/** Whether any process still runs with `needle` on its command line (the stack's JVM names its data dir). */
function processesMentioning(needle: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmd.includes(needle) ? [`${pid}: ${cmd}`] : [];
      } catch {
        return [];
      }
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm start (the local stack as a user runs it)', () => {
  let stack: StackProcess;

  beforeAll(async () => {
    stack = await startStack();
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('prints exactly one line, ready <url>, once the JWKS holds the ACTIVE and the standby key', async () => {
    expect(stack.stdout).toEqual([`ready ${stack.url}`]);
    expect(stack.url).toBe(`http://127.0.0.1:${stack.port}`);
    const jwks = (await (await fetch(`${stack.url}${JWKS_PATH}`)).json()) as Jwks;
    expect(jwks.keys).toHaveLength(2);
    expect(new Set(jwks.keys.map((k) => k.kid)).size).toBe(2);
    expect(jwks.keys.every((k) => k.alg === 'RS256')).toBe(true);
  });

  it('serves GET with the object headers an edge sends', async () => {
    const res = await raw(stack.url, 'GET', JWKS_PATH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toBe('public, max-age=300, stale-if-error=300');
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(JSON.parse(res.body).keys).toHaveLength(2);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await raw(stack.url, 'GET', JWKS_PATH);
    const head = await raw(stack.url, 'HEAD', JWKS_PATH);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
  });

  it('answers 304 without a body when If-None-Match carries the current ETag', async () => {
    const { headers } = await raw(stack.url, 'GET', JWKS_PATH);
    const res = await raw(stack.url, 'GET', JWKS_PATH, { 'If-None-Match': String(headers.etag) });
    expect(res.status).toBe(304);
    expect(res.body).toBe('');
    expect(res.headers.etag).toBe(headers.etag);
  });

  it('answers 404 for unknown paths and 405 with Allow for wrong methods, as JSON', async () => {
    const missing = await raw(stack.url, 'GET', '/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'not_found' });
    const wrong = await raw(stack.url, 'DELETE', JWKS_PATH);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect(wrong.body).not.toMatch(/at .*\.ts/);
  });

  it('holds no listening socket beyond loopback, for the edge and every emulator (design §11)', async () => {
    const info = JSON.parse(readFileSync(join(stack.dataDir, 'stack.json'), 'utf8')) as Record<
      string,
      string
    >;
    const endpoints = [stack.url, info.dynamodbEndpoint, info.s3Endpoint, info.snsEndpoint];
    for (const endpoint of endpoints) {
      const addresses = await listeningAddresses(Number(new URL(String(endpoint)).port));
      if (addresses === undefined) return; // not Linux: the launcher's own check is all there is
      expect(addresses, String(endpoint)).not.toHaveLength(0);
      expect(
        addresses.filter((a) => !isLoopbackAddress(a)),
        String(endpoint),
      ).toEqual([]);
    }
  });

  it('answers 421 when the Host is not a loopback name, as a DNS-rebound page would send', async () => {
    const rebound = await rawSocket(
      stack.port,
      `GET ${JWKS_PATH} HTTP/1.1\r\nHost: evil.example:${stack.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(rebound).toMatch(/^HTTP\/1\.1 421 /);
  });

  it('survives huge headers and garbage bytes and keeps serving', async () => {
    const huge = await rawSocket(
      stack.port,
      `GET ${JWKS_PATH} HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    const garbage = await rawSocket(stack.port, '\x00\x01 GARBAGE \r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect((await raw(stack.url, 'GET', JWKS_PATH)).status).toBe(200);
  });

  it('refuses a second stack on the same port with ADDRESS_IN_USE', async () => {
    const run = await startExpectingFailure({ PORT: String(stack.port), JWKS_DATA_DIR: tempDataDir() });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('ADDRESS_IN_USE');
  }, 60_000);

  it('refuses a second stack on the same data dir with DATA_DIR_LOCKED', async () => {
    const run = await startExpectingFailure({ PORT: '0', JWKS_DATA_DIR: stack.dataDir });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('DATA_DIR_LOCKED');
  }, 60_000);
});

describe('npm start configuration', () => {
  it('rejects an invalid policy before starting anything, naming the variable', async () => {
    const dataDir = tempDataDir();
    const run = await startExpectingFailure({ PORT: '0', JWKS_DATA_DIR: dataDir, PREPUBLISH_LEAD: '1s' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PREPUBLISH_LEAD');
    expect(run.stdout).not.toContain('ready');
    expect(existsSync(join(dataDir, 'dynamodb'))).toBe(false);
  }, 60_000);

  it('rejects a malformed duration, naming the variable', async () => {
    const run = await startExpectingFailure({
      PORT: '0',
      JWKS_DATA_DIR: tempDataDir(),
      ROTATION_PERIOD: 'soon',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ROTATION_PERIOD');
  }, 60_000);
});

describe('npm start restarts', () => {
  it('shuts down cleanly on Ctrl-C and restarts from the data dir with the same keys', async () => {
    const first = await startStack();
    const before = ((await (await fetch(`${first.url}${JWKS_PATH}`)).json()) as Jwks).keys.map((k) => k.kid);
    // Ctrl-C: the terminal signals the whole foreground process group.
    await first.stop('SIGINT');
    expect(existsSync(join(first.dataDir, 'stack.json'))).toBe(false);
    expect(lockFiles(first.dataDir)).toEqual([]);
    expect(processesMentioning(first.dataDir)).toEqual([]);

    const second = await startStack({ dataDir: first.dataDir });
    try {
      const after = ((await (await fetch(`${second.url}${JWKS_PATH}`)).json()) as Jwks).keys.map(
        (k) => k.kid,
      );
      expect(after).toEqual(before);
    } finally {
      await second.stop('SIGTERM');
    }
    expect(processesMentioning(first.dataDir)).toEqual([]);
  }, 180_000);

  it('shuts down cleanly when one signal reaches the stack twice at once (the process group, and npm forwarding it)', async () => {
    const stack = await startStack();
    const pid = readStackFile(stack.dataDir)?.pid as number;
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (stack.child.exitCode === null && Date.now() < deadline) await sleep(100);
    // Exit 0 after the whole clean shutdown, not exit 1 at the second signal with the JVM still running.
    expect(stack.child.exitCode).toBe(0);
    expect(lockFiles(stack.dataDir)).toEqual([]);
    expect(processesMentioning(stack.dataDir)).toEqual([]);
  }, 120_000);

  it('stops its servers and frees the data dir when npm alone is killed', async () => {
    const stack = await startStack();
    process.kill(stack.child.pid!, 'SIGTERM'); // npm only: it exits without forwarding the signal
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && processesMentioning(stack.dataDir).length > 0) await sleep(250);
    expect(processesMentioning(stack.dataDir)).toEqual([]);
    expect(lockFiles(stack.dataDir)).toEqual([]);
  }, 120_000);
});
