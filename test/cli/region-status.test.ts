import { describe, expect, it } from 'vitest';
import { type RegionRegistry, readRegions, regionsText } from '../../src/cli/region-status.ts';
import type { Promotion, RegionPublication, RegistrySnapshot } from '../../src/core/types.ts';
import { JwksError } from '../../src/errors.ts';
import { keyRecord, snapshotOf, T0 } from '../support/fixtures.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const C = 'ap-southeast-2';

const KEYS = [
  keyRecord('old', 'EXPIRED', { createdAt: T0 }),
  keyRecord('active', 'ACTIVE', { createdAt: T0 + 1, publishedAt: T0 + 2, activatedAt: T0 + 3 }),
  keyRecord('standby', 'PENDING', { createdAt: T0 + 4 }),
];
const kid = (keyRef: string) => KEYS.find((k) => k.keyRef === keyRef)?.kid as string;
const mark = (region: string, keyRef: string, at = T0): RegionPublication => ({
  region,
  keyRef,
  kid: kid(keyRef),
  publishedAt: at,
});
const promotion = (epoch: number, region: string, servingRegions?: string[]): Promotion => ({
  epoch,
  region,
  promotedAt: T0,
  ...(servingRegions ? { servingRegions } : {}),
  changedBy: 'cli:ops',
  reason: 'drill',
});

function replica(
  version: number,
  publications: RegionPublication[],
  promotions: Promotion[] = [],
  state: Partial<RegistrySnapshot['state']> = {},
): RegistrySnapshot {
  return { ...snapshotOf(KEYS, state, version), publications, promotions };
}

const registry = (region: string, read: () => Promise<RegistrySnapshot>): RegionRegistry => ({
  region,
  read,
});

describe('readRegions', () => {
  it('names the primary, its epoch and the serving set, and each region’s version, lag and served kids when every region answers', async () => {
    const view = await readRegions([
      registry(A, async () =>
        replica(12, [mark(A, 'old'), mark(A, 'active'), mark(A, 'standby', T0 + 5), mark(B, 'active')]),
      ),
      // B's replica is two commits behind and has not served the standby yet.
      registry(B, async () => replica(10, [mark(A, 'active'), mark(B, 'active')])),
    ]);
    expect(view).toMatchObject({ primaryRegion: A, epoch: 0, servingRegions: [A, B], registryVersion: 12 });
    expect(view.regions).toEqual([
      {
        region: A,
        up: true,
        primary: true,
        serving: true,
        registryVersion: 12,
        lag: 0,
        epoch: 0,
        // The EXPIRED key's mark stays in the table but the key is no longer served.
        publishedKids: [kid('active'), kid('standby')],
      },
      {
        region: B,
        up: true,
        primary: false,
        serving: true,
        registryVersion: 10,
        lag: 2,
        epoch: 0,
        publishedKids: [kid('active')],
      },
    ]);
  });

  it('takes the primary from the newest promotion any replica holds, when the old primary is down', async () => {
    const down = new JwksError('UPSTREAM', 'connect ETIMEDOUT');
    const view = await readRegions([
      registry(A, () => Promise.reject(down)),
      registry(B, async () =>
        replica(20, [mark(B, 'active')], [promotion(1, B, [B, C])], { primaryRegion: B, epoch: 1 }),
      ),
      // C has not received the promotion yet: it still believes in epoch 0.
      registry(C, async () => replica(18, [mark(C, 'active')])),
    ]);
    expect(view).toMatchObject({ primaryRegion: B, epoch: 1, servingRegions: [B, C], registryVersion: 20 });
    const [a, b, c] = view.regions;
    expect(a).toEqual({ region: A, up: false, primary: false, serving: false, error: 'connect ETIMEDOUT' });
    expect(b).toMatchObject({ up: true, primary: true, serving: true, lag: 0, epoch: 1 });
    expect(c).toMatchObject({ up: true, primary: false, serving: true, lag: 2, epoch: 0 });
  });

  it('measures lag against the highest version read when the primary cannot be read', async () => {
    const view = await readRegions([
      registry(A, () => Promise.reject(new Error('unreachable'))),
      registry(B, async () => replica(9, [])),
    ]);
    expect(view.primaryRegion).toBe(A);
    expect(view.registryVersion).toBe(9);
    expect(view.regions[1]).toMatchObject({ lag: 0, publishedKids: [] });
  });

  it('reads the regions in parallel, so a slow region costs its own time only', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = (region: string) =>
      registry(region, async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight -= 1;
        return replica(1, []);
      });
    await readRegions([slow(A), slow(B), slow(C)]);
    expect(most).toBe(3);
  });
});

describe('regionsText', () => {
  it('prints a summary line and one row per region, an unreachable one with its reason', async () => {
    const view = await readRegions([
      registry(A, async () => replica(12, [mark(A, 'active'), mark(A, 'standby')])),
      registry(B, () => Promise.reject(new Error('region eu-west-1 is down (simulated)'))),
    ]);
    const [summary, header, a, b] = regionsText(view).split('\n');
    expect(summary).toBe(`primary ${A}  epoch 0  serving ${A},${B}`);
    expect(header?.split(/\s+/)).toEqual([
      'REGION',
      'UP',
      'ROLE',
      'SERVING',
      'VERSION',
      'LAG',
      'EPOCH',
      'PUBLISHED',
    ]);
    expect(a?.split(/\s+/)).toEqual([
      A,
      'up',
      'primary',
      'yes',
      '12',
      '0',
      '0',
      kid('active'),
      kid('standby'),
    ]);
    expect(b).toMatch(
      new RegExp(`^${B}\\s+DOWN\\s+watch\\s+yes\\s+-\\s+-\\s+-\\s+\\(unreachable: region eu-west-1 is down`),
    );
  });
});
