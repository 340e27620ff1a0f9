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

  describe('multi-region (ADR 0008)', () => {
    const regions = ['eu-west-1', 'us-east-1'];
    const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
    const entry = (region: string) => ({
      adminRoleArns: [role('rotate'), role('rotate-us-east-1')],
      signerRoleArns: [role(`token-${region}`)],
      readerRoleArns: [role(`publish-${region}`)],
    });
    const policies = (over: Record<string, unknown> = {}) =>
      JSON.stringify({ ...Object.fromEntries(regions.map((r) => [r, entry(r)])), ...over });
    const MULTI_ENV = {
      ...FULL_ENV,
      [ENV.REGIONS]: regions.join(','),
      [ENV.REGION_KEY_POLICIES]: policies(),
      // The token function's own regional URL: its assertion audience (src/token/assertion-audience.ts).
      [ENV.TOKEN_ENDPOINT_URL]: 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod/oauth2/token',
    };
    const ENTRIES = ['rotate', 'publish', 'token'].map((name) => `../../src/handlers/${name}.ts`);

    it.each(ENTRIES)('%s exports a handler when configured for two regions', async (module) => {
      const mod = await coldStart(module, MULTI_ENV);
      expect(typeof mod.handler).toBe('function');
    });

    it.each(ENTRIES)(
      '%s fails its cold start naming REGIONS when its own region is not listed',
      async (module) => {
        await expect(
          coldStart(module, { ...MULTI_ENV, [ENV.REGIONS]: 'us-east-1,ap-southeast-2' }),
        ).rejects.toMatchObject({ code: 'INVALID_CONFIG', variable: ENV.REGIONS });
      },
    );

    it('rotate fails its cold start naming REGION_KEY_POLICIES when it is missing', async () => {
      await expect(
        coldStart('../../src/handlers/rotate.ts', { ...MULTI_ENV, [ENV.REGION_KEY_POLICIES]: undefined }),
      ).rejects.toMatchObject({ code: 'MISSING_CONFIG', variable: ENV.REGION_KEY_POLICIES });
    });

    it.each([
      ['not JSON', '{"eu-west-1":'],
      ['a region missing', JSON.stringify({ 'eu-west-1': entry('eu-west-1') })],
      [
        'a malformed role ARN',
        policies({ 'us-east-1': { ...entry('us-east-1'), signerRoleArns: ['token'] } }),
      ],
      [
        'a region whose replicas this rotate role could not retire',
        policies({ 'us-east-1': { ...entry('us-east-1'), adminRoleArns: [role('rotate-us-east-1')] } }),
      ],
    ])('rotate fails its cold start naming REGION_KEY_POLICIES for %s', async (_what, value) => {
      await expect(
        coldStart('../../src/handlers/rotate.ts', { ...MULTI_ENV, [ENV.REGION_KEY_POLICIES]: value }),
      ).rejects.toMatchObject({ code: 'INVALID_CONFIG', variable: ENV.REGION_KEY_POLICIES });
    });

    it.each(ENTRIES.slice(1))(
      '%s needs no REGION_KEY_POLICIES (it never reaches another region)',
      async (module) => {
        const mod = await coldStart(module, { ...MULTI_ENV, [ENV.REGION_KEY_POLICIES]: undefined });
        expect(typeof mod.handler).toBe('function');
      },
    );

    it('token fails its cold start naming TOKEN_ENDPOINT_URL when two regions lack it', async () => {
      await expect(
        coldStart('../../src/handlers/token.ts', { ...MULTI_ENV, [ENV.TOKEN_ENDPOINT_URL]: undefined }),
      ).rejects.toMatchObject({ code: 'MISSING_CONFIG', variable: ENV.TOKEN_ENDPOINT_URL });
    });

    it('rotate in one region ignores REGION_KEY_POLICIES, as before multi-region existed', async () => {
      const mod = await coldStart('../../src/handlers/rotate.ts', {
        ...FULL_ENV,
        [ENV.REGIONS]: 'eu-west-1',
        [ENV.REGION_KEY_POLICIES]: 'not read',
      });
      expect(typeof mod.handler).toBe('function');
    });
  });
});
