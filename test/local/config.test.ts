import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, loadLocalConfig } from '../../src/local/config.ts';

const errorOf = (fn: () => unknown): { code?: string; variable?: string } => {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; variable?: string };
  }
  throw new Error('expected an error');
};

const COMPRESSED = {
  JWKS_MAX_AGE: '1s',
  PREPUBLISH_LEAD: '3s',
  ROTATION_PERIOD: '6s',
  MAX_TOKEN_TTL: '2s',
  CLOCK_SKEW: '1s',
  SIGNER_CACHE_TTL: '1s',
  RETENTION: '5s',
};

describe('loadLocalConfig', () => {
  it('uses port 8787, ./.jwks-data and the default policy when nothing is set', () => {
    const config = loadLocalConfig({});
    expect(config.port).toBe(DEFAULT_PORT);
    expect(config.dataDir).toBe(resolve('.jwks-data'));
    expect(config.policy.rotationPeriod).toBe(30 * 86_400_000);
  });

  it('reconciles once a minute with the default policy, not every few seconds', () => {
    expect(loadLocalConfig({}).reconcileIntervalMs).toBe(60_000);
  });

  it('reconciles at a quarter of the shortest lifecycle duration when durations are compressed', () => {
    expect(loadLocalConfig(COMPRESSED).reconcileIntervalMs).toBe(750);
  });

  it('takes RECONCILE_INTERVAL over the computed interval and names it when malformed', () => {
    expect(loadLocalConfig({ RECONCILE_INTERVAL: '10s' }).reconcileIntervalMs).toBe(10_000);
    expect(errorOf(() => loadLocalConfig({ RECONCILE_INTERVAL: 'often' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'RECONCILE_INTERVAL',
    });
  });

  it.each(['-1', '65536', 'http', '80.5'])('rejects PORT=%s naming the variable', (port) => {
    expect(errorOf(() => loadLocalConfig({ PORT: port }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'PORT',
    });
  });

  it('names the environment variable of the policy setting that broke a rule', () => {
    expect(errorOf(() => loadLocalConfig({ PREPUBLISH_LEAD: '1m' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'PREPUBLISH_LEAD',
    });
    expect(errorOf(() => loadLocalConfig({ ALGORITHM: 'HS256' }))).toMatchObject({ variable: 'ALGORITHM' });
  });

  it('returns the lead warning for a lead under 24 hours', () => {
    expect(loadLocalConfig(COMPRESSED).warnings.join(' ')).toMatch(/24h/);
  });
});
