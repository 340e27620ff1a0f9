import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/cli/verify-token.ts';
import { SECOND } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { bootstrap, json, type MemoryStack, memoryStack, publish, run } from './harness.ts';

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 6));

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function sign(stack: MemoryStack, ...flags: string[]): Promise<string> {
  const r = await run(['sign', '--json', ...flags], stack);
  if (r.code !== 0) throw new Error(r.stderr);
  return json(r).token as string;
}

async function verify(stack: MemoryStack, token: string) {
  const r = await run(['verify', token, '--json'], stack);
  return { code: r.code, verdict: json<Verdict>(r), r };
}

describe('jwks verify', () => {
  let stack: MemoryStack;
  beforeEach(async () => {
    stack = memoryStack({ algorithm: 'ES256', clockSkew: '30s', maxTokenTtl: '1h' });
    await bootstrap(stack);
    await publish(stack);
  });

  it('accepts a token the CLI signed and prints its kid, alg and claims', async () => {
    const token = await sign(stack, '--claims', '{"sub":"svc-a"}');
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(0);
    expect(verdict).toMatchObject({
      valid: true,
      kid: stack.registry.snapshot().state.activeKid,
      alg: 'ES256',
      claims: { sub: 'svc-a' },
    });
  });

  it('still accepts a token within the clock skew after exp', async () => {
    const token = await sign(stack, '--ttl', '60s');
    stack.now += 60 * SECOND + 29 * SECOND;
    expect((await verify(stack, token)).code).toBe(0);
  });

  it('rejects with expired once exp plus the skew has passed', async () => {
    const token = await sign(stack, '--ttl', '60s');
    stack.now += 60 * SECOND + 30 * SECOND;
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(1);
    expect(verdict).toMatchObject({ valid: false, reason: 'expired' });
  });

  it('rejects with not_yet_valid when nbf is beyond the skew', async () => {
    const nbf = Math.floor(stack.now / 1000) + 31;
    const token = await sign(stack, '--claims', JSON.stringify({ nbf }));
    expect((await verify(stack, token)).verdict).toMatchObject({ valid: false, reason: 'not_yet_valid' });
  });

  it('rejects with issued_in_future when iat is beyond the skew', async () => {
    const start = stack.now;
    stack.now = start + 31 * SECOND;
    const token = await sign(stack);
    stack.now = start;
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(1);
    expect(verdict).toMatchObject({ valid: false, reason: 'issued_in_future' });
  });

  it('rejects with bad_signature when the payload was altered', async () => {
    const [header, , signature] = (await sign(stack)).split('.');
    const forged = `${header}.${b64({ sub: 'admin', exp: Math.floor(stack.now / 1000) + 60 })}.${signature}`;
    expect((await verify(stack, forged)).verdict).toMatchObject({ valid: false, reason: 'bad_signature' });
  });

  it('rejects with unknown_kid when the key is not in the published JWKS', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: 'not-a-published-kid' })
      .setIssuedAt(Math.floor(stack.now / 1000))
      .setExpirationTime(Math.floor(stack.now / 1000) + 60)
      .sign(privateKey);
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(1);
    expect(verdict).toMatchObject({ valid: false, reason: 'unknown_kid' });
  });

  it('rejects a revoked key as unknown_kid once the JWKS without it is published', async () => {
    const token = await sign(stack);
    const kid = stack.registry.snapshot().state.activeKid as string;
    expect((await run(['revoke', kid], stack)).code).toBe(0);
    expect((await run(['publish'], stack)).code).toBe(0);
    expect((await verify(stack, token)).verdict).toMatchObject({ valid: false, reason: 'unknown_kid' });
  });

  it('rejects alg none with alg_not_allowed without fetching any key', async () => {
    const kid = stack.registry.snapshot().state.activeKid;
    const token = `${b64({ alg: 'none', kid })}.${b64({ sub: 'admin' })}.`;
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(1);
    expect(verdict).toMatchObject({ valid: false, reason: 'alg_not_allowed' });
    expect(stack.fetches).toBe(0);
    expect(stack.loads).toEqual([]);
  });

  it('rejects HS256 with alg_not_allowed even when it names a published kid', async () => {
    const kid = stack.registry.snapshot().state.activeKid as string;
    const token = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setExpirationTime(Math.floor(stack.now / 1000) + 60)
      .sign(new TextEncoder().encode(stack.store.text('.well-known/jwks.json')));
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(1);
    expect(verdict).toMatchObject({ valid: false, reason: 'alg_not_allowed' });
    expect(stack.fetches).toBe(0);
  });

  it.each([
    ['not a JWT', 'abc', 'malformed'],
    ['a header that is not JSON', 'bm9wZQ.e30.c2ln', 'malformed'],
    ['no kid', `${b64({ alg: 'ES256' })}.${b64({})}.c2ln`, 'missing_kid'],
  ])('rejects %s', async (_what, token, reason) => {
    const { code, verdict } = await verify(stack, token);
    expect(code).toBe(1);
    expect(verdict).toMatchObject({ valid: false, reason });
  });

  it('prints the reason on stdout and exits 1 without --json', async () => {
    const r = await run(['verify', 'abc'], stack);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^invalid: malformed: /);
  });
});
