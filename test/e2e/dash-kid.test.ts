/**
 * Issue 13 on the running local stack: a kid that begins with `-` (about one key in 64) is revoked by
 * `jwks revoke <kid>` exactly as `jwks status` printed it. Such a key is made honestly: the local
 * vault creates keys with node:crypto, and `rotate --now` (the operations the CLI runs, in-process to
 * stay fast) is repeated until the registry holds one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localContext } from '../../src/cli/local-context.ts';
import { requestRotation } from '../../src/operations.ts';
import { publishJwks } from '../../src/publisher.ts';
import { cli, type StackProcess, startStack } from './stack-process.ts';

const POLICY = {
  ALGORITHM: 'ES256', // cheap keys: a rotation costs a few registry writes, not an RSA key generation
  JWKS_MAX_AGE: '1s',
  PREPUBLISH_LEAD: '3s',
  ROTATION_PERIOD: '1h',
  MAX_TOKEN_TTL: '5s',
  CLOCK_SKEW: '1s',
  SIGNER_CACHE_TTL: '1s',
  RETENTION: '10s', // retired keys expire during the loop, so the JWKS stays small
};

async function servedKids(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  return body.keys.map((k) => k.kid);
}

describe('jwks revoke of a kid that begins with "-" on the local stack', () => {
  let stack: StackProcess;
  let kid: string | undefined;
  let statusText = '';
  let rotations = 0;
  let elapsed = 0;

  beforeAll(async () => {
    stack = await startStack({ env: POLICY });
    const ctx = localContext(stack.dataDir);
    const started = Date.now();
    try {
      const started = Date.now();
      // ~64 rotations on average; one costs about 4 registry commits (0.3–1.4 s against DynamoDB Local,
      // depending on the machine's load), so the budget is generous to keep the test from flaking.
      const deadline = started + 150_000;
      while (Date.now() < deadline) {
        const { keys } = await ctx.registry.read();
        if (keys.some((k) => k.kid?.startsWith('-') && k.status !== 'REVOKED')) break;
        // Each rotation activates the standby and creates a new one through the local vault.
        try {
          // The standby activates only once published (design §3): publish as the stack's publisher
          // would, instead of waiting for its stream poller.
          await publishJwks(ctx, Date.now());
          await requestRotation(
            ctx,
            { immediate: true },
            { changedBy: 'cli:e2e', reason: 'looking for a kid that begins with -' },
            Date.now(),
          );
          rotations += 1;
        } catch (err) {
          // The stack's own reconciler is creating the standby right now: try again in a moment.
          const code = (err as { code?: string }).code;
          if (code !== 'KEY_NOT_FOUND' && code !== 'KEY_NOT_PUBLISHED') throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      ctx.close();
      elapsed = Date.now() - started;
    }
    // The kid as an operator would copy it: from `jwks status`.
    const status = await cli(stack.dataDir, ['status', '--json']);
    const keys = (JSON.parse(status.stdout) as { keys: { kid?: string; status: string }[] }).keys;
    kid = keys.find((k) => k.kid?.startsWith('-') && k.status !== 'REVOKED')?.kid;
    statusText = (await cli(stack.dataDir, ['status'])).stdout;
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('revokes it given exactly as status printed it, and it leaves the served JWKS', async () => {
    expect(kid, `no kid beginning with "-" after ${rotations} rotations (${elapsed} ms)`).toBeDefined();
    expect(statusText.split(/\s+/)).toContain(kid);
    const revoke = await cli(stack.dataDir, ['revoke', kid as string, '--reason', '-x: e2e', '--json']);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ kid });
    const deadline = Date.now() + 5_000;
    while ((await servedKids(stack.url)).includes(kid as string) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await servedKids(stack.url)).not.toContain(kid);
    const status = await cli(stack.dataDir, ['status', '--json']);
    const keys = (JSON.parse(status.stdout) as { keys: { kid?: string; status: string }[] }).keys;
    expect(keys.find((k) => k.kid === kid)?.status).toBe('REVOKED');
  });
});
