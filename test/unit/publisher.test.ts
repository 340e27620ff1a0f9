import { createHash, generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { OBJECT_KEYS, OBJECT_METADATA, PATHS } from '../../src/constants.ts';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import { renderJwks } from '../../src/core/jwks.ts';
import { buildCommit } from '../../src/core/transitions.ts';
import type { KeyRecord, PublicJwk } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import { type PublishDeps, publishJwks } from '../../src/publisher.ts';
import { appendRevocation } from '../../src/revocations.ts';
import { SimulatedCrash } from '../support/faults.ts';
import { keyRecord, MINUTE, policyOf, snapshotOf, T0 } from '../support/fixtures.ts';
import { Faults, MemoryCdn, MemoryKeyVault, MemoryObjectStore, MemoryRegistry } from '../support/memory.ts';
import { backedRecord } from '../support/memory-vault.ts';

const policy = policyOf({ jwksMaxAge: '120s' });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let faults: Faults;
let registry: MemoryRegistry;
let store: MemoryObjectStore;
let cdn: MemoryCdn;
let vault: MemoryKeyVault;
let deps: PublishDeps;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  faults = new Faults();
  vault = new MemoryKeyVault({ faults });
  registry = new MemoryRegistry({
    faults,
    snapshot: snapshotOf(
      [
        await backedRecord(vault, 'a', 'ACTIVE', { activatedAt: T0, publishedAt: T0 - MINUTE }),
        await backedRecord(vault, 'p', 'PENDING'),
      ],
      {},
      3,
    ),
  });
  store = new MemoryObjectStore({ faults });
  cdn = new MemoryCdn({ faults });
  deps = { registry, store, cdn, policy, vault };
});

const stored = () => store.text(OBJECT_KEYS.JWKS);
const record = (ref: string) => registry.snapshot().keys.find((k) => k.keyRef === ref);

describe('publishJwks', () => {
  it('writes the rendered set with If-None-Match: * and its headers when nothing is stored', async () => {
    const put = vi.spyOn(store, 'put');
    const result = await publishJwks(deps, Date.now());
    const body = renderJwks(registry.snapshot().keys, new Set()).body;
    expect(stored()).toBe(body);
    expect(put.mock.calls[0]?.[0]).toMatchObject({
      key: OBJECT_KEYS.JWKS,
      contentType: 'application/json',
      cacheControl: 'public, max-age=120, stale-if-error=120',
      metadata: { [OBJECT_METADATA.REGISTRY_VERSION]: '3', [OBJECT_METADATA.BODY_SHA256]: sha(body) },
      ifNoneMatch: '*',
    });
    expect(put.mock.calls[0]?.[0].ifMatch).toBeUndefined();
    expect(result).toMatchObject({
      written: true,
      invalidated: true,
      registryVersion: 3,
      sha256: sha(body),
      marked: ['p'],
    });
    expect(cdn.invalidations).toEqual([{ paths: [PATHS.JWKS], callerReference: `3-${sha(body)}` }]);
  });

  it('overwrites with If-Match on the stored ETag when the registry changed', async () => {
    await publishJwks(deps, T0);
    const etag = (await store.head(OBJECT_KEYS.JWKS))?.etag;
    const snap = await registry.read();
    await registry.commit(
      buildCommit(snap, { type: 'activate', keyRef: 'p' }, T0 + 1, { changedBy: 't', reason: 'r' }),
    );
    const put = vi.spyOn(store, 'put');
    const result = await publishJwks(deps, T0 + 2);
    expect(put.mock.calls[0]?.[0]).toMatchObject({ ifMatch: etag });
    expect(put.mock.calls[0]?.[0].ifNoneMatch).toBeUndefined();
    expect(result).toMatchObject({ written: true, registryVersion: 4 });
    expect(cdn.invalidations).toHaveLength(2);
  });

  it('neither writes nor invalidates when the bytes are unchanged', async () => {
    await publishJwks(deps, T0);
    const puts = store.puts.length;
    const calls = cdn.calls.length;
    const result = await publishJwks(deps, T0 + MINUTE);
    expect(result).toMatchObject({ written: false, skipped: 'unchanged', invalidated: false, marked: [] });
    expect(store.puts).toHaveLength(puts);
    expect(cdn.calls).toHaveLength(calls);
  });

  it('neither writes nor marks when the stored set is from a newer registry version', async () => {
    await publishJwks(deps, T0);
    const before = stored();
    // A point-in-time restore takes the registry back to version 1, with a key never published.
    registry.restore(
      snapshotOf([await backedRecord(vault, 'old', 'ACTIVE', { activatedAt: T0 - 99 })], {}, 1),
    );
    const result = await publishJwks(deps, T0 + MINUTE);
    expect(result).toMatchObject({ written: false, skipped: 'stored-newer', marked: [] });
    expect(stored()).toBe(before);
    expect(record('old')?.publishedAt).toBeUndefined();
  });

  it('overwrites a newer stored set only when forced, after a point-in-time restore', async () => {
    await publishJwks(deps, T0);
    registry.restore(
      snapshotOf([await backedRecord(vault, 'old', 'ACTIVE', { activatedAt: T0 - 99 })], {}, 1),
    );
    const result = await publishJwks(deps, T0 + MINUTE, { force: true });
    expect(result).toMatchObject({ written: true, invalidated: true, registryVersion: 1 });
    expect(JSON.parse(stored() ?? '{}').keys.map((k: { kid: string }) => k.kid)).toEqual([
      record('old')?.kid,
    ]);
  });

  it('starts over and converges when another writer wins the conditional write', async () => {
    await publishJwks(deps, T0);
    const snap = await registry.read();
    await registry.commit(
      buildCommit(snap, { type: 'activate', keyRef: 'p' }, T0 + 1, { changedBy: 't', reason: 'r' }),
    );
    let raced = false;
    store.beforePut = async () => {
      if (raced) return;
      raced = true;
      store.beforePut = undefined;
      // A slower publisher from the previous version rewrites the object between our HEAD and PUT.
      await store.put({
        key: OBJECT_KEYS.JWKS,
        body: new TextEncoder().encode('{"keys":[]}'),
        contentType: 'application/json',
        metadata: { [OBJECT_METADATA.REGISTRY_VERSION]: '3' },
      });
    };
    const result = await publishJwks(deps, T0 + 2);
    expect(result).toMatchObject({ written: true, attempts: 2, registryVersion: 4 });
    expect(stored()).toBe(renderJwks(registry.snapshot().keys, new Set()).body);
  });

  it('throws PRECONDITION_FAILED after the bounded attempts when the object keeps changing', async () => {
    let n = 0;
    store.beforePut = async (input) => {
      if (input.metadata?.[OBJECT_METADATA.REGISTRY_VERSION] === 'other') return;
      // Different bytes every time, so the ETag we read is always stale by the time we write.
      n += 1;
      await store.put({
        key: OBJECT_KEYS.JWKS,
        body: new Uint8Array([n]),
        contentType: 'x',
        metadata: { [OBJECT_METADATA.REGISTRY_VERSION]: 'other' },
      });
    };
    let err: unknown;
    try {
      await publishJwks({ ...deps, maxAttempts: 3 }, T0);
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'PRECONDITION_FAILED')).toBe(true);
    expect(cdn.calls).toEqual([]);
  });

  it('never publishes a kid on the revocation list, even when the restored registry says ACTIVE', async () => {
    const kid = record('a')?.kid as string;
    await appendRevocation(store, { kid, revokedAt: T0, reason: 'leak', changedBy: 'cli:ops' });
    const result = await publishJwks(deps, T0);
    expect(result.kids).not.toContain(kid);
    expect(stored()).not.toContain(kid);
    expect(result.kids).toEqual([record('p')?.kid]);
  });

  it('rewrites the same registry version when a revocation changed the bytes', async () => {
    await publishJwks(deps, T0);
    const kid = record('p')?.kid as string;
    await appendRevocation(store, { kid, revokedAt: T0, reason: 'leak', changedBy: 'cli:ops' });
    const result = await publishJwks(deps, T0 + 1);
    expect(result).toMatchObject({ written: true, registryVersion: 3 });
    expect(stored()).not.toContain(kid);
  });

  it('records publishedAt only after the invalidation was requested', async () => {
    await publishJwks(deps, T0 + 5);
    const invalidated = faults.calls.indexOf('cdn.invalidate');
    const marked = faults.calls.indexOf('registry.markPublished');
    expect(invalidated).toBeGreaterThan(faults.calls.indexOf('store.put'));
    expect(marked).toBeGreaterThan(invalidated);
    expect(record('p')?.publishedAt).toBe(T0 + 5);
    expect(record('a')?.publishedAt).toBe(T0 - MINUTE);
  });

  it('propagates an invalidation failure and leaves publishedAt unset', async () => {
    cdn.failures = 1;
    let err: unknown;
    try {
      await publishJwks(deps, T0);
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'INVALIDATION_FAILED')).toBe(true);
    expect(record('p')?.publishedAt).toBeUndefined();
    // The next run finds the bytes stored, repeats the same invalidation request, then marks.
    const result = await publishJwks(deps, T0 + MINUTE);
    expect(result).toMatchObject({ written: false, skipped: 'unchanged', invalidated: true, marked: ['p'] });
    expect(cdn.calls.map((c) => c.callerReference)).toEqual([
      cdn.calls[0]?.callerReference,
      cdn.calls[0]?.callerReference,
    ]);
    expect(record('p')?.publishedAt).toBe(T0 + MINUTE);
  });

  it('uses the clock after invalidation for publishedAt when one is given', async () => {
    await publishJwks({ ...deps, clock: () => T0 + 42 }, T0);
    expect(record('p')?.publishedAt).toBe(T0 + 42);
  });
});

/** A key pair nobody's vault holds: what someone who can only write the table would bring. */
const foreignJwk = (): Promise<PublicJwk> =>
  publicJwkFromKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'ES256');

async function addRecord(r: KeyRecord): Promise<void> {
  const snap = registry.snapshot();
  registry.restore({ ...snap, keys: [...snap.keys, r] });
}

const servedKids = () =>
  (JSON.parse(stored() ?? '{"keys":[]}').keys as Array<{ kid: string }>).map((k) => k.kid);

describe('publishJwks: only keys the vault backs (design §11)', () => {
  it('leaves out a RETIRED record with a fresh JWK and no vault key, reports it, and publishes the others', async () => {
    const jwk = await foreignJwk();
    await addRecord(
      keyRecord('evil', 'RETIRED', { kid: jwk.kid, publicJwk: jwk, vaultKeyId: 'vault-nowhere' }),
    );
    const errors: unknown[] = [];
    const log = { info() {}, warn() {}, error: (_m: string, extra: unknown) => errors.push(extra) };
    const result = await publishJwks({ ...deps, log }, T0);
    expect(servedKids()).toEqual([record('a')?.kid, record('p')?.kid]);
    expect(result.unverified).toEqual([
      {
        keyRef: 'evil',
        status: 'RETIRED',
        kid: jwk.kid,
        vaultKeyId: 'vault-nowhere',
        failure: 'NOT_IN_VAULT',
      },
    ]);
    expect(errors).toEqual([expect.objectContaining({ keyRef: 'evil', failure: 'NOT_IN_VAULT' })]);
    expect(JSON.stringify(errors)).not.toContain((jwk as { x: string }).x);
  });

  it('leaves out a real key whose publicJwk was tampered with, and never marks it published', async () => {
    const p = record('p') as KeyRecord;
    const tampered = { ...p.publicJwk, x: ((await foreignJwk()) as { x: string }).x } as PublicJwk;
    registry.restore({
      ...registry.snapshot(),
      keys: registry.snapshot().keys.map((k) => (k.keyRef === 'p' ? { ...k, publicJwk: tampered } : k)),
    });
    const result = await publishJwks(deps, T0);
    expect(result.kids).toEqual([record('a')?.kid]);
    expect(result.unverified.map((u) => [u.keyRef, u.failure])).toEqual([['p', 'KEY_MISMATCH']]);
    expect(stored()).not.toContain(tampered.kty === 'EC' ? tampered.x : '');
    expect(record('p')?.publishedAt).toBeUndefined();
  });

  it('leaves out a record naming our real key with a foreign JWK, and one naming another deployment key', async () => {
    const jwk = await foreignJwk();
    const a = record('a') as KeyRecord;
    await addRecord(keyRecord('copy', 'PENDING', { kid: jwk.kid, publicJwk: jwk, vaultKeyId: a.vaultKeyId }));
    const other = vault.addOtherDeploymentKey({ keyRef: 'theirs' });
    const theirs = await vault.getPublicJwk(other, 'ES256');
    await addRecord(
      keyRecord('theirs', 'RETIRED', { kid: theirs.kid, publicJwk: theirs, vaultKeyId: other }),
    );
    const result = await publishJwks(deps, T0);
    expect(result.kids).toEqual([a.kid, record('p')?.kid]);
    expect(Object.fromEntries(result.unverified.map((u) => [u.keyRef, u.failure]))).toEqual({
      copy: 'OTHER_KEY_REF',
      theirs: 'NOT_THIS_DEPLOYMENT',
    });
  });

  it('writes nothing when only an unverified record was added: the document is the same bytes', async () => {
    await publishJwks(deps, T0);
    const puts = store.puts.length;
    const p = record('p') as KeyRecord;
    // Same kid as a real key, higher rank, another public key: it must not displace the real one.
    const forged = { ...p.publicJwk, x: ((await foreignJwk()) as { x: string }).x } as PublicJwk;
    await addRecord({ ...p, keyRef: 'forged', status: 'ACTIVE', publicJwk: forged, createdAt: T0 + 1 });
    const result = await publishJwks(deps, T0 + 1);
    expect(result).toMatchObject({ written: false, skipped: 'unchanged' });
    expect(store.puts).toHaveLength(puts);
    expect(result.unverified.map((u) => u.keyRef)).toEqual(['forged']);
  });

  it('keeps a RETIRED key whose vault key is disabled when the earlier JWKS carried it, even in a new process', async () => {
    await publishJwks(deps, T0);
    const a = record('a') as KeyRecord;
    await vault.disableKey(a.vaultKeyId as string);
    registry.restore({
      ...registry.snapshot(),
      keys: registry
        .snapshot()
        .keys.map((k) => (k.keyRef === 'a' ? { ...k, status: 'RETIRED' as const } : k)),
    });
    // A cold container: a vault client that has cached nothing (answers are cached per vault object).
    const cold = { describeKey: (id: string) => vault.describeKey(id) };
    const result = await publishJwks({ ...deps, vault: cold }, T0 + 1);
    expect(result.kids).toEqual([record('p')?.kid, a.kid]);
    expect(result.unverified).toEqual([]);
  });

  it('leaves out a disabled key no earlier JWKS carried: UNPROVABLE', async () => {
    const late = await backedRecord(vault, 'late', 'RETIRED');
    await vault.disableKey(late.vaultKeyId as string);
    await addRecord(late);
    const result = await publishJwks(deps, T0);
    expect(result.kids).not.toContain(late.kid);
    expect(result.unverified.map((u) => [u.keyRef, u.failure])).toEqual([['late', 'UNPROVABLE']]);
  });

  it('asks the vault once per key across runs, and again after an answer that was not complete', async () => {
    await publishJwks(deps, T0);
    await publishJwks(deps, T0 + 1);
    expect(faults.calls.filter((c) => c === 'vault.describeKey')).toHaveLength(2);
  });

  it('writes nothing when the vault cannot be asked (throttled): never a document without its answer', async () => {
    faults.crash('vault.describeKey');
    await expect(publishJwks(deps, T0)).rejects.toThrow(SimulatedCrash);
    expect(store.puts).toHaveLength(0);
    expect(cdn.calls).toEqual([]);
  });
});
