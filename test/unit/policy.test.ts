import { describe, expect, it } from 'vitest';
import { POLICY_ENV } from '../../src/constants.ts';
import { DEFAULT_POLICY, parsePolicy, policyInputFromEnv } from '../../src/core/policy.ts';
import type { PolicyInput } from '../../src/core/types.ts';
import { PolicyError } from '../../src/errors.ts';

const H = 3_600_000;
const D = 24 * H;

function policyError(input: PolicyInput): PolicyError {
  try {
    parsePolicy(input);
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('parsePolicy accepted the input');
}

describe('parsePolicy', () => {
  it('returns the design defaults when given nothing', () => {
    const { policy, warnings } = parsePolicy({});
    expect(policy).toEqual({
      rotationPeriod: 30 * D,
      prepublishLead: 7 * D,
      retention: D,
      maxTokenTtl: H,
      clockSkew: 5 * 60_000,
      signerCacheTtl: 5000,
      jwksMaxAge: 300_000,
      cdnMaxTtl: 300_000,
      algorithm: 'RS256',
      kmsDeletionWindowDays: 30,
      intentTimeout: 15 * 60_000,
      maxReplicationLag: 0,
    });
    expect(policy).toEqual(DEFAULT_POLICY);
    expect(warnings).toEqual([]);
  });

  it('defaults cdnMaxTtl to jwksMaxAge when only jwksMaxAge is given', () => {
    expect(parsePolicy({ jwksMaxAge: '600s' }).policy.cdnMaxTtl).toBe(600_000);
  });

  it('accepts every supported algorithm', () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'ES384']) {
      expect(parsePolicy({ algorithm: alg }).policy.algorithm).toBe(alg);
    }
  });

  it.each([['HS256'], ['none'], ['rs256'], ['EdDSA']])('rejects algorithm %s', (algorithm) => {
    const err = policyError({ algorithm });
    expect(err.code).toBe('INVALID_POLICY');
    expect(err.setting).toBe('algorithm');
  });

  it('names the setting when a duration is malformed', () => {
    const err = policyError({ retention: '1 day' });
    expect(err.code).toBe('INVALID_POLICY');
    expect(err.setting).toBe('retention');
    expect((err.cause as { code?: string }).code).toBe('INVALID_DURATION');
  });

  it.each([
    'rotationPeriod',
    'prepublishLead',
    'retention',
    'maxTokenTtl',
    'jwksMaxAge',
    'cdnMaxTtl',
    'intentTimeout',
  ] as const)('rejects a zero %s', (setting) => {
    expect(policyError({ [setting]: '0s' }).setting).toBe(setting);
  });

  it('allows zero clockSkew and signerCacheTtl', () => {
    const { policy } = parsePolicy({ clockSkew: '0s', signerCacheTtl: 0 });
    expect(policy.clockSkew).toBe(0);
    expect(policy.signerCacheTtl).toBe(0);
  });

  it('rejects a jwksMaxAge that is not whole seconds', () => {
    expect(policyError({ jwksMaxAge: '1500ms' }).setting).toBe('jwksMaxAge');
    expect(policyError({ cdnMaxTtl: '300500ms' }).setting).toBe('cdnMaxTtl');
  });

  it('rejects a lead shorter than 2 × jwksMaxAge + cdnMaxTtl', () => {
    // 2 × 1h + 1h = 3h; 2h59m59s is one second short.
    const base = { jwksMaxAge: '1h', cdnMaxTtl: '1h' };
    expect(policyError({ ...base, prepublishLead: `${3 * 3600 - 1}s` }).setting).toBe('prepublishLead');
    expect(parsePolicy({ ...base, prepublishLead: '3h' }).policy.prepublishLead).toBe(3 * H);
  });

  it('counts cdnMaxTtl separately in the lead rule when it exceeds max-age', () => {
    expect(policyError({ jwksMaxAge: '300s', cdnMaxTtl: '365d', prepublishLead: '7d' }).setting).toBe(
      'prepublishLead',
    );
  });

  it('rejects a lead longer than the rotation period', () => {
    expect(policyError({ rotationPeriod: '7d', prepublishLead: '8d' }).setting).toBe('prepublishLead');
    expect(parsePolicy({ rotationPeriod: '7d', prepublishLead: '7d' }).policy.prepublishLead).toBe(7 * D);
  });

  it('rejects a retention shorter than maxTokenTtl + clockSkew + signerCacheTtl + maxReplicationLag', () => {
    const base = { maxTokenTtl: '1h', clockSkew: '5m', signerCacheTtl: '5s', maxReplicationLag: '30s' };
    expect(policyError({ ...base, retention: `${3600 + 300 + 5 + 29}s` }).setting).toBe('retention');
    expect(parsePolicy({ ...base, retention: `${3600 + 300 + 5 + 30}s` }).policy.retention).toBe(
      (3600 + 335) * 1000,
    );
  });

  it('defaults maxReplicationLag to 0 in one region and to 30s across regions', () => {
    const base = { maxTokenTtl: '1h', clockSkew: '5m', signerCacheTtl: '5s', retention: `${3600 + 305}s` };
    expect(parsePolicy(base).policy.maxReplicationLag).toBe(0);
    // The same retention is too short once a replica region may learn of a retirement 30 s late.
    const err = (() => {
      try {
        parsePolicy(base, { multiRegion: true });
      } catch (e) {
        return e as PolicyError;
      }
    })();
    expect(err).toMatchObject({ code: 'INVALID_POLICY', setting: 'retention' });
    expect(parsePolicy({ ...base, retention: '3935s' }, { multiRegion: true }).policy.maxReplicationLag).toBe(
      30_000,
    );
  });

  it('rejects a zero or malformed maxReplicationLag across regions', () => {
    const base = { retention: '1d' };
    expect(policyError({ ...base, maxReplicationLag: 'soon' }).setting).toBe('maxReplicationLag');
    expect(() => parsePolicy({ ...base, maxReplicationLag: '0s' }, { multiRegion: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_POLICY', setting: 'maxReplicationLag' }),
    );
  });

  it('reads the KMS deletion window as days when given a number, digits or a day duration', () => {
    expect(parsePolicy({ kmsDeletionWindow: 7 }).policy.kmsDeletionWindowDays).toBe(7);
    expect(parsePolicy({ kmsDeletionWindow: '14' }).policy.kmsDeletionWindowDays).toBe(14);
    expect(parsePolicy({ kmsDeletionWindow: '30d' }).policy.kmsDeletionWindowDays).toBe(30);
  });

  it.each([6, 31, '6d', '31d', '7.5', '170h', 'soon'])(
    'rejects a KMS deletion window of %j',
    (kmsDeletionWindow) => {
      expect(policyError({ kmsDeletionWindow }).setting).toBe('kmsDeletionWindow');
    },
  );

  it('warns and says why when the lead is under 24h', () => {
    const { warnings } = parsePolicy({ prepublishLead: '12h' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Microsoft\.IdentityModel/);
    expect(warnings[0]).toMatch(/API Gateway/);
    expect(parsePolicy({ prepublishLead: '24h' }).warnings).toEqual([]);
  });
});

describe('policyInputFromEnv', () => {
  it('maps each policy variable to its setting when set', () => {
    const env = {
      [POLICY_ENV.rotationPeriod]: '10d',
      [POLICY_ENV.prepublishLead]: ' 2d ',
      [POLICY_ENV.algorithm]: 'ES256',
      [POLICY_ENV.kmsDeletionWindow]: '7',
      [POLICY_ENV.retention]: '',
      UNRELATED: 'x',
    };
    expect(policyInputFromEnv(env)).toEqual({
      rotationPeriod: '10d',
      prepublishLead: '2d',
      algorithm: 'ES256',
      kmsDeletionWindow: '7',
    });
  });

  it('feeds parsePolicy so an environment policy is validated like any other', () => {
    const { policy } = parsePolicy(policyInputFromEnv({ [POLICY_ENV.jwksMaxAge]: '60s' }));
    expect(policy.jwksMaxAge).toBe(60_000);
    expect(policy.cdnMaxTtl).toBe(60_000);
  });
});
