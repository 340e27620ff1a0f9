import { beforeEach, describe, expect, it } from 'vitest';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { publishDiscovery } from '../../src/discovery-publisher.ts';
import { policyOf } from '../support/fixtures.ts';
import { MemoryCdn, MemoryObjectStore } from '../support/memory.ts';

const ISSUER = 'https://auth.example.com';

describe('publishDiscovery', () => {
  let store: MemoryObjectStore;
  let cdn: MemoryCdn;
  const policy = policyOf({ algorithm: 'ES256' });

  beforeEach(() => {
    store = new MemoryObjectStore();
    cdn = new MemoryCdn();
  });

  it('writes both documents with the issuer, jwks_uri and token endpoint when none exist', async () => {
    const result = await publishDiscovery({ store, cdn, policy, issuer: ISSUER });
    expect(result.written).toEqual([PATHS.OAUTH_METADATA, PATHS.OPENID_CONFIGURATION]);
    for (const key of [OBJECT_KEYS.OAUTH_METADATA, OBJECT_KEYS.OPENID_CONFIGURATION]) {
      const doc = JSON.parse(store.text(key) ?? '{}');
      expect(doc).toMatchObject({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}${PATHS.JWKS}`,
        token_endpoint: `${ISSUER}${PATHS.TOKEN}`,
      });
    }
    expect(cdn.invalidations).toEqual([
      { paths: [PATHS.OAUTH_METADATA, PATHS.OPENID_CONFIGURATION], callerReference: expect.any(String) },
    ]);
  });

  it('neither writes nor invalidates when the documents are unchanged', async () => {
    await publishDiscovery({ store, cdn, policy, issuer: ISSUER });
    const puts = store.puts.length;
    const result = await publishDiscovery({ store, cdn, policy, issuer: ISSUER });
    expect(result.written).toEqual([]);
    expect(store.puts).toHaveLength(puts);
    expect(cdn.calls).toHaveLength(1);
  });

  it('rewrites and invalidates only the document that changed when the algorithm changes', async () => {
    await publishDiscovery({ store, cdn, policy, issuer: ISSUER });
    const result = await publishDiscovery({
      store,
      cdn,
      policy: policyOf({ algorithm: 'PS256' }),
      issuer: ISSUER,
    });
    // The RFC 8414 metadata lists every supported algorithm; only the OpenID document names the policy's.
    expect(result.written).toEqual([PATHS.OPENID_CONFIGURATION]);
    expect(cdn.invalidations.at(-1)?.paths).toEqual([PATHS.OPENID_CONFIGURATION]);
  });

  it('starts over when another writer wins the conditional write, and converges', async () => {
    let raced = false;
    store.beforePut = async (input) => {
      if (raced || input.key !== OBJECT_KEYS.OAUTH_METADATA) return;
      raced = true;
      store.beforePut = undefined;
      await publishDiscovery({ store, cdn, policy, issuer: ISSUER });
    };
    await publishDiscovery({ store, cdn, policy, issuer: ISSUER });
    expect(raced).toBe(true);
    expect(JSON.parse(store.text(OBJECT_KEYS.OAUTH_METADATA) ?? '{}').issuer).toBe(ISSUER);
  });

  it('rejects an issuer that is not an https origin', async () => {
    await expect(
      publishDiscovery({ store, cdn, policy, issuer: 'http://auth.example.com/x' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(store.puts).toHaveLength(0);
  });
});
