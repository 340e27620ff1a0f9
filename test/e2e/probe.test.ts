/**
 * `jwks probe` as a user runs it: a separate process against `npm start`, with a client registered by
 * `jwks clients create` (client_secret_basic) and one registered with public keys (private_key_jwt);
 * and against a deliberately broken node:http issuer, where it must exit 1 naming the broken checks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IssuerServer, startIssuer } from '../probe/issuer-server.ts';
import { cli, type StackProcess, startStack, tempDataDir } from './stack-process.ts';

interface ProbeDoc {
  ok: boolean;
  checks: { name: string; ok: boolean; skipped?: boolean; detail: string }[];
}

describe('jwks probe against the running local stack', () => {
  let stack: StackProcess;
  let secret: string;
  let keyFile: string;

  beforeAll(async () => {
    stack = await startStack();
    const created = await cli(stack.dataDir, [
      'clients',
      'create',
      'canary',
      '--scope',
      'canary',
      '--audience',
      'https://canary.example',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    secret = JSON.parse(created.stdout).client_secret;

    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    const dir = tempDataDir();
    writeFileSync(join(dir, 'public.json'), JSON.stringify({ ...pub, kid, alg: 'ES256', use: 'sig' }));
    keyFile = join(dir, 'private.json');
    writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }), {
      mode: 0o600,
    });
    const withKeys = await cli(stack.dataDir, [
      'clients',
      'create',
      'canary-jwt',
      '--scope',
      'canary',
      '--audience',
      'https://canary.example',
      '--jwks-file',
      join(dir, 'public.json'),
    ]);
    expect(withKeys.code, withKeys.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('passes every check with a client secret, one line per check, exit 0', async () => {
    const r = await cli(stack.dataDir, [
      'probe',
      stack.url,
      '--api-url',
      `${stack.url}/.well-known/jwks.json`,
      '--client-id',
      'canary',
      '--client-secret',
      secret,
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.every((l) => l.startsWith('ok '))).toBe(true);
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual([
      'discovery',
      'jwks.http',
      'jwks.not-modified',
      'jwks.keys',
      'jwks.kids',
      'api-jwks.http',
      'api-jwks.not-modified',
      'api-jwks.keys',
      'api-jwks.kids',
      'api-jwks.same-keys',
      'token',
      'token.verify',
    ]);
    expect(r.stdout).not.toContain(secret);
  }, 60_000);

  it('passes with private_key_jwt from a key file', async () => {
    const r = await cli(stack.dataDir, [
      'probe',
      stack.url,
      '--client-id',
      'canary-jwt',
      '--key-file',
      keyFile,
      '--json',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as ProbeDoc;
    expect(doc.ok).toBe(true);
    expect(doc.checks.find((c) => c.name === 'token.verify')).toMatchObject({ ok: true });
  }, 60_000);

  it('fails the token check with a wrong secret, exit 1', async () => {
    const r = await cli(stack.dataDir, [
      'probe',
      stack.url,
      '--client-id',
      'canary',
      '--client-secret',
      'wrong',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+token\s+status 401 invalid_client, expected 200/m);
  }, 60_000);
});

describe('jwks probe against a deliberately broken issuer', () => {
  let broken: IssuerServer;

  beforeAll(async () => {
    // A private member in the JWKS, no Cache-Control, and a kid that is not a thumbprint.
    broken = await startIssuer({
      jwksBody: (keys) => ({
        keys: [
          { ...keys[0], d: 'AQAB' },
          { ...keys[1], kid: 'key-2' },
        ],
      }),
      jwksHeaders: { 'cache-control': undefined },
    });
  });
  afterAll(async () => {
    await broken?.close();
  });

  it('exits 1 with a FAIL line for each broken check and ok for the rest', async () => {
    const r = await cli(tempDataDir(), ['probe', broken.url]);
    expect(r.code).toBe(1);
    const marks = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/))
        .map(([mark, name]) => [name, mark]),
    );
    expect(marks).toEqual({
      discovery: 'ok',
      'jwks.http': 'FAIL',
      'jwks.not-modified': 'ok',
      'jwks.keys': 'FAIL',
      'jwks.kids': 'FAIL',
      token: 'skip',
    });
    expect(r.stdout).toMatch(/jwks\.http\s+Cache-Control "" has no max-age/);
    expect(r.stdout).toMatch(/jwks\.keys\s+key 0 \(kid \S+\) has private member\(s\) d/);
    expect(r.stdout).toMatch(/jwks\.kids\s+.*kid key-2\) is not its thumbprint/);
  }, 60_000);
});
