import { constants, createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { importJWK, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKeyVault } from '../../src/adapters/local/key-vault.ts';
import { compactJws, jwsSigningInput } from '../../src/core/jws.ts';
import { ALGORITHMS, type Algorithm } from '../../src/core/types.ts';

const DAY = 86_400_000;
const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

describe('LocalKeyVault', () => {
  let root: string;
  let dir: string;
  let now: number;
  const vault = (deploymentName = 'test') => new LocalKeyVault({ dir, deploymentName, clock: () => now });

  /** Sign a JWT through the vault and verify it with jose against the vault's public JWK. */
  const signAndVerify = async (v: LocalKeyVault, id: string, alg: Algorithm) => {
    const jwk = await v.getPublicJwk(id, alg);
    const input = jwsSigningInput({ alg, kid: jwk.kid, typ: 'JWT' }, { sub: 'svc', alg });
    const token = compactJws(input, await v.sign(id, alg, input.bytes));
    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(jwk, alg), {
      algorithms: [alg],
    });
    expect(protectedHeader.kid).toBe(jwk.kid);
    return payload;
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-vault-'));
    dir = join(root, 'keys');
    now = Date.UTC(2030, 0, 1);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each(ALGORITHMS)('signs %s tokens that jose verifies with the published JWK', async (alg) => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref-1', alg });
    expect(vaultKeyId).toMatch(/^local:[0-9a-f-]{36}$/);
    expect(await signAndVerify(v, vaultKeyId, alg)).toEqual({ sub: 'svc', alg });
  });

  it('creates the directory 0700 and each key file 0600', async () => {
    await vault().createKey({ keyRef: 'ref-1', alg: 'ES256' });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect((await stat(join(dir, files[0] ?? ''))).mode & 0o777).toBe(0o600);
  });

  it('keeps keys, tags and signatures across a restart (new instance on the same dir)', async () => {
    const first = vault();
    const { vaultKeyId } = await first.createKey({ keyRef: 'ref-1', alg: 'RS256' });
    const kid = (await first.getPublicJwk(vaultKeyId, 'RS256')).kid;
    const second = vault();
    expect(await second.listKeys()).toEqual([{ vaultKeyId, keyRef: 'ref-1' }]);
    expect((await second.getPublicJwk(vaultKeyId, 'RS256')).kid).toBe(kid);
    await signAndVerify(second, vaultKeyId, 'RS256');
  });

  it("lists only this deployment's keys", async () => {
    const a = await vault('a').createKey({ keyRef: 'ra', alg: 'ES256' });
    await vault('b').createKey({ keyRef: 'rb', alg: 'ES256' });
    expect(await vault('a').listKeys()).toEqual([{ vaultKeyId: a.vaultKeyId, keyRef: 'ra' }]);
  });

  it('uses a PS256 salt as long as the digest (32 bytes), not the maximum', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'PS256' });
    const key = createPublicKey({ key: await v.getPublicJwk(vaultKeyId, 'PS256'), format: 'jwk' });
    const data = Buffer.from('header.payload');
    const sig = await v.sign(vaultKeyId, 'PS256', data);
    const pss = (saltLength: number) =>
      verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    const modulusBytes = Math.ceil(((key.asymmetricKeyDetails?.modulusLength ?? 0) - 1) / 8);
    expect(pss(32)).toBe(true);
    expect(pss(modulusBytes - 32 - 2)).toBe(false); // node's default (maximum) salt length
  });

  it('refuses to sign or give the public key once disabled, with KEY_UNUSABLE', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'ES384' });
    await signAndVerify(v, vaultKeyId, 'ES384');
    await v.disableKey(vaultKeyId);
    await v.disableKey(vaultKeyId); // idempotent
    expect(await codeOf(v.sign(vaultKeyId, 'ES384', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
    expect(await codeOf(v.getPublicJwk(vaultKeyId, 'ES384'))).toBe('KEY_UNUSABLE');
  });

  it('refuses to sign at once after this instance disabled the key, its cache warm', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'ES256' });
    await v.sign(vaultKeyId, 'ES256', new Uint8Array(1));
    await v.disableKey(vaultKeyId);
    expect(await codeOf(v.sign(vaultKeyId, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
  });

  it('notices a key disabled by another instance within the recheck interval when its cache is warm', async () => {
    const signer = vault();
    const { vaultKeyId } = await signer.createKey({ keyRef: 'ref', alg: 'ES256' });
    await signAndVerify(signer, vaultKeyId, 'ES256');
    await vault().disableKey(vaultKeyId);
    // Within the interval the cached state stands (the signer's STATE cache bounds revocation anyway).
    expect(await signer.sign(vaultKeyId, 'ES256', new Uint8Array(1))).toHaveLength(64);
    now += 1_000;
    expect(await codeOf(signer.sign(vaultKeyId, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
  });

  it('checks the key file on every signature when the recheck interval is 0', async () => {
    const signer = new LocalKeyVault({ dir, deploymentName: 'test', clock: () => now, stateRecheckMs: 0 });
    const { vaultKeyId } = await signer.createKey({ keyRef: 'ref', alg: 'ES256' });
    await signAndVerify(signer, vaultKeyId, 'ES256');
    await vault().disableKey(vaultKeyId);
    expect(await codeOf(signer.sign(vaultKeyId, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
  });

  it('schedules deletion idempotently, refuses to sign, and deletes the key when the window passes', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'RS256' });
    await v.scheduleDeletion(vaultKeyId, 7);
    now += DAY;
    await v.scheduleDeletion(vaultKeyId, 30); // already pending: success, date unchanged
    await v.disableKey(vaultKeyId); // pending deletion is already unusable: success
    expect(await codeOf(v.sign(vaultKeyId, 'RS256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
    expect(await v.listKeys()).toHaveLength(1);
    now += 6 * DAY;
    expect(await v.listKeys()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    expect(await codeOf(v.getPublicJwk(vaultKeyId, 'RS256'))).toBe('KEY_NOT_FOUND');
  });

  it('rejects a deletion window outside 7–30 days with INVALID_ARGUMENT', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'ES256' });
    expect(await codeOf(v.scheduleDeletion(vaultKeyId, 6))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(v.scheduleDeletion(vaultKeyId, 31))).toBe('INVALID_ARGUMENT');
  });

  it('answers unknown or malformed ids like KMS: KEY_NOT_FOUND, and KEY_UNUSABLE on sign', async () => {
    const v = vault();
    for (const id of [
      'local:00000000-0000-0000-0000-000000000000',
      'local:../../etc/passwd',
      'arn:aws:kms:x',
    ]) {
      expect(await codeOf(v.getPublicJwk(id, 'ES256'))).toBe('KEY_NOT_FOUND');
      expect(await codeOf(v.disableKey(id))).toBe('KEY_NOT_FOUND');
      expect(await codeOf(v.sign(id, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
    }
  });

  it('rejects signing with an algorithm the key was not made for with INVALID_ARGUMENT', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'RS256' });
    expect(await codeOf(v.sign(vaultKeyId, 'PS256', new Uint8Array(1)))).toBe('INVALID_ARGUMENT');
  });

  it('shows no private key in JSON.stringify or inspect, even with keys cached', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref', alg: 'RS256' });
    await signAndVerify(v, vaultKeyId, 'RS256');
    const shown = `${JSON.stringify(v)}\n${inspect(v, { depth: 10, showHidden: true })}\n${JSON.stringify({ v })}`;
    expect(shown).toContain(dir);
    expect(shown).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it('describes keys as KMS does: tags always, the public key only while enabled, absent for unknown ids', async () => {
    const v = vault();
    const { vaultKeyId } = await v.createKey({ keyRef: 'ref-1', alg: 'ES256' });
    const facts = await v.describeKey(vaultKeyId);
    expect(facts).toMatchObject({ kind: 'present', ours: true, keyRef: 'ref-1' });
    const jwk = await v.getPublicJwk(vaultKeyId, 'ES256');
    const spki = facts.kind === 'present' ? facts.publicKey : undefined;
    const fromSpki = createPublicKey({ key: Buffer.from(spki ?? []), format: 'der', type: 'spki' });
    expect(fromSpki.export({ format: 'jwk' })).toMatchObject({ x: (jwk as { x: string }).x });
    expect(await vault('other').describeKey(vaultKeyId)).toEqual({
      kind: 'present',
      ours: false,
      keyRef: 'ref-1',
    });
    await v.disableKey(vaultKeyId);
    expect(await v.describeKey(vaultKeyId)).toEqual({ kind: 'present', ours: true, keyRef: 'ref-1' });
    expect(await v.describeKey('local:00000000-0000-4000-8000-000000000000')).toEqual({ kind: 'absent' });
    expect(await v.describeKey('arn:aws:kms:eu-west-1:1:key/x')).toEqual({ kind: 'absent' });
  });

  describe('multi-region simulation (ADR 0008)', () => {
    /** Region A's rotate vault (copies into B) and region B's own vault. */
    const regions = () => {
      const dirB = join(root, 'keys-us-east-1');
      const primary = new LocalKeyVault({
        dir,
        deploymentName: 'test',
        clock: () => now,
        replicas: [{ region: 'us-east-1', dir: dirB }],
      });
      const inB = new LocalKeyVault({
        dir: dirB,
        deploymentName: 'test',
        clock: () => now,
        stateRecheckMs: 0,
      });
      return { primary, inB, dirB };
    };

    it("lets region B sign with its own copy: same kid, verified with region A's JWK", async () => {
      const { primary, inB, dirB } = regions();
      const { vaultKeyId } = await primary.createKey({ keyRef: 'ref-1', alg: 'ES256' });
      expect(await codeOf(inB.getPublicJwk(vaultKeyId, 'ES256'))).toBe('KEY_NOT_FOUND');
      await primary.ensureReplicas(vaultKeyId);
      const jwkA = await primary.getPublicJwk(vaultKeyId, 'ES256');
      expect((await inB.getPublicJwk(vaultKeyId, 'ES256')).kid).toBe(jwkA.kid);
      const input = jwsSigningInput({ alg: 'ES256', kid: jwkA.kid, typ: 'JWT' }, { sub: 'svc' });
      const token = compactJws(input, await inB.sign(vaultKeyId, 'ES256', input.bytes));
      const { payload } = await jwtVerify(token, await importJWK(jwkA, 'ES256'));
      expect(payload).toEqual({ sub: 'svc' });
      // The copy carries the tags (B's listing and proofs read them) and the vault's file modes.
      expect(await inB.listKeys()).toEqual([{ vaultKeyId, keyRef: 'ref-1' }]);
      expect((await stat(dirB)).mode & 0o777).toBe(0o700);
      const [file] = await readdir(dirB);
      expect((await stat(join(dirB, file ?? ''))).mode & 0o777).toBe(0o600);
    });

    it('leaves an existing Enabled copy alone on a second call', async () => {
      const { primary, dirB } = regions();
      const { vaultKeyId } = await primary.createKey({ keyRef: 'ref-1', alg: 'ES256' });
      await primary.ensureReplicas(vaultKeyId);
      const [file] = await readdir(dirB);
      const before = await stat(join(dirB, file ?? ''));
      now += 60_000;
      await primary.ensureReplicas(vaultKeyId);
      const after = await stat(join(dirB, file ?? ''));
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    });

    it('disables the copies too, so region B can no longer sign', async () => {
      const { primary, inB } = regions();
      const { vaultKeyId } = await primary.createKey({ keyRef: 'ref-1', alg: 'ES256' });
      await primary.ensureReplicas(vaultKeyId);
      await primary.disableKey(vaultKeyId);
      expect(await codeOf(inB.sign(vaultKeyId, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
      expect(await codeOf(primary.sign(vaultKeyId, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
      await primary.disableKey(vaultKeyId);
    });

    it('schedules the deletion of the copies too, and they are gone when the window passes', async () => {
      const { primary, inB } = regions();
      const { vaultKeyId } = await primary.createKey({ keyRef: 'ref-1', alg: 'RS256' });
      await primary.ensureReplicas(vaultKeyId);
      await primary.scheduleDeletion(vaultKeyId, 7);
      await primary.scheduleDeletion(vaultKeyId, 7);
      expect(await inB.describeKey(vaultKeyId)).toEqual({ kind: 'present', ours: true, keyRef: 'ref-1' });
      now += 7 * DAY;
      expect(await inB.describeKey(vaultKeyId)).toEqual({ kind: 'absent' });
    });

    it('disables and deletes a key that region B never got a copy of, as in one region', async () => {
      const { primary } = regions();
      const { vaultKeyId } = await primary.createKey({ keyRef: 'ref-1', alg: 'ES256' });
      await primary.disableKey(vaultKeyId);
      await primary.scheduleDeletion(vaultKeyId, 30);
      expect(await primary.describeKey(vaultKeyId)).toEqual({ kind: 'present', ours: true, keyRef: 'ref-1' });
    });

    it('refuses with REPLICA_NOT_READY a copy that is disabled, never re-enabling it', async () => {
      const { primary, inB } = regions();
      const { vaultKeyId } = await primary.createKey({ keyRef: 'ref-1', alg: 'ES256' });
      await primary.ensureReplicas(vaultKeyId);
      await inB.disableKey(vaultKeyId);
      const err = await primary.ensureReplicas(vaultKeyId).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REPLICA_NOT_READY', region: 'us-east-1', keyState: 'Disabled' });
      expect(await codeOf(inB.sign(vaultKeyId, 'ES256', new Uint8Array(1)))).toBe('KEY_UNUSABLE');
    });

    it('refuses to copy a key created by a single-region vault (not multi-Region) with INVALID_ARGUMENT', async () => {
      const { primary, dirB } = regions();
      const { vaultKeyId } = await vault().createKey({ keyRef: 'ref-1', alg: 'ES256' });
      expect(await codeOf(primary.ensureReplicas(vaultKeyId))).toBe('INVALID_ARGUMENT');
      await expect(readdir(dirB)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('does nothing without replica regions, as before multi-region', async () => {
      const v = vault();
      const { vaultKeyId } = await v.createKey({ keyRef: 'ref-1', alg: 'ES256' });
      await v.ensureReplicas(vaultKeyId);
      expect(await readdir(root)).toEqual(['keys']);
      const [file] = await readdir(dir);
      expect(JSON.parse(await readFile(join(dir, file ?? ''), 'utf8'))).not.toHaveProperty('multiRegion');
    });
  });
});
