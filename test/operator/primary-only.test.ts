/**
 * Only the primary region commits lifecycle changes (ADR 0008). The CLI against a multi-region local
 * stack runs operator requests in-process through runOperatorRequest, so the refusal lives there and
 * not only in the deployed rotate function: rotate and revoke outside the primary fail with
 * NOT_PRIMARY and write nothing; publish and a single-region deployment are not gated.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import type { RegionConfig } from '../../src/core/regions.ts';
import { NotPrimaryRegionError } from '../../src/errors.ts';
import type { OperatorRequest } from '../../src/operator/action.ts';
import { primaryOnly, runOperatorRequest } from '../../src/operator/run.ts';
import { reconcile } from '../../src/reconciler.ts';
import { T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const policy = parsePolicy({ algorithm: 'ES256' }, { multiRegion: true }).policy;
const change = { changedBy: 'cli:test', reason: 'test' };
const inRegion = (region: string): RegionConfig => ({ region, regions: [A, B] });

const ROTATE: OperatorRequest = { action: 'rotate', reason: 'test' };
const ROTATE_NOW: OperatorRequest = { action: 'rotate', immediate: true, reason: 'test' };

describe('runOperatorRequest in several regions', () => {
  let world: World;
  let standbyKid: string;

  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 8));
  beforeEach(async () => {
    world = makeWorld(policy);
    await reconcile(world.ops, T0);
    // The first reconcile creates the standby (PENDING until published): a key revoke can name.
    const kid = world.registry.snapshot().keys.find((k) => k.kid !== undefined)?.kid;
    if (kid === undefined) throw new Error('the first reconcile creates a key');
    standbyKid = kid;
  });

  const run = (region: string | undefined, request: OperatorRequest) =>
    runOperatorRequest(
      { ...world.publish, ...world.ops, ...(region ? { regions: inRegion(region) } : {}) },
      request,
      change,
      T0 + 1_000,
    );

  it.each([
    ['rotate', (): OperatorRequest => ROTATE],
    ['rotate --now', (): OperatorRequest => ROTATE_NOW],
    ['revoke', (): OperatorRequest => ({ action: 'revoke', kid: standbyKid, reason: 'test' })],
  ])(
    'refuses %s with NOT_PRIMARY naming the primary and writes nothing when run outside it',
    async (_l, request) => {
      const commits = world.registry.commits.length;
      await expect(run(B, request())).rejects.toMatchObject({ code: 'NOT_PRIMARY', primaryRegion: A });
      expect(world.registry.commits).toHaveLength(commits);
    },
  );

  it('runs rotate when this region is the primary', async () => {
    const outcome = await run(A, ROTATE);
    expect(outcome.action).toBe('rotate');
  });

  it('runs revoke in the primary when the key exists', async () => {
    const outcome = await run(A, { action: 'revoke', kid: standbyKid, reason: 'test' });
    expect(outcome.result).toMatchObject({ kid: standbyKid, alreadyRevoked: false });
  });

  it('runs rotate with no region check when the deployment has a single region', async () => {
    expect((await run(undefined, ROTATE)).action).toBe('rotate');
  });

  it('does not gate publish on the primary when run outside it', async () => {
    expect((await run(B, { action: 'publish', reason: 'test' })).action).toBe('publish');
  });
});

describe('primaryOnly', () => {
  it('follows the newest promotion when one names another region', async () => {
    const world = makeWorld(policy);
    world.registry.restore({
      state: { registryVersion: 1, primaryRegion: A, epoch: 0 },
      keys: [],
      promotions: [{ epoch: 1, region: B, promotedAt: T0, changedBy: 'cli:test', reason: 'drill' }],
    });
    const refused = await primaryOnly({ registry: world.registry, regions: inRegion(A) }, 'rotate').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(NotPrimaryRegionError);
    expect(refused).toMatchObject({ code: 'NOT_PRIMARY', primaryRegion: B });
    await expect(
      primaryOnly({ registry: world.registry, regions: inRegion(B) }, 'rotate'),
    ).resolves.toBeUndefined();
  });

  it("takes STATE's primary over the first of REGIONS when there is no promotion", async () => {
    const world = makeWorld(policy);
    world.registry.restore({ state: { registryVersion: 1, primaryRegion: B, epoch: 0 }, keys: [] });
    await expect(
      primaryOnly({ registry: world.registry, regions: inRegion(A) }, 'revoke'),
    ).rejects.toMatchObject({ code: 'NOT_PRIMARY', primaryRegion: B });
  });
});
