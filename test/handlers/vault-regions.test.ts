import { describe, expect, it } from 'vitest';
import { ENV } from '../../src/constants.ts';
import { ownRegionVault, replicatingVault } from '../../src/handlers/vault-regions.ts';

const ACCOUNT = '123456789012';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];
const ADMIN = { adminRoleArn: role('rotate-eu-west-1'), accountId: ACCOUNT, partition: 'aws' };
const POLICIES = JSON.stringify(
  Object.fromEntries(
    REGIONS.map((r) => [
      r,
      {
        adminRoleArns: REGIONS.map((a) => role(`rotate-${a}`)),
        signerRoleArns: [role(`token-${r}`)],
        readerRoleArns: [role(`publish-${r}`)],
      },
    ]),
  ),
);
const env = (over: Record<string, string> = {}) => ({
  [ENV.REGION]: 'eu-west-1',
  [ENV.REGIONS]: REGIONS.join(','),
  [ENV.REGION_KEY_POLICIES]: POLICIES,
  ...over,
});

describe('replicatingVault (the rotate function)', () => {
  it("builds one KMS client per other region, each with that region's key policy", async () => {
    const options = replicatingVault(env(), ADMIN);
    expect(options?.region).toBe('eu-west-1');
    expect(options?.keyPolicy?.signerRoleArns).toEqual([role('token-eu-west-1')]);
    const replicas = options?.replicas ?? [];
    expect(replicas.map((r) => r.region)).toEqual(['us-east-1', 'ap-southeast-2']);
    for (const replica of replicas) {
      expect(await replica.kms.config.region()).toBe(replica.region);
      expect(replica.keyPolicy.signerRoleArns).toEqual([role(`token-${replica.region}`)]);
      expect(replica.keyPolicy.adminRoleArns).toHaveLength(3);
      expect(replica.keyPolicy.accountId).toBe(ACCOUNT);
    }
  });

  it('is undefined in a single-region deployment, whatever REGION_KEY_POLICIES holds', () => {
    expect(replicatingVault(env({ [ENV.REGIONS]: '' }), ADMIN)).toBeUndefined();
    expect(
      replicatingVault(env({ [ENV.REGIONS]: 'eu-west-1', [ENV.REGION_KEY_POLICIES]: '[' }), ADMIN),
    ).toBeUndefined();
  });
});

describe('ownRegionVault (the publisher and the token function)', () => {
  it('names only its own region in several regions, and nothing in one', () => {
    expect(ownRegionVault(env({ [ENV.REGION]: 'us-east-1' }))).toEqual({ region: 'us-east-1' });
    expect(ownRegionVault(env({ [ENV.REGIONS]: '' }))).toEqual({});
  });

  it('throws INVALID_CONFIG naming REGIONS for a region name that is not one', () => {
    expect(() => ownRegionVault(env({ [ENV.REGIONS]: 'eu-west-1,Mars' }))).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: ENV.REGIONS }),
    );
  });
});
