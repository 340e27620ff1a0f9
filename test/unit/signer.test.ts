import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Algorithm, PublicJwk, RegistryState } from '../../src/core/types.ts';
import { KeyUnusableError } from '../../src/errors.ts';
import { Signer } from '../../src/signer.ts';

const TTL = 5_000;

/**
 * An in-memory vault that really signs (ES256/RS256) and refuses disabled keys like KMS. Its public
 * keys have the kid the test names (`vault-x` → `kid-x` unless told), so STATE can agree or not.
 */
class FakeVault {
  readonly keys = new Map<
    string,
    { alg: Algorithm; kid: string; privateKey: KeyObject; publicKey: KeyObject }
  >();
  readonly disabled = new Set<string>();
  calls: string[] = [];
  publicKeyReads: string[] = [];
  failWith: Error | undefined;
  publicKeyFailure: Error | undefined;

  add(vaultKeyId: string, alg: 'ES256' | 'RS256', kid = vaultKeyId.replace(/^vault-/, 'kid-')) {
    const pair =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.keys.set(vaultKeyId, { alg, kid, ...pair });
    return pair.publicKey;
  }

  async getPublicJwk(vaultKeyId: string, alg: Algorithm): Promise<PublicJwk> {
    this.publicKeyReads.push(vaultKeyId);
    if (this.publicKeyFailure) throw this.publicKeyFailure;
    const key = this.keys.get(vaultKeyId);
    if (!key || this.disabled.has(vaultKeyId)) throw new KeyUnusableError(`${vaultKeyId} is disabled`);
    const jwk = key.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    return { kty: 'EC', kid: key.kid, use: 'sig', alg, crv: 'P-256', x: String(jwk.x), y: String(jwk.y) };
  }

  async sign(vaultKeyId: string, alg: Algorithm, input: Uint8Array): Promise<Uint8Array> {
    this.calls.push(vaultKeyId);
    if (this.failWith) throw this.failWith;
    const key = this.keys.get(vaultKeyId);
    if (!key || this.disabled.has(vaultKeyId)) throw new KeyUnusableError(`${vaultKeyId} is disabled`);
    expect(alg).toBe(key.alg);
    return new Uint8Array(sign('sha256', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }));
  }
}

/** A registry whose STATE the test sets; counts reads; can hold reads open. */
class FakeRegistry {
  state: RegistryState = { registryVersion: 0 };
  reads = 0;
  gate: Promise<void> | undefined;
  async readState(): Promise<RegistryState> {
    this.reads++;
    const snapshot = this.state;
    if (this.gate) await this.gate;
    return snapshot;
  }
  activate(kid: string, vaultKeyId: string, alg: Algorithm = 'ES256') {
    this.state = {
      registryVersion: this.state.registryVersion + 1,
      activeKid: kid,
      activeAlg: alg,
      activeVaultKeyId: vaultKeyId,
    };
  }
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

describe('Signer', () => {
  let vault: FakeVault;
  let registry: FakeRegistry;
  let signer: Signer;
  let publicA: KeyObject;
  let publicB: KeyObject;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    vault = new FakeVault();
    registry = new FakeRegistry();
    publicA = vault.add('vault-a', 'ES256');
    publicB = vault.add('vault-b', 'ES256');
    registry.activate('kid-a', 'vault-a');
    signer = new Signer({ registry, vault, cacheTtlMs: TTL });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('signs a JWT with the ACTIVE key that jose verifies, header alg/kid/typ', async () => {
    const rsaPublic = vault.add('vault-rsa', 'RS256');
    registry.activate('kid-rsa', 'vault-rsa', 'RS256');
    const result = await signer.sign({ sub: 'svc', n: 1 });
    expect(result).toMatchObject({ kid: 'kid-rsa', alg: 'RS256' });
    expect(decodeProtectedHeader(result.token)).toEqual({ alg: 'RS256', kid: 'kid-rsa', typ: 'JWT' });
    const { payload } = await jwtVerify(result.token, rsaPublic, { currentDate: new Date() });
    expect(payload).toEqual({ sub: 'svc', n: 1 });
  });

  it('uses the typ it is given', async () => {
    const { token } = await signer.sign({}, { typ: 'at+jwt' });
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    await jwtVerify(token, publicA, { typ: 'at+jwt' });
  });

  it('reads STATE once per TTL and picks up a new ACTIVE key after it', async () => {
    await signer.sign({});
    await signer.sign({});
    registry.activate('kid-b', 'vault-b');
    vi.advanceTimersByTime(TTL - 1);
    expect((await signer.sign({})).kid).toBe('kid-a');
    expect(registry.reads).toBe(1);
    vi.advanceTimersByTime(1);
    const { kid, token } = await signer.sign({});
    expect(kid).toBe('kid-b');
    await jwtVerify(token, publicB);
    expect(registry.reads).toBe(2);
  });

  it('shares one STATE read between concurrent callers', async () => {
    let open!: () => void;
    registry.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const pending = Array.from({ length: 5 }, () => signer.sign({}));
    open();
    const results = await Promise.all(pending);
    expect(results.map((r) => r.kid)).toEqual(Array(5).fill('kid-a'));
    expect(registry.reads).toBe(1);
  });

  it('re-reads STATE and retries once with the new key when the vault refuses the cached one', async () => {
    await signer.sign({});
    registry.activate('kid-b', 'vault-b'); // emergency revoke: B promoted, A disabled
    vault.disabled.add('vault-a');
    const { kid, token } = await signer.sign({});
    expect(kid).toBe('kid-b');
    await jwtVerify(token, publicB);
    expect(registry.reads).toBe(2);
    expect(vault.calls).toEqual(['vault-a', 'vault-a', 'vault-b']);
  });

  it('retries only once: KEY_UNUSABLE when the new key is refused too', async () => {
    await signer.sign({});
    registry.activate('kid-b', 'vault-b');
    vault.disabled.add('vault-a').add('vault-b');
    vault.calls = [];
    expect(await codeOf(signer.sign({}))).toBe('KEY_UNUSABLE');
    // B was refused before signing: the vault would not give its public key (disabled, as in KMS).
    expect(vault.calls).toEqual(['vault-a']);
    expect(vault.publicKeyReads).toEqual(['vault-a', 'vault-b']);
  });

  it('does not retry when STATE still names the refused key', async () => {
    await signer.sign({});
    vault.disabled.add('vault-a');
    vault.calls = [];
    expect(await codeOf(signer.sign({}))).toBe('KEY_UNUSABLE');
    expect(vault.calls).toEqual(['vault-a']);
    expect(registry.reads).toBe(2);
  });

  it('shares one re-read between concurrent callers refused at once', async () => {
    await signer.sign({});
    registry.activate('kid-b', 'vault-b');
    vault.disabled.add('vault-a');
    const results = await Promise.all(Array.from({ length: 4 }, () => signer.sign({})));
    expect(results.every((r) => r.kid === 'kid-b')).toBe(true);
    expect(registry.reads).toBe(2);
  });

  it('throws NO_ACTIVE_KEY when STATE has no (complete) ACTIVE key', async () => {
    registry.state = { registryVersion: 3 };
    expect(await codeOf(signer.sign({}))).toBe('NO_ACTIVE_KEY');
    vi.advanceTimersByTime(TTL);
    registry.state = { registryVersion: 4, activeKid: 'kid-a', activeAlg: 'ES256' };
    expect(await codeOf(signer.sign({}))).toBe('NO_ACTIVE_KEY');
  });

  it('names the standby it is waiting for when STATE has no ACTIVE key but a PENDING one', async () => {
    registry.state = { registryVersion: 3, pendingKeyRef: 'ref-p', pendingKid: 'kid-p' };
    const err = await signer.sign({}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NO_ACTIVE_KEY', awaitingKid: 'kid-p' });
    expect((err as Error).message).toContain('waiting for publication of kid-p');
  });

  it('throws NO_ACTIVE_KEY when the key is refused and STATE no longer has an ACTIVE key', async () => {
    await signer.sign({});
    registry.state = { registryVersion: 9 };
    vault.disabled.add('vault-a');
    expect(await codeOf(signer.sign({}))).toBe('NO_ACTIVE_KEY');
  });

  it('passes other vault errors through without re-reading STATE', async () => {
    const boom = new Error('throttled');
    vault.failWith = boom;
    await expect(signer.sign({})).rejects.toBe(boom);
    expect(registry.reads).toBe(1);
  });

  it('does not cache a failed STATE read', async () => {
    const failing = { readState: vi.fn().mockRejectedValueOnce(new Error('dynamo down')) };
    failing.readState.mockImplementation(() => registry.readState());
    const s = new Signer({ registry: failing, vault, cacheTtlMs: TTL });
    await expect(s.sign({})).rejects.toThrow('dynamo down');
    expect((await s.sign({})).kid).toBe('kid-a');
    expect(failing.readState).toHaveBeenCalledTimes(2);
  });

  describe('vault check (design §11)', () => {
    it('refuses with KEY_UNVERIFIED and signs nothing when STATE names a kid the vault key does not have', async () => {
      registry.activate('kid-forged', 'vault-a');
      expect(await codeOf(signer.sign({ sub: 'svc' }))).toBe('KEY_UNVERIFIED');
      expect(vault.calls).toEqual([]);
    });

    it('asks the vault once per key, and still compares every later STATE with its answer', async () => {
      await signer.sign({});
      await signer.sign({});
      expect(vault.publicKeyReads).toEqual(['vault-a']);
      // The table is rewritten under a running signer: same key id, another kid.
      registry.activate('kid-forged', 'vault-a');
      vi.advanceTimersByTime(TTL);
      expect(await codeOf(signer.sign({}))).toBe('KEY_UNVERIFIED');
      expect(vault.publicKeyReads).toEqual(['vault-a']);
      expect(vault.calls).toEqual(['vault-a', 'vault-a']);
    });

    it('does not keep a failed vault answer: the next token asks again', async () => {
      vault.publicKeyFailure = new Error('throttled');
      await expect(signer.sign({})).rejects.toThrow('throttled');
      vault.publicKeyFailure = undefined;
      expect((await signer.sign({})).kid).toBe('kid-a');
      expect(vault.publicKeyReads).toEqual(['vault-a', 'vault-a']);
    });
  });
});
