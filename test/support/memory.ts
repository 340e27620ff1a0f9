/**
 * Faithful in-memory fakes of the ports, for unit and property tests (the vault: memory-vault.ts).
 *
 * - MemoryRegistry commits like one DynamoDB TransactWriteItems: all or nothing; ConflictError when
 *   the registry version or any item's version/absence condition fails; a commit that is malformed
 *   (a key written twice, a version that is not expected + 1) is a ValidationException-like
 *   InvalidArgumentError. markPublished is one conditional update per item, bumping the item version.
 * - MemoryObjectStore has S3's ETags (quoted MD5), conditional puts (PreconditionFailedError) and
 *   user metadata; MemoryCdn records invalidations (CloudFront-idempotent per CallerReference).
 * Every call goes through an optional shared `Faults`, so tests can crash between any two calls.
 */
import { createHash } from 'node:crypto';
import type {
  Commit,
  KeyRecord,
  Promotion,
  RegionPublication,
  RegistrySnapshot,
  RegistryState,
} from '../../src/core/types.ts';
import {
  ConflictError,
  FencedError,
  InvalidArgumentError,
  InvalidationError,
  PreconditionFailedError,
} from '../../src/errors.ts';
import type {
  Cdn,
  ObjectStore,
  PromoteInput,
  PutObjectInput,
  Registry,
  StoredObject,
  StoredObjectHead,
} from '../../src/ports.ts';
import { Faults } from './faults.ts';

export { type CrashWhen, Faults, SimulatedCrash } from './faults.ts';
export { type MemoryKeyState, MemoryKeyVault } from './memory-vault.ts';

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryRegistry implements Registry {
  readonly faults: Faults;
  /** Every accepted commit, in order (for assertions on what was written). */
  readonly commits: Commit[] = [];
  #state: RegistryState | undefined;
  #keys = new Map<string, KeyRecord>();
  /** `PUBLISHED#<region>#<keyRef>` items. */
  #publications = new Map<string, RegionPublication>();
  /** `PROMOTION#<epoch>` items. */
  #promotions = new Map<number, Promotion>();

  constructor(opts: { faults?: Faults; snapshot?: RegistrySnapshot } = {}) {
    this.faults = opts.faults ?? new Faults();
    if (opts.snapshot) this.restore(opts.snapshot);
  }

  /** Synchronous view for assertions (not a port method). */
  snapshot(): RegistrySnapshot {
    const multi = this.#publications.size > 0 || this.#promotions.size > 0;
    return clone({
      state: this.#state ?? { registryVersion: 0 },
      keys: [...this.#keys.values()],
      ...(multi
        ? { publications: [...this.#publications.values()], promotions: [...this.#promotions.values()] }
        : {}),
    });
  }

  /** Replace the whole table, like a point-in-time restore. */
  restore(snapshot: RegistrySnapshot): void {
    this.#state = snapshot.state.registryVersion === 0 ? undefined : clone(snapshot.state);
    this.#keys = new Map(snapshot.keys.map((k) => [k.keyRef, clone(k)]));
    this.#publications = new Map(
      (snapshot.publications ?? []).map((p) => [`${p.region}#${p.keyRef}`, clone(p)]),
    );
    this.#promotions = new Map((snapshot.promotions ?? []).map((p) => [p.epoch, clone(p)]));
  }

  markRegionPublished(
    region: string,
    keys: readonly { keyRef: string; kid: string }[],
    at: number,
  ): Promise<void> {
    return this.faults.run('registry.markRegionPublished', () => {
      for (const { keyRef, kid } of keys) {
        const id = `${region}#${keyRef}`;
        // Conditional per item: attribute_not_exists(sk), so the first instant is kept.
        if (!this.#publications.has(id)) this.#publications.set(id, { region, keyRef, kid, publishedAt: at });
      }
    });
  }

  promote(input: PromoteInput): Promise<void> {
    return this.faults.run('registry.promote', () => {
      const version = this.#state?.registryVersion ?? 0;
      if (version !== input.expectedRegistryVersion) {
        throw new ConflictError(`registry version is ${version}, not ${input.expectedRegistryVersion}`);
      }
      if (this.#promotions.has(input.epoch)) throw new ConflictError(`epoch ${input.epoch} already exists`);
      const { region, epoch, at, change, servingRegions } = input;
      this.#promotions.set(epoch, {
        epoch,
        region,
        promotedAt: at,
        ...(servingRegions ? { servingRegions: [...servingRegions] } : {}),
        ...change,
      });
      this.#state = {
        ...(this.#state ?? {}),
        registryVersion: version + 1,
        primaryRegion: region,
        epoch,
        updatedAt: at,
      };
    });
  }

  read(): Promise<RegistrySnapshot> {
    return this.faults.run('registry.read', () => this.snapshot());
  }

  readState(): Promise<RegistryState> {
    return this.faults.run('registry.readState', () => clone(this.#state ?? { registryVersion: 0 }));
  }

  commit(commit: Commit): Promise<void> {
    return this.faults.run('registry.commit', () => this.#apply(clone(commit)));
  }

  markPublished(keyRefs: readonly string[], at: number): Promise<void> {
    return this.faults.run('registry.markPublished', () => {
      for (const keyRef of new Set(keyRefs)) {
        const k = this.#keys.get(keyRef);
        // Conditional per item: attribute_exists(pk) AND attribute_not_exists(publishedAt).
        if (!k || k.publishedAt !== undefined) continue;
        this.#keys.set(keyRef, {
          ...k,
          publishedAt: at,
          version: k.version + 1,
          changedBy: 'publisher',
          reason: 'published in JWKS',
        });
      }
    });
  }

  #apply(commit: Commit): void {
    const expected = commit.expectedRegistryVersion;
    if (!Number.isSafeInteger(expected) || expected < 0)
      throw new InvalidArgumentError(`bad version ${expected}`);
    const refs = commit.keys.map((w) => w.record.keyRef);
    if (new Set(refs).size !== refs.length) throw new InvalidArgumentError('one commit writes a key twice');
    for (const w of commit.keys) {
      if (w.record.version !== (w.expectedVersion ?? 0) + 1) {
        throw new InvalidArgumentError(`key ${w.record.keyRef}: version must be expected + 1`);
      }
    }
    // Conditions are checked for every item before anything is written: all or nothing.
    // The fence first, as DynamoDbRegistry's ConditionCheck (item 0): a newer promotion refuses it.
    const epoch = commit.state.epoch;
    if (epoch !== undefined && this.#promotions.has(epoch + 1)) {
      throw new FencedError(epoch, `a promotion newer than epoch ${epoch} exists`);
    }
    if ((this.#state?.registryVersion ?? 0) !== expected) {
      throw new ConflictError(`registry version is ${this.#state?.registryVersion ?? 0}, not ${expected}`);
    }
    for (const w of commit.keys) {
      const current = this.#keys.get(w.record.keyRef);
      const ok = w.expectedVersion === null ? !current : current?.version === w.expectedVersion;
      if (!ok) throw new ConflictError(`key ${w.record.keyRef} changed since it was read`);
    }
    for (const w of commit.keys) {
      // Like the DynamoDB adapter, the commit's change context is stamped on every item it writes.
      this.#keys.set(w.record.keyRef, { ...w.record, ...commit.change });
    }
    this.#state = { ...commit.state, registryVersion: expected + 1 };
    this.commits.push(commit);
  }
}

interface MemoryObject extends StoredObject {
  readonly checksumSha256?: string;
}

export class MemoryObjectStore implements ObjectStore {
  readonly faults: Faults;
  /** Every successful put, in order. */
  readonly puts: Array<{ readonly key: string; readonly body: string; readonly etag: string }> = [];
  /** Runs before each put's conditions are checked: lets a test slip in a concurrent writer. */
  beforePut: ((input: PutObjectInput) => void | Promise<void>) | undefined;
  #objects = new Map<string, MemoryObject>();

  constructor(opts: { faults?: Faults } = {}) {
    this.faults = opts.faults ?? new Faults();
  }

  /** The object's body as text (not a port method). */
  text(key: string): string | undefined {
    const o = this.#objects.get(key);
    return o ? new TextDecoder().decode(o.body) : undefined;
  }

  /** Remove an object (synchronously, so tests may call it without awaiting). */
  delete(key: string): Promise<void> {
    this.#objects.delete(key);
    return Promise.resolve();
  }

  head(key: string): Promise<StoredObjectHead | null> {
    return this.faults.run('store.head', () => {
      const o = this.#objects.get(key);
      if (!o) return null;
      const { body: _body, checksumSha256: _c, ...head } = o;
      return clone(head);
    });
  }

  get(key: string): Promise<StoredObject | null> {
    return this.faults.run('store.get', () => {
      const o = this.#objects.get(key);
      if (!o) return null;
      const { checksumSha256: _c, ...object } = o;
      return clone(object);
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.faults.run('store.list', () =>
      [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort(),
    );
  }

  put(input: PutObjectInput): Promise<{ etag: string }> {
    return this.faults.run('store.put', async () => {
      await this.beforePut?.(input);
      const current = this.#objects.get(input.key);
      if (input.ifNoneMatch === '*' && current) throw new PreconditionFailedError(`${input.key} exists`);
      if (input.ifMatch !== undefined && current?.etag !== input.ifMatch) {
        throw new PreconditionFailedError(`${input.key} is not at ETag ${input.ifMatch}`);
      }
      const body = new Uint8Array(input.body);
      if (input.checksumSha256 !== undefined) {
        const actual = createHash('sha256').update(body).digest('base64');
        if (actual !== input.checksumSha256)
          throw new InvalidArgumentError('BadDigest: checksum does not match');
      }
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      this.#objects.set(input.key, {
        body,
        etag,
        metadata: { ...(input.metadata ?? {}) },
        contentType: input.contentType,
        ...(input.cacheControl === undefined ? {} : { cacheControl: input.cacheControl }),
        ...(input.checksumSha256 === undefined ? {} : { checksumSha256: input.checksumSha256 }),
        lastModified: new Date(),
      });
      this.puts.push({ key: input.key, body: new TextDecoder().decode(body), etag });
      return { etag };
    });
  }
}

export class MemoryCdn implements Cdn {
  readonly faults: Faults;
  /** Every call, including failed ones and idempotent repeats. */
  readonly calls: Array<{ readonly paths: string[]; readonly callerReference: string }> = [];
  /** Invalidations actually created (one per CallerReference, as CloudFront does). */
  readonly invalidations: Array<{ readonly paths: string[]; readonly callerReference: string }> = [];
  /** How many of the next calls fail with InvalidationError (Infinity: all). */
  failures = 0;

  constructor(opts: { faults?: Faults } = {}) {
    this.faults = opts.faults ?? new Faults();
  }

  invalidate(paths: readonly string[], callerReference: string): Promise<void> {
    return this.faults.run('cdn.invalidate', () => {
      this.calls.push({ paths: [...paths], callerReference });
      if (this.failures > 0) {
        this.failures -= 1;
        throw new InvalidationError('simulated: CreateInvalidation kept failing');
      }
      const existing = this.invalidations.find((i) => i.callerReference === callerReference);
      if (existing && existing.paths.join('\n') !== [...paths].join('\n')) {
        throw new InvalidationError('InvalidationBatchAlreadyExists: same CallerReference, other paths');
      }
      if (!existing) this.invalidations.push({ paths: [...paths], callerReference });
    });
  }
}
