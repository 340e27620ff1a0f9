/**
 * Issue 9: `jwks rotate|revoke|publish --stack` ask the deployed function that owns the action. The
 * rotate function answers rotate and revoke, the publish function publish; both decide with their own
 * clock, record the operator from the request, and answer a bad request with a coded error, never a
 * stack trace.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { createPublishHandler } from '../../src/handlers/publish-handler.ts';
import { createRotateHandler } from '../../src/handlers/rotate-handler.ts';
import type { OperatorEvent, OperatorResponse } from '../../src/operator/action.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { revocationKey } from '../../src/revocations.ts';
import { policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const policy = policyOf({
  algorithm: 'ES256',
  jwksMaxAge: '60s',
  prepublishLead: '1h',
  rotationPeriod: '1d',
});
const OPERATOR = { arn: 'arn:aws:sts::123456789012:assumed-role/Operators/alice' };
/** The function's clock: a week after the operator's laptop would say anything. */
const FN_NOW = T0 + 7 * 86_400_000;

/** One ACTIVE and one published PENDING key, as a running deployment has. */
async function bootstrapped(world: World): Promise<void> {
  let now = T0;
  for (let i = 0; i < 4; i++) {
    await reconcile(world.ops, now);
    await publishJwks(world.publish, now);
    now += policy.prepublishLead;
  }
}

const errorCode = (r: OperatorResponse) => (r.ok ? undefined : r.error.code);

describe('the rotate function answering operator actions', () => {
  let world: World;
  let handler: ReturnType<typeof createRotateHandler>;

  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 8));
  beforeEach(async () => {
    world = makeWorld(policy);
    await bootstrapped(world);
    handler = createRotateHandler({ ...world.ops, clock: () => FN_NOW, bootstrapWaitMs: 0 });
  });

  it('activates the standby with its own clock and records the operator when rotate --now is asked', async () => {
    const pending = world.registry.snapshot().keys.find((k) => k.status === 'PENDING');
    const r = await handler({ action: 'rotate', immediate: true, reason: 'INC-1', operator: OPERATOR });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.outcome.result).toMatchObject({ immediate: true, activatedKid: pending?.kid });
    expect(r.outcome.warnings[0]).toContain('rotate --now');
    const active = world.registry.snapshot().keys.find((k) => k.kid === pending?.kid);
    expect(active?.status).toBe('ACTIVE');
    expect(active?.activatedAt).toBe(FN_NOW);
    expect(active?.changedBy).toBe(`cli:${OPERATOR.arn}`);
    expect(active?.reason).toBe('INC-1');
  });

  it('revokes the kid, lists it with the operator and promotes the standby when revoke is asked', async () => {
    const active = world.registry.snapshot().keys.find((k) => k.status === 'ACTIVE');
    const kid = active?.kid as string;
    const r = await handler({ action: 'revoke', kid, reason: 'key leaked', operator: OPERATOR });
    expect(r.ok && r.outcome.result).toMatchObject({ kid, previousStatus: 'ACTIVE', alreadyRevoked: false });
    const revoked = world.registry.snapshot().keys.find((k) => k.kid === kid);
    expect(revoked?.status).toBe('REVOKED');
    expect(revoked?.revokedAt).toBe(FN_NOW);
    const listed = JSON.parse(world.store.text(revocationKey(kid)) ?? '{}');
    expect(listed).toMatchObject({
      kid,
      revokedAt: FN_NOW,
      reason: 'key leaked',
      changedBy: `cli:${OPERATOR.arn}`,
    });
  });

  it('answers KEY_NOT_FOUND, not a function error, when the kid is unknown', async () => {
    const r = await handler({ action: 'revoke', kid: 'no-such-kid', reason: 'x', operator: OPERATOR });
    expect(errorCode(r)).toBe('KEY_NOT_FOUND');
  });

  it.each([
    ['an unknown action', { action: 'delete', reason: 'x', operator: OPERATOR }],
    ["the publish function's action", { action: 'publish', reason: 'x', operator: OPERATOR }],
    ['a clock of its own', { action: 'rotate', reason: 'x', operator: OPERATOR, now: T0 }],
    ['an unknown field', { action: 'rotate', reason: 'x', operator: OPERATOR, kid: 'k' }],
    ['no reason', { action: 'rotate', operator: OPERATOR }],
    ['a blank reason', { action: 'rotate', reason: '  ', operator: OPERATOR }],
    ['no operator', { action: 'rotate', reason: 'x' }],
    ['an operator that is not an ARN', { action: 'rotate', reason: 'x', operator: { arn: 'alice' } }],
    ['a revoke without a kid', { action: 'revoke', reason: 'x', operator: OPERATOR }],
    ['a kid that is not a string', { action: 'revoke', kid: 42, reason: 'x', operator: OPERATOR }],
    [
      'an immediate that is not a boolean',
      { action: 'rotate', immediate: 'yes', reason: 'x', operator: OPERATOR },
    ],
  ])('answers INVALID_ARGUMENT and changes nothing when the request has %s', async (_, request) => {
    const before = world.registry.snapshot();
    const r = await handler(request as OperatorEvent);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    expect(world.registry.snapshot()).toEqual(before);
  });

  it('fails as a function error when something other than the request is wrong', async () => {
    world.faults.crash('registry.read');
    await expect(handler({ action: 'rotate', reason: 'x', operator: OPERATOR })).rejects.toMatchObject({
      name: 'SimulatedCrash',
    });
  });

  it('still reconciles on a schedule event', async () => {
    const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    expect(result.registryVersion).toBe(world.registry.snapshot().state.registryVersion);
  });
});

describe('the publish function answering operator actions', () => {
  let world: World;
  const sent: Array<{ type: string }> = [];

  beforeEach(async () => {
    world = makeWorld(policy);
    sent.length = 0;
    await reconcile(world.ops, T0);
  });

  const handlerAt = (now: number) =>
    createPublishHandler({
      ...world.publish,
      clock: () => now,
      issuer: 'https://issuer.example',
      events: { bus: { publish: async (e) => void sent.push(e) }, jwksUri: 'https://issuer.example/j' },
    });

  it('publishes with its own clock, the discovery documents too, and announces jwks.published', async () => {
    const r = await handlerAt(FN_NOW)({ action: 'publish', reason: 'after restore', operator: OPERATOR });
    expect(r.ok && r.outcome.result).toMatchObject({ written: true, discoveryWritten: expect.any(Array) });
    expect(world.store.text(OBJECT_KEYS.JWKS)).toBeDefined();
    expect(world.registry.snapshot().keys.every((k) => k.publishedAt === FN_NOW)).toBe(true);
    expect(sent.map((e) => e.type)).toEqual(['jwks.published']);
  });

  it('overwrites a JWKS from a newer registry version only when force is asked', async () => {
    await bootstrapped(world);
    const restorePoint = world.registry.snapshot();
    await createRotateHandler({ ...world.ops, bootstrapWaitMs: 0 })({
      action: 'rotate',
      immediate: true,
      reason: 'x',
      operator: OPERATOR,
    });
    await publishJwks(world.publish, FN_NOW);
    world.registry.restore(restorePoint); // a point-in-time restore of the table
    const plain = await handlerAt(FN_NOW)({ action: 'publish', reason: 'x', operator: OPERATOR });
    expect(plain.ok && plain.outcome.result).toMatchObject({ written: false, skipped: 'stored-newer' });
    const forced = await handlerAt(FN_NOW)({
      action: 'publish',
      force: true,
      reason: 'x',
      operator: OPERATOR,
    });
    expect(forced.ok && forced.outcome.result).toMatchObject({
      written: true,
      registryVersion: restorePoint.state.registryVersion,
    });
  });

  it("answers INVALID_ARGUMENT for the rotate function's actions and for a clock of its own", async () => {
    const handler = handlerAt(FN_NOW);
    const revoke = await handler({ action: 'revoke', kid: 'k', reason: 'x', operator: OPERATOR });
    const timed = await handler({ action: 'publish', now: T0, reason: 'x', operator: OPERATOR });
    expect([errorCode(revoke), errorCode(timed)]).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    expect(world.store.text(OBJECT_KEYS.JWKS)).toBeUndefined();
  });
});
