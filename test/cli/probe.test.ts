import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type IssuerServer, startIssuer } from '../probe/issuer-server.ts';
import { json, run } from './harness.ts';

describe('jwks probe', () => {
  let issuer: IssuerServer | undefined;
  afterEach(async () => {
    await issuer?.close();
    issuer = undefined;
  });

  it('prints one ok line per check and exits 0 against an issuer that keeps the contract, without a stack', async () => {
    issuer = await startIssuer();
    const r = await run(['probe', issuer.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['ok', 'discovery'],
      ['ok', 'jwks.http'],
      ['ok', 'jwks.not-modified'],
      ['ok', 'jwks.keys'],
      ['ok', 'jwks.kids'],
      ['skip', 'token'],
    ]);
  });

  it('exits 1 and marks the failing checks when the JWKS leaks a private member and drops Cache-Control', async () => {
    issuer = await startIssuer({
      jwksBody: (keys) => ({ keys: [{ ...keys[0], d: 'AQAB' }, keys[1]] }),
      jwksHeaders: { 'cache-control': undefined },
    });
    const r = await run(['probe', issuer.url, '--json']);
    expect(r.code).toBe(1);
    const doc = json<{ ok: boolean; checks: { name: string; ok: boolean; detail: string }[] }>(r);
    expect(doc.ok).toBe(false);
    const failed = doc.checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual(['jwks.http', 'jwks.keys']);
    expect(doc.checks.find((c) => c.name === 'jwks.http')?.detail).toContain('no max-age');
  });

  it('exits 1 when If-None-Match does not get a 304', async () => {
    issuer = await startIssuer({ no304: true });
    const r = await run(['probe', issuer.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+jwks\.not-modified\s+If-None-Match "v1" got status 200, expected 304/m);
  });

  it('exits 1 on a redirected JWKS and does not follow it', async () => {
    const target = await startIssuer();
    issuer = await startIssuer({ redirectJwksTo: `${target.url}/.well-known/jwks.json` });
    const r = await run(['probe', issuer.url]);
    await target.close();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^FAIL\s+jwks\.http\s+status 302 \(redirect to http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json;/m,
    );
    expect(r.stdout).not.toMatch(/jwks\.keys/);
  });

  it('exits 1 naming the refused connection when nothing listens', async () => {
    issuer = await startIssuer();
    const url = issuer.url;
    await issuer.close();
    issuer = undefined;
    const r = await run(['probe', url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+discovery\s+.*ECONNREFUSED/m);
  });

  it.each([
    [['probe'], 'no issuer'],
    [['probe', 'ftp://example.com'], 'not an http(s) URL'],
    [['probe', 'https://a.example', '--client-secret', 'x'], 'secret without a client id'],
    [['probe', 'https://a.example', '--client-id', 'c'], 'a client id without a credential'],
    [
      ['probe', 'https://a.example', '--client-id', 'c', '--client-secret', 'x', '--key-file', 'k.json'],
      'both',
    ],
    [['probe', 'https://a.example', '--api-url', 'nope'], 'an --api-url that is not a URL'],
  ])('exits 2 on %j (%s) before any request', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[INVALID_ARGUMENT\]/);
  });

  it('refuses a --key-file that holds a public key only, without printing it', async () => {
    const path = join(tmpdir(), `probe-public-${process.pid}.json`);
    writeFileSync(path, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB', alg: 'ES256' }));
    const r = await run(['probe', 'https://a.example', '--client-id', 'c', '--key-file', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a private key');
    expect(r.stderr).not.toContain('AAAA');
  });
});
