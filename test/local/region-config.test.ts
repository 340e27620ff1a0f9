/**
 * `REGIONS` and `REPLICATION_LAG` for the local stack (ADR 0008, "On one machine"), and how
 * loadLocalConfig applies them: several regions validate the policy with the multi-region rules.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import { loadLocalConfig } from '../../src/local/config.ts';
import {
  DEFAULT_REGION_NAMES,
  HOME_REGION,
  localRegionsFromEnv,
  replicationLagProblem,
} from '../../src/local/region-config.ts';

const errorOf = (fn: () => unknown): { code?: string; variable?: string } => {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; variable?: string };
  }
  throw new Error('expected an error');
};

/** The multi-region default policy: maxReplicationLag 30 s. */
const multi = parsePolicy({}, { multiRegion: true }).policy;
const tight = parsePolicy({ maxReplicationLag: '500ms' }, { multiRegion: true }).policy;

describe('localRegionsFromEnv: REGIONS', () => {
  it.each([
    [undefined, [HOME_REGION]],
    ['', [HOME_REGION]],
    ['  ', [HOME_REGION]],
    ['1', [HOME_REGION]],
    ['2', ['us-east-1', 'eu-west-1']],
    ['3', [...DEFAULT_REGION_NAMES]],
  ])('simulates the default names when REGIONS is %j', (value, names) => {
    expect(localRegionsFromEnv({ REGIONS: value }).names).toEqual(names);
  });

  it('takes a comma list of region names in order, spaces trimmed, when REGIONS names them', () => {
    expect(localRegionsFromEnv({ REGIONS: 'eu-west-1, ap-southeast-2 ,us-east-1' }).names).toEqual([
      'eu-west-1',
      'ap-southeast-2',
      'us-east-1',
    ]);
  });

  it.each(['0', '4', '10'])(
    'refuses REGIONS=%s naming the variable when the count is out of 1..3',
    (value) => {
      expect(errorOf(() => localRegionsFromEnv({ REGIONS: value }))).toMatchObject({
        code: 'INVALID_CONFIG',
        variable: 'REGIONS',
      });
    },
  );

  it.each(['us-east-1,,eu-west-1', 'US-EAST-1', 'us-east-1;eu-west-1', 'useast1', '2,eu-west-1'])(
    'refuses REGIONS=%j naming the variable when an entry is not a region name',
    (value) => {
      expect(errorOf(() => localRegionsFromEnv({ REGIONS: value }))).toMatchObject({
        code: 'INVALID_CONFIG',
        variable: 'REGIONS',
      });
    },
  );

  it('refuses REGIONS naming the variable when a region is listed twice', () => {
    expect(errorOf(() => localRegionsFromEnv({ REGIONS: 'eu-west-1,us-east-1, eu-west-1' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'REGIONS',
    });
  });
});

describe('localRegionsFromEnv: REPLICATION_LAG', () => {
  it('is 1 s by default when there are several regions', () => {
    expect(localRegionsFromEnv({ REGIONS: '2' }).replicationLag(multi)).toBe(1_000);
  });

  it('caps the default at maxReplicationLag when the policy allows less than 1 s', () => {
    expect(localRegionsFromEnv({ REGIONS: '2' }).replicationLag(tight)).toBe(500);
  });

  it('takes REPLICATION_LAG as a duration when it is within maxReplicationLag', () => {
    const regions = localRegionsFromEnv({ REGIONS: '2', REPLICATION_LAG: '25s' });
    expect(regions.replicationLag(multi)).toBe(25_000);
    expect(localRegionsFromEnv({ REGIONS: '2', REPLICATION_LAG: '30s' }).replicationLag(multi)).toBe(30_000);
    expect(localRegionsFromEnv({ REGIONS: '2', REPLICATION_LAG: '0ms' }).replicationLag(multi)).toBe(0);
  });

  it('refuses REPLICATION_LAG naming the variable when it exceeds maxReplicationLag', () => {
    const regions = localRegionsFromEnv({ REGIONS: '2', REPLICATION_LAG: '31s' });
    expect(errorOf(() => regions.replicationLag(multi))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'REPLICATION_LAG',
    });
  });

  it.each(['soon', '2', '-1s', '1.5s'])(
    'refuses REPLICATION_LAG=%j naming the variable when it is not a duration',
    (value) => {
      const regions = localRegionsFromEnv({ REGIONS: '2', REPLICATION_LAG: value });
      expect(errorOf(() => regions.replicationLag(multi))).toMatchObject({
        code: 'INVALID_CONFIG',
        variable: 'REPLICATION_LAG',
      });
    },
  );

  it('is 0 when there is one region, whatever REPLICATION_LAG says', () => {
    expect(localRegionsFromEnv({ REPLICATION_LAG: '5s' }).replicationLag(multi)).toBe(0);
  });
});

describe('replicationLagProblem', () => {
  it('accepts a lag from 0 up to maxReplicationLag itself', () => {
    expect(replicationLagProblem(0, multi)).toBeUndefined();
    expect(replicationLagProblem(multi.maxReplicationLag, multi)).toBeUndefined();
  });

  it.each([
    ['above maxReplicationLag', 30_001],
    ['negative', -1],
    ['not finite', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('names a problem when the lag is %s', (_label, lagMs) => {
    expect(replicationLagProblem(lagMs, multi)).toEqual(expect.any(String));
  });
});

describe('loadLocalConfig with REGIONS', () => {
  /** Compressed lifecycle: retention 5 s leaves room for a replication lag of at most 1 s. */
  const COMPRESSED = {
    JWKS_MAX_AGE: '1s',
    PREPUBLISH_LEAD: '3s',
    ROTATION_PERIOD: '6s',
    MAX_TOKEN_TTL: '2s',
    CLOCK_SKEW: '1s',
    SIGNER_CACHE_TTL: '1s',
    RETENTION: '5s',
  };

  it('runs one region with no replication lag and the single-region policy when REGIONS is unset', () => {
    const config = loadLocalConfig({});
    expect(config.regions).toEqual([HOME_REGION]);
    expect(config.replicationLagMs).toBe(0);
    expect(config.policy.maxReplicationLag).toBe(0);
  });

  it('returns the regions, the default lag and the multi-region policy when REGIONS=2', () => {
    const config = loadLocalConfig({ REGIONS: '2' });
    expect(config.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(config.replicationLagMs).toBe(1_000);
    expect(config.policy.maxReplicationLag).toBe(30_000);
  });

  it('accepts a compressed policy in one region but refuses it naming RETENTION in several', () => {
    expect(loadLocalConfig(COMPRESSED).regions).toHaveLength(1);
    // 2 s + 1 s + 1 s + 30 s (the multi-region maxReplicationLag) > 5 s.
    expect(errorOf(() => loadLocalConfig({ ...COMPRESSED, REGIONS: '2' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'RETENTION',
    });
  });

  it('accepts the compressed policy in several regions when MAX_REPLICATION_LAG fits the retention', () => {
    const config = loadLocalConfig({ ...COMPRESSED, REGIONS: '2', MAX_REPLICATION_LAG: '1s' });
    expect(config.policy.maxReplicationLag).toBe(1_000);
    expect(config.replicationLagMs).toBe(1_000);
  });

  it('refuses REPLICATION_LAG above MAX_REPLICATION_LAG naming REPLICATION_LAG', () => {
    expect(
      errorOf(() =>
        loadLocalConfig({ ...COMPRESSED, REGIONS: '2', MAX_REPLICATION_LAG: '1s', REPLICATION_LAG: '2s' }),
      ),
    ).toMatchObject({ code: 'INVALID_CONFIG', variable: 'REPLICATION_LAG' });
  });

  it('refuses MAX_REPLICATION_LAG=0ms naming the variable when there are several regions', () => {
    expect(errorOf(() => loadLocalConfig({ REGIONS: '2', MAX_REPLICATION_LAG: '0ms' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'MAX_REPLICATION_LAG',
    });
  });
});
