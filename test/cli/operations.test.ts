import { createHash } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { appendRevocation } from '../../src/revocations.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { bootstrap, json, type MemoryStack, memoryStack, publish, run } from './harness.ts';

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 6));

const keyOf = (stack: MemoryStack, status: string) =>
  stack.registry.snapshot().keys.find((k) => k.status === status);

describe('jwks rotate', () => {
  let stack: MemoryStack;
  beforeEach(async () => {
    stack = memoryStack();
    await bootstrap(stack);
  });

  it('ends the active period but keeps the active key when the standby has not been published for the lead', async () => {
    const active = keyOf(stack, 'ACTIVE');
    const pending = keyOf(stack, 'PENDING');
    const r = await run(['rotate', '--json'], stack);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = json(r);
    expect(out.activeKid).toBe(active?.kid);
    expect(out.pendingKid).toBe(pending?.kid);
    expect(out.pendingActivatesAt).toBe(
      new Date((pending?.publishedAt as number) + stack.policy.prepublishLead).toISOString(),
    );
    expect(keyOf(stack, 'ACTIVE')?.periodEndsAt).toBe(stack.now);
    expect(keyOf(stack, 'ACTIVE')?.changedBy).toBe('cli:tester');
  });

  it('activates the standby when its lead is already satisfied', async () => {
    const pending = keyOf(stack, 'PENDING');
    stack.now = (pending?.publishedAt as number) + stack.policy.prepublishLead;
    const r = await run(['rotate', '--json'], stack);
    expect(r.code).toBe(0);
    expect(json(r).activatedKid).toBe(pending?.kid);
    expect(stack.registry.snapshot().state.activeKid).toBe(pending?.kid);
    expect(r.stderr).toBe('');
  });

  it('activates the standby at once and warns on stderr about cached JWKS when --now', async () => {
    const active = keyOf(stack, 'ACTIVE');
    const pending = keyOf(stack, 'PENDING');
    const r = await run(['rotate', '--now', '--json'], stack);
    expect(r.code).toBe(0);
    expect(json(r).activatedKid).toBe(pending?.kid);
    expect(stack.registry.snapshot().state.activeKid).toBe(pending?.kid);
    expect(stack.registry.snapshot().keys.find((k) => k.keyRef === active?.keyRef)?.status).toBe('RETIRED');
    expect(r.stderr).toMatch(/^warning: /m);
    expect(r.stderr).toContain(pending?.kid as string);
    expect(r.stderr).toMatch(/cached JWKS/);
  });

  it('records the operator and the given --reason on the activation', async () => {
    const pending = keyOf(stack, 'PENDING');
    const r = await run(['rotate', '--now', '--reason', 'CHG-42 key ceremony'], stack);
    expect(r.code).toBe(0);
    const activation = stack.registry.commits.find((c) =>
      c.keys.some((k) => k.record.keyRef === pending?.keyRef && k.record.status === 'ACTIVE'),
    );
    expect(activation?.change).toEqual({ changedBy: 'cli:tester', reason: 'CHG-42 key ceremony' });
  });

  it('finishes a revoke that only reached the revocation list', async () => {
    const pending = keyOf(stack, 'PENDING');
    await appendRevocation(stack.store, {
      kid: pending?.kid as string,
      revokedAt: stack.now,
      reason: 'revoke died before the registry write',
      changedBy: 'cli:someone',
    });
    expect((await run(['rotate'], stack)).code).toBe(0);
    expect(stack.registry.snapshot().keys.find((k) => k.keyRef === pending?.keyRef)?.status).toBe('REVOKED');
  });

  it('prints the human summary on stdout and keeps warnings on stderr when --now without --json', async () => {
    const r = await run(['rotate', '--now'], stack);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^activated /);
    expect(r.stdout).not.toMatch(/warning/i);
    expect(r.stderr).toMatch(/^warning: /m);
  });
});

describe('jwks revoke', () => {
  let stack: MemoryStack;
  beforeEach(async () => {
    stack = memoryStack();
    await bootstrap(stack);
  });

  it('exits 1 with KEY_NOT_FOUND and changes nothing when the kid is unknown', async () => {
    const commits = stack.registry.commits.length;
    const r = await run(['revoke', 'bm90LWEta2lk', '--json'], stack);
    expect(r.code).toBe(1);
    expect(json<{ error: { code: string } }>(r).error.code).toBe('KEY_NOT_FOUND');
    expect(stack.registry.commits).toHaveLength(commits);
    expect(await stack.store.list(OBJECT_KEYS.REVOCATIONS_PREFIX)).toEqual([]);
  });

  it('promotes the standby, lists the revocation and disables the vault key when the ACTIVE key is revoked', async () => {
    const active = keyOf(stack, 'ACTIVE');
    const pending = keyOf(stack, 'PENDING');
    const r = await run(['revoke', active?.kid as string, '--reason', 'key leaked', '--json'], stack);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ kid: active?.kid, previousStatus: 'ACTIVE', promotedKid: pending?.kid });
    expect(stack.registry.snapshot().state.activeKid).toBe(pending?.kid);
    const revoked = stack.registry.snapshot().keys.find((k) => k.keyRef === active?.keyRef);
    expect(revoked?.status).toBe('REVOKED');
    expect(revoked?.reason).toContain('key leaked');
    expect(stack.vault.stateOf(active?.vaultKeyId as string)).toBe('PendingDeletion');
    expect(await stack.store.list(OBJECT_KEYS.REVOCATIONS_PREFIX)).toEqual([`revocations/${active?.kid}`]);
  });

  it('exits 2 without contacting the stack when the kid is missing', async () => {
    const r = await run(['revoke'], stack);
    expect(r.code).toBe(2);
    expect(stack.loads).toEqual([]);
  });
});

describe('jwks publish', () => {
  it('writes the JWKS and prints the registry version and the sha256 of the stored body', async () => {
    const stack = memoryStack();
    await bootstrap(stack);
    await run(['rotate', '--now'], stack); // the registry changed; nothing published it yet
    const r = await run(['publish', '--json'], stack);
    expect(r.code).toBe(0);
    const out = json(r);
    const body = stack.store.text(OBJECT_KEYS.JWKS) as string;
    expect(out).toMatchObject({
      written: true,
      registryVersion: stack.registry.snapshot().state.registryVersion,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect(stack.cdn.invalidations.length).toBeGreaterThan(0);
  });

  it('reports that nothing was written when the stored JWKS is already current', async () => {
    const stack = memoryStack();
    await bootstrap(stack);
    await publish(stack);
    const puts = stack.store.puts.length;
    const r = await run(['publish'], stack);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/unchanged/);
    expect(r.stdout).toContain(`registry version ${stack.registry.snapshot().state.registryVersion}`);
    expect(stack.store.puts).toHaveLength(puts);
  });

  it('refuses to go back to an older registry version unless --force, after a restore', async () => {
    const stack = memoryStack();
    await bootstrap(stack);
    const restorePoint = stack.registry.snapshot();
    await run(['rotate', '--now'], stack);
    await publish(stack);
    stack.registry.restore(restorePoint); // a point-in-time restore of the table

    const refused = await run(['publish', '--json'], stack);
    expect(refused.code).toBe(0);
    expect(json(refused)).toMatchObject({ written: false, skipped: 'stored-newer' });

    const forced = await run(['publish', '--force', '--json'], stack);
    expect(forced.code).toBe(0);
    expect(json(forced)).toMatchObject({
      written: true,
      registryVersion: restorePoint.state.registryVersion,
    });
  });

  it('republishes the discovery documents for the stack issuer', async () => {
    const stack = memoryStack();
    await bootstrap(stack);
    const withIssuer = { ...stack, ctx: { ...stack.ctx, issuer: 'https://auth.example.com' } };
    const r = await run(['publish', '--json'], withIssuer);
    expect(r.code).toBe(0);
    expect(json(r).discoveryWritten).toEqual([PATHS.OAUTH_METADATA, PATHS.OPENID_CONFIGURATION]);
    expect(JSON.parse(stack.store.text(OBJECT_KEYS.OPENID_CONFIGURATION) ?? '{}').issuer).toBe(
      'https://auth.example.com',
    );
  });
});
