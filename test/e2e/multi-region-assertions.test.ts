/**
 * Issue 20, item 2, against `REGIONS=2 npm start`: a `private_key_jwt` client assertion is single-use
 * across the deployment, not once per region. The `jti` items live in each region's replica of the
 * global table (a conditional put holds in one replica only), so what makes an assertion single-use is
 * its audience: each region accepts its own token endpoint URL, and the issuer's only in the home
 * region (src/token/assertion-audience.ts, ADR 0008, docs/tokens.md).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegionInfo, StackInfo } from '../../src/local/data-dir.ts';
import { readStackInfo } from '../../src/local/data-dir.ts';
import { cli, type StackProcess, startStack, tempDataDir } from './stack-process.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const S = 1000;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CLIENT = 'jwt-svc';
const KID = 'jwt-svc-1';

let stack: StackProcess;
let info: StackInfo;
let privateKey: CryptoKey;

function regionUrl(name: string): string {
  const found = info.regions?.find((r: RegionInfo) => r.region === name);
  if (!found) throw new Error(`no region ${name} in stack.json`);
  return found.url;
}
const tokenUrl = (name: string) => `${regionUrl(name)}/oauth2/token`;

const assertion = (aud: string) =>
  new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: KID })
    .setIssuer(CLIENT)
    .setSubject(CLIENT)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(privateKey);

async function send(url: string, token: string): Promise<{ status: number; error?: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: token,
    }).toString(),
  });
  const body = (await res.json()) as { error?: string; access_token?: string };
  return { status: res.status, ...(body.error === undefined ? {} : { error: body.error }) };
}

beforeAll(async () => {
  stack = await startStack({ env: { REGIONS: `${A},${B}`, ALGORITHM: 'ES256' }, readyTimeoutMs: 120_000 });
  info = (await readStackInfo(stack.dataDir)) as StackInfo;
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwksFile = join(tempDataDir(), 'jwt-svc.jwks.json');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const created = await cli(
    stack.dataDir,
    ['clients', 'create', CLIENT, '--scope', 'read', '--audience', 'api', '--jwks-file', jwksFile, '--json'],
    { AWS_REGION: A },
  );
  expect(created.code, created.stderr).toBe(0);
  // The client reaches B's table by replication: wait until B knows it (B's own audience answers 200).
  const deadline = Date.now() + 30 * S;
  let seen = { status: 0 } as { status: number; error?: string };
  while (Date.now() < deadline) {
    seen = await send(tokenUrl(B), await assertion(tokenUrl(B)));
    if (seen.status === 200) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(seen.status).toBe(200);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('REGIONS=2 npm start: one private_key_jwt assertion, one token across the deployment', () => {
  it('accepts an assertion for region A once at A and refuses it again at A and at B (invalid_client)', async () => {
    const token = await assertion(tokenUrl(A));
    expect(await send(tokenUrl(A), token)).toEqual({ status: 200 });
    expect(await send(tokenUrl(A), token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(tokenUrl(B), token)).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('refuses an assertion for region A at B, before and after its jti has had time to replicate', async () => {
    const token = await assertion(tokenUrl(A));
    expect(await send(tokenUrl(B), token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(tokenUrl(A), token)).toEqual({ status: 200 });
  });

  it.each([
    ['the issuer', () => stack.url],
    ['the issuer’s token endpoint', () => `${stack.url}/oauth2/token`],
  ])('accepts an assertion aimed at %s at the edge and in the home region only, once', async (_n, aud) => {
    const token = await assertion(aud());
    expect(await send(tokenUrl(B), token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(`${stack.url}/oauth2/token`, token)).toEqual({ status: 200 });
    expect(await send(tokenUrl(A), token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(tokenUrl(B), token)).toEqual({ status: 401, error: 'invalid_client' });
  });
});
