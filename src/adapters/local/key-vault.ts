/**
 * The embedded stack's stand-in for KMS (design §7): node:crypto keys, one JSON file per key in
 * `dir` (0700), each file 0600 and written atomically (temp file + rename), holding the PKCS#8 PEM
 * private key and the metadata KMS would keep (tags, state, deletion date).
 *
 * It mirrors KMS where callers can tell the difference: GetPublicKey and Sign fail on a disabled or
 * pending-deletion key (KeyUnusableError); disabling twice and scheduling deletion twice succeed;
 * the deletion window is 7–30 days and the key is gone once it passes; PS256 uses a salt as long as
 * the digest (KMS's choice; node's default is the maximum); ECDSA signatures come back as JOSE R‖S.
 *
 * Multi-region simulation (ADR 0008): given replica regions' vault directories, a key created here is
 * a "multi-Region" key, `ensureReplicas` copies its file (same id, so the same kid) into each of them,
 * and disabling or scheduling its deletion reaches the copies first. A vault on a replica directory is
 * that region's vault: it signs with its own copy, whose state is its own, as in KMS.
 *
 * Private keys never leave this class and its helpers (key-files.ts, key-replicas.ts): not returned,
 * not logged, hidden from JSON and inspect; a copy to another region's directory stays on this machine
 * with the same file modes.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomUUID } from 'node:crypto';
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { inspect } from 'node:util';
import { ALGORITHM_SPECS, algorithmSpec } from '../../core/algorithms.ts';
import { publicJwkFromKey } from '../../core/jwk.ts';
import type { Algorithm, PublicJwk, VaultKey } from '../../core/types.ts';
import type { VaultKeyFacts } from '../../core/vault-proof.ts';
import { InvalidArgumentError, KeyNotFoundError, KeyUnusableError } from '../../errors.ts';
import type { Clock, KeyVault } from '../../ports.ts';
import { ensureKeyDir, type KeyMeta, keyPath, parseKeyFile, readKeyFile, writeKeyFile } from './key-files.ts';
import { type LocalReplicaRegion, LocalReplicas } from './key-replicas.ts';
import { generate, signWith } from './node-keys.ts';

export type { LocalReplicaRegion } from './key-replicas.ts';

interface CacheEntry {
  readonly meta: KeyMeta;
  readonly key: KeyObject;
  /** Identity of the file version this entry was parsed from (every write renames a new inode in). */
  readonly version: string;
  /** When the file was last checked for a newer version. */
  checkedAt: number;
}

/**
 * How long a key's state may be taken from memory before the file is checked again. A revoke made by
 * another process is noticed within this; invariant 4's bound does not depend on it, because the
 * signer's view of the ACTIVE key already expires after `signerCacheTtl` and then names another key.
 * Checking on every signature cost ~20 µs, more than building the JWS.
 */
const DEFAULT_STATE_RECHECK_MS = 1_000;

const DAY_MS = 86_400_000;

export class LocalKeyVault implements KeyVault {
  readonly #dir: string;
  readonly #deploymentName: string;
  readonly #clock: Clock;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #recheckMs: number;
  readonly #replicas: LocalReplicas;
  #ready: Promise<void> | undefined;

  constructor(opts: {
    dir: string;
    deploymentName: string;
    clock?: Clock;
    stateRecheckMs?: number;
    /** Multi-region simulation: the other regions' vault directories (none: a single-region vault). */
    replicas?: readonly LocalReplicaRegion[];
  }) {
    this.#dir = opts.dir;
    this.#deploymentName = opts.deploymentName;
    this.#clock = opts.clock ?? Date.now;
    this.#recheckMs = opts.stateRecheckMs ?? DEFAULT_STATE_RECHECK_MS;
    this.#replicas = new LocalReplicas(opts.replicas ?? [], this.#clock);
  }

  async createKey(input: { keyRef: string; alg: Algorithm }): Promise<{ vaultKeyId: string }> {
    const key = await generate(algorithmSpec(input.alg));
    const vaultKeyId = `local:${randomUUID()}`;
    const meta: KeyMeta = {
      format: 1,
      vaultKeyId,
      keyRef: input.keyRef,
      deploymentName: this.#deploymentName,
      alg: input.alg,
      state: 'Enabled',
      createdAt: this.#clock(),
      // As KMS's MultiRegion: only a key created as one may have replicas.
      ...(this.#replicas.regions.length > 0 ? { multiRegion: true as const } : {}),
    };
    await this.#write(meta, key.export({ format: 'pem', type: 'pkcs8' }) as string);
    return { vaultKeyId };
  }

  async getPublicJwk(vaultKeyId: string, alg: Algorithm): Promise<PublicJwk> {
    const entry = await this.#load(vaultKeyId);
    if (!entry) throw new KeyNotFoundError(`no local key ${vaultKeyId}`);
    this.#assertUsable(entry, alg);
    return publicJwkFromKey(entry.key, alg);
  }

  /** As KMS: the tags of any key we hold, its public key only while it is Enabled. */
  async describeKey(vaultKeyId: string): Promise<VaultKeyFacts> {
    const entry = await this.#load(vaultKeyId);
    if (!entry) return { kind: 'absent' };
    const ours = entry.meta.deploymentName === this.#deploymentName;
    const facts = { kind: 'present' as const, ours, keyRef: entry.meta.keyRef };
    if (!ours || entry.meta.state !== 'Enabled') return facts;
    const spki = createPublicKey(entry.key).export({ format: 'der', type: 'spki' });
    return { ...facts, publicKey: new Uint8Array(spki) };
  }

  /**
   * Copy the key into every replica region's vault directory (LocalReplicas.copy), or into those of
   * `regions` (the serving set) only, as KMS is. Single-region: nothing.
   */
  async ensureReplicas(vaultKeyId: string, regions?: readonly string[]): Promise<void> {
    if (this.#replicas.regions.length === 0) return;
    const entry = await this.#load(vaultKeyId);
    if (!entry) throw new KeyNotFoundError(`no local key ${vaultKeyId}`);
    if (!entry.meta.multiRegion || entry.meta.deploymentName !== this.#deploymentName) {
      throw new InvalidArgumentError(`local key ${vaultKeyId} is not a multi-Region key of this deployment`);
    }
    const file = await readKeyFile(this.#path(vaultKeyId) as string);
    if (!file) throw new KeyNotFoundError(`no local key ${vaultKeyId}`);
    await this.#replicas.copy(file, regions);
  }

  async listKeys(): Promise<VaultKey[]> {
    await this.#ensureDir();
    const names = (await readdir(this.#dir)).filter((n) => /^[0-9a-f-]{36}\.json$/.test(n)).sort();
    const keys: VaultKey[] = [];
    for (const name of names) {
      const entry = await this.#load(`local:${name.slice(0, -'.json'.length)}`);
      if (entry && entry.meta.deploymentName === this.#deploymentName) {
        keys.push({ vaultKeyId: entry.meta.vaultKeyId, keyRef: entry.meta.keyRef });
      }
    }
    return keys;
  }

  /**
   * Replicas' copies first (a region without one has nothing to do), then this vault's key. Every
   * region's directory is on this machine, always reachable: the serving set KMS may be limited to
   * (`regions`) changes nothing here.
   */
  async disableKey(vaultKeyId: string): Promise<void> {
    await this.#replicas.change(vaultKeyId, (copy) =>
      copy.state === 'Enabled' ? { state: 'Disabled', disabledAt: this.#clock() } : undefined,
    );
    const entry = await this.#load(vaultKeyId);
    if (!entry) throw new KeyNotFoundError(`no local key ${vaultKeyId}`);
    // Disabled already, or pending deletion (which is unusable too): nothing to do.
    if (entry.meta.state !== 'Enabled') return;
    await this.#rewrite(vaultKeyId, { state: 'Disabled', disabledAt: this.#clock() });
  }

  async scheduleDeletion(vaultKeyId: string, windowDays: number): Promise<void> {
    if (!Number.isInteger(windowDays) || windowDays < 7 || windowDays > 30) {
      throw new InvalidArgumentError('the deletion window must be 7–30 days (as in KMS)');
    }
    const deletionDate = this.#clock() + windowDays * DAY_MS;
    await this.#replicas.change(vaultKeyId, (copy) =>
      copy.state === 'PendingDeletion' ? undefined : { state: 'PendingDeletion', deletionDate },
    );
    const entry = await this.#load(vaultKeyId);
    if (!entry) throw new KeyNotFoundError(`no local key ${vaultKeyId}`);
    if (entry.meta.state === 'PendingDeletion') return;
    await this.#rewrite(vaultKeyId, { state: 'PendingDeletion', deletionDate });
  }

  async sign(vaultKeyId: string, alg: Algorithm, signingInput: Uint8Array): Promise<Uint8Array> {
    const cached = this.#cache.get(vaultKeyId);
    const fresh = cached !== undefined && this.#clock() - cached.checkedAt < this.#recheckMs;
    const entry = fresh ? cached : await this.#load(vaultKeyId);
    // KMS answers Sign on a missing key with NotFoundException, which the KMS adapter maps the same way.
    if (!entry) throw new KeyUnusableError(`no local key ${vaultKeyId}`);
    this.#assertUsable(entry, alg);
    return signWith(ALGORITHM_SPECS[alg], entry.key, signingInput);
  }

  toJSON(): Record<string, string> {
    return { type: 'LocalKeyVault', dir: this.#dir, deploymentName: this.#deploymentName };
  }

  [inspect.custom](): string {
    return `LocalKeyVault ${JSON.stringify(this.toJSON())}`;
  }

  #assertUsable(entry: CacheEntry, alg: Algorithm): void {
    if (entry.meta.state !== 'Enabled') {
      throw new KeyUnusableError(`local key ${entry.meta.vaultKeyId} is ${entry.meta.state}`);
    }
    if (entry.meta.alg !== alg) {
      throw new InvalidArgumentError(
        `local key ${entry.meta.vaultKeyId} is for ${entry.meta.alg}, not ${alg}`,
      );
    }
  }

  #ensureDir(): Promise<void> {
    this.#ready ??= ensureKeyDir(this.#dir);
    return this.#ready;
  }

  #path(vaultKeyId: string): string | undefined {
    return keyPath(this.#dir, vaultKeyId);
  }

  /**
   * The key, parsed once per file version. A `stat` (not a read) notices a state change written by
   * another instance or process — `jwks revoke` disabling the key under a running signer. Every port
   * method but `sign` checks on each call; `sign` at most every `stateRecheckMs`.
   */
  async #load(vaultKeyId: string): Promise<CacheEntry | undefined> {
    const path = this.#path(vaultKeyId);
    if (!path) return undefined;
    await this.#ensureDir();
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!info) {
      this.#cache.delete(vaultKeyId);
      return undefined;
    }
    const version = `${info.ino}:${info.mtimeMs}:${info.size}`;
    let entry = this.#cache.get(vaultKeyId);
    if (entry?.version !== version) {
      const { privateKeyPem, ...meta } = parseKeyFile(await readFile(path, 'utf8'), path);
      entry = { meta, key: createPrivateKey(privateKeyPem), version, checkedAt: this.#clock() };
      this.#cache.set(vaultKeyId, entry);
    } else {
      entry.checkedAt = this.#clock();
    }
    if (entry.meta.deletionDate !== undefined && entry.meta.deletionDate <= this.#clock()) {
      // The waiting period is over: KMS deletes the key for good, so do we.
      this.#cache.delete(vaultKeyId);
      await unlink(path).catch(() => undefined);
      return undefined;
    }
    return entry;
  }

  async #rewrite(vaultKeyId: string, change: Partial<KeyMeta>): Promise<void> {
    const path = this.#path(vaultKeyId) as string;
    const { privateKeyPem, ...meta } = parseKeyFile(await readFile(path, 'utf8'), path);
    await this.#write({ ...meta, ...change }, privateKeyPem);
    // This instance made the change: its next signature must see it, not wait for the recheck.
    this.#cache.delete(vaultKeyId);
  }

  async #write(meta: KeyMeta, privateKeyPem: string): Promise<void> {
    await this.#ensureDir();
    await writeKeyFile(this.#dir, { ...meta, privateKeyPem });
  }
}
