import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../src/constants.ts';

const FULL_ENV: Record<string, string> = {
  [ENV.TABLE_NAME]: 'registry',
  [ENV.BUCKET_NAME]: 'bucket',
  [ENV.DISTRIBUTION_ID]: 'E123',
  [ENV.DEPLOYMENT_NAME]: 'prod',
  [ENV.ISSUER]: 'https://d111111abcdef8.cloudfront.net',
  [ENV.KEY_ADMIN_ROLE_ARN]: 'arn:aws:iam::123456789012:role/rotate',
  AWS_REGION: 'eu-west-1',
};

/** Import a handler module fresh (a cold start) with exactly this environment. */
async function coldStart(module: string, env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const name of [...Object.values(ENV), 'AWS_REGION']) vi.stubEnv(name, env[name] ?? '');
  return import(module);
}

describe('Lambda entry points', () => {
  beforeEach(() => vi.unstubAllEnvs());
  afterEach(() => vi.unstubAllEnvs());

  it.each([
    ['../../src/handlers/rotate.ts', ENV.TABLE_NAME],
    ['../../src/handlers/rotate.ts', ENV.KEY_ADMIN_ROLE_ARN],
    ['../../src/handlers/rotate.ts', ENV.BUCKET_NAME],
    ['../../src/handlers/publish.ts', ENV.DISTRIBUTION_ID],
    ['../../src/handlers/publish.ts', ENV.BUCKET_NAME],
    ['../../src/handlers/publish.ts', ENV.ISSUER],
  ])('%s fails its cold start naming %s when it is missing', async (module, missing) => {
    await expect(coldStart(module, { ...FULL_ENV, [missing]: undefined })).rejects.toMatchObject({
      code: 'MISSING_CONFIG',
      variable: missing,
    });
  });

  it('rejects an invalid policy at cold start with the setting named', async () => {
    await expect(
      coldStart('../../src/handlers/publish.ts', { ...FULL_ENV, [ENV.PREPUBLISH_LEAD]: '1m' }),
    ).rejects.toMatchObject({ code: 'INVALID_POLICY', setting: 'prepublishLead' });
  });

  it.each(['../../src/handlers/rotate.ts', '../../src/handlers/publish.ts'])(
    '%s exports a handler when configured',
    async (module) => {
      const mod = await coldStart(module, FULL_ENV);
      expect(typeof mod.handler).toBe('function');
    },
  );
});
