import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MINUTE } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { bootstrap, json, type MemoryStack, memoryStack, run } from './harness.ts';

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 4));

/** The ACTIVE key's public JWK straight from the fake vault (not from anything the CLI printed). */
async function activePublicKey(stack: MemoryStack) {
  const state = stack.registry.snapshot().state;
  const jwk = await stack.vault.getPublicJwk(state.activeVaultKeyId as string, 'ES256');
  return { kid: jwk.kid, key: await importJWK(jwk, 'ES256') };
}

const errorCode = (r: { stdout: string }) => json<{ error: { code: string } }>(r as never).error.code;

describe('jwks sign', () => {
  let stack: MemoryStack;
  beforeEach(async () => {
    stack = memoryStack({ algorithm: 'ES256', maxTokenTtl: '1h' });
    await bootstrap(stack);
  });

  it('prints only {"token"} with --json, and the token verifies against the active public key', async () => {
    const r = await run(['sign', '--claims', '{"sub":"svc-a","scope":"read"}', '--json'], stack);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(Object.keys(out)).toEqual(['token']);
    const { kid, key } = await activePublicKey(stack);
    const token = out.token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid, typ: 'JWT' });
    const { payload } = await jwtVerify(token, key, { currentDate: new Date(stack.now) });
    expect(payload).toMatchObject({ sub: 'svc-a', scope: 'read', iat: Math.floor(stack.now / 1000) });
    expect(payload.exp).toBe((payload.iat as number) + 5 * 60);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('prints the token alone on stdout without --json', async () => {
    const r = await run(['sign', '--typ', 'at+jwt'], stack);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeProtectedHeader(r.stdout.trim()).typ).toBe('at+jwt');
  });

  it('gives each token a fresh jti', async () => {
    const a = json(await run(['sign', '--json'], stack)).token as string;
    const b = json(await run(['sign', '--json'], stack)).token as string;
    const { key } = await activePublicKey(stack);
    const opts = { currentDate: new Date(stack.now) };
    expect((await jwtVerify(a, key, opts)).payload.jti).not.toBe((await jwtVerify(b, key, opts)).payload.jti);
  });

  it('uses --ttl for exp when it is within maxTokenTtl', async () => {
    const token = json(await run(['sign', '--ttl', '1h', '--json'], stack)).token as string;
    const { payload } = await jwtVerify(token, (await activePublicKey(stack)).key, {
      currentDate: new Date(stack.now),
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('defaults the ttl to maxTokenTtl when that is below 5 minutes', async () => {
    const short = memoryStack({ algorithm: 'ES256', maxTokenTtl: '2m' });
    await bootstrap(short);
    const token = json(await run(['sign', '--json'], short)).token as string;
    const { payload } = await jwtVerify(token, (await activePublicKey(short)).key, {
      currentDate: new Date(short.now),
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe((2 * MINUTE) / 1000);
  });

  it('exits 2 naming maxTokenTtl when --ttl exceeds it', async () => {
    const r = await run(['sign', '--ttl', '61m', '--json'], stack);
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    expect(r.stderr).toContain('maxTokenTtl');
  });

  it.each([
    ['not JSON', '{sub:'],
    ['an array', '["a"]'],
    ['a string', '"sub"'],
    ['null', 'null'],
    ['setting exp', '{"exp":99999999999}'],
    ['setting iat', '{"iat":1}'],
  ])('exits 2 when --claims is %s', async (_what, claims) => {
    const r = await run(['sign', '--claims', claims, '--json'], stack);
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
  });

  it.each([['10x'], ['0s'], ['500ms']])('exits 2 when --ttl is %s', async (ttl) => {
    expect((await run(['sign', '--ttl', ttl], stack)).code).toBe(2);
  });

  it('exits 1 naming the standby it waits for when a revoke left no ACTIVE key', async () => {
    const revoked = memoryStack({ algorithm: 'ES256', maxTokenTtl: '1h' });
    await bootstrap(revoked);
    const state = () => revoked.registry.snapshot().state;
    await run(['revoke', state().pendingKid as string], revoked); // the replacement standby is unpublished
    const awaiting = state().pendingKid as string;
    const revoke = await run(['revoke', state().activeKid as string, '--json'], revoked);
    expect(revoke.code).toBe(0);
    expect(json(revoke)).toMatchObject({ awaitingPublicationKid: awaiting });
    expect(revoke.stderr).toContain(awaiting);

    const r = await run(['sign', '--json'], revoked);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('NO_ACTIVE_KEY');
    expect(r.stderr).toContain(`no ACTIVE key: waiting for publication of ${awaiting}`);
  });

  it('exits 1 with NO_ACTIVE_KEY when the registry has no active key', async () => {
    const empty = memoryStack();
    const r = await run(['sign', '--json'], empty);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('NO_ACTIVE_KEY');
  });
});
