import { describe, expect, it } from 'vitest';
import { ENV } from '../../src/constants.ts';
import { policyFromEnv, regionsFromEnv } from '../../src/regions-env.ts';

const TWO = { [ENV.REGIONS]: 'eu-west-1, us-east-1', [ENV.REGION]: 'us-east-1' };

describe('regionsFromEnv', () => {
  it('is undefined without REGIONS or with one region', () => {
    expect(regionsFromEnv({ [ENV.REGION]: 'eu-west-1' })).toBeUndefined();
    expect(regionsFromEnv({ [ENV.REGIONS]: 'eu-west-1', [ENV.REGION]: 'eu-west-1' })).toBeUndefined();
  });

  it('reads the list, trimmed, and this function’s region', () => {
    expect(regionsFromEnv(TWO)).toEqual({ region: 'us-east-1', regions: ['eu-west-1', 'us-east-1'] });
  });

  it('fails the cold start with INVALID_CONFIG naming REGIONS when this region is not listed', () => {
    expect(() => regionsFromEnv({ ...TWO, [ENV.REGION]: 'ap-south-1' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: ENV.REGIONS }),
    );
  });
});

describe('policyFromEnv', () => {
  it('adds the 30 s replication lag across regions and nothing in one region', () => {
    expect(policyFromEnv({}).policy.maxReplicationLag).toBe(0);
    expect(policyFromEnv(TWO).policy.maxReplicationLag).toBe(30_000);
  });

  it('rejects, across regions only, a retention that ignores replication lag', () => {
    const tight = {
      [ENV.MAX_TOKEN_TTL]: '1h',
      [ENV.CLOCK_SKEW]: '5m',
      [ENV.SIGNER_CACHE_TTL]: '5s',
      [ENV.RETENTION]: '3905s',
    };
    expect(policyFromEnv(tight).policy.retention).toBe(3_905_000);
    expect(() => policyFromEnv({ ...tight, ...TWO })).toThrow(
      expect.objectContaining({ code: 'INVALID_POLICY', setting: 'retention' }),
    );
  });
});
