/**
 * An observer of a World that checks design §3 invariants 1–7 after every step of a property test.
 * It keeps the history the invariants speak about: every JWKS ever written (with the instant), when
 * each kid was first on the revocation list, and which activations an operator forced (revoke
 * promotion, `rotate --now`), the only ones allowed to skip the prepublish lead.
 */
import { expect } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { renderJwks } from '../../src/core/jwks.ts';
import type { KeyRecord, Policy } from '../../src/core/types.ts';
import { listRevokedKids } from '../../src/revocations.ts';
import type { World } from './world.ts';

const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MEMBERS: Record<string, string[]> = {
  RSA: ['kty', 'kid', 'use', 'alg', 'n', 'e'],
  EC: ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y'],
};

export interface StepInfo {
  /** The step was a reconcile that ran its whole plan (no crash, no conflict). */
  readonly cleanReconcile?: boolean;
  /** Activations in this step were forced by an operator (exempt from the lead). */
  readonly forced?: boolean;
}

export class InvariantObserver {
  readonly jwks: Array<{ at: number; kids: string[] }> = [];
  readonly #listedAt = new Map<string, number>();
  readonly #forced = new Set<string>();
  #firstKeyRef: string | undefined;
  #seenPuts = 0;
  #activeBefore = new Set<string>();
  /** Vault key states when the registry was restored (undefined: never restored). */
  #atRestore: Map<string, string> | undefined;

  constructor(
    private readonly w: World,
    private readonly policy: Policy,
  ) {}

  /**
   * The registry was just restored to an earlier point in time. From now on the history-based
   * invariants (1–3, 7) no longer describe what the restored registry says; what must still hold is
   * 4 and 5 (checked on every write) and that no key unknown to the registry is ever touched.
   */
  markRestored(): void {
    this.#atRestore = new Map(this.w.vault.all().map((v) => [v.vaultKeyId, v.state]));
  }

  listedKids(): Set<string> {
    return new Set(this.#listedAt.keys());
  }

  async check(now: number, info: StepInfo = {}): Promise<void> {
    const { keys, state } = this.w.registry.snapshot();
    const activated = keys.filter((k) => k.activatedAt !== undefined && !this.#activeBefore.has(k.keyRef));
    for (const k of activated) {
      // Emergency promotion (design §3): the standby replaced an ACTIVE key revoked at that instant,
      // whether the operator's command or a reconciler finishing it from the revocation list did it.
      const promoted = keys.some(
        (r) =>
          r.status === 'REVOKED' &&
          r.revokedAt === k.activatedAt &&
          r.activatedAt !== undefined &&
          r.retiredAt === undefined,
      );
      if (info.forced || promoted) this.#forced.add(k.keyRef);
    }
    for (const k of activated) this.#activeBefore.add(k.keyRef);
    if (this.#firstKeyRef === undefined) this.#firstKeyRef = activated[0]?.keyRef;

    // Invariants 4 and 5 on every JWKS written during this step.
    const puts = this.w.store.puts.slice(this.#seenPuts);
    this.#seenPuts = this.w.store.puts.length;
    for (const put of puts.filter((p) => p.key === OBJECT_KEYS.JWKS)) {
      const doc = JSON.parse(put.body) as { keys: Array<Record<string, unknown>> };
      const kids = doc.keys.map((k) => String(k.kid));
      expect(new Set(kids).size).toBe(kids.length);
      for (const jwk of doc.keys) {
        expect(PRIVATE.filter((m) => m in jwk)).toEqual([]);
        expect(Object.keys(jwk)).toEqual(MEMBERS[String(jwk.kty)]);
      }
      for (const kid of kids) expect(this.#listedAt.has(kid)).toBe(false);
      this.jwks.push({ at: now, kids });
      if (!this.#atRestore) this.#checkRetention(keys, now, kids);
    }
    for (const kid of await listRevokedKids(this.w.store))
      if (!this.#listedAt.has(kid)) this.#listedAt.set(kid, now);
    if (this.#atRestore) {
      const known = new Set(keys.map((k) => k.keyRef));
      for (const v of this.w.vault.all()) {
        if (!known.has(v.keyRef as string))
          expect(v.state).toBe(this.#atRestore.get(v.vaultKeyId) ?? 'Enabled');
      }
      return;
    }

    for (const k of keys.filter((x) => x.status === 'EXPIRED')) {
      expect((k.expiredAt as number) - (k.retiredAt as number)).toBeGreaterThanOrEqual(this.policy.retention);
    }
    this.#checkSlots(keys, state, now, info);
    for (const k of keys) if (k.activatedAt !== undefined) this.#checkActivation(k);
    this.#checkVault(keys, now, info);
  }

  /** Invariant 3 (and PENDING/ACTIVE keys are published): every key that may verify tokens is in the set. */
  #checkRetention(keys: readonly KeyRecord[], at: number, kids: string[]): void {
    const enabled = new Set(
      this.w.vault
        .all()
        .filter((v) => v.state === 'Enabled')
        .map((v) => v.vaultKeyId),
    );
    for (const k of keys) {
      if (!k.kid || this.#listedAt.has(k.kid) || k.revokedAt !== undefined) continue;
      // Design §11: a key is published only when the vault proves it, and KMS gives no public key once
      // disabled; a key activated unpublished (`rotate --now`) and disabled before any publication was
      // never in front of a verifier, and can no longer be proven: it stays out.
      if (!this.#provable(k, enabled)) continue;
      const mustShow =
        (k.status === 'PENDING' || k.activatedAt !== undefined) &&
        (k.retiredAt === undefined || at < k.retiredAt + this.policy.retention);
      if (mustShow) expect(kids).toContain(k.kid);
    }
  }

  /** Invariant 1: at most one ACTIVE and one standby, ever; once settled, exactly one of each. */
  #checkSlots(
    keys: readonly KeyRecord[],
    state: { activeKeyRef?: string; pendingKeyRef?: string; bootstrappedAt?: number },
    now: number,
    info: StepInfo,
  ): void {
    const actives = keys.filter((k) => k.status === 'ACTIVE');
    const standbys = keys.filter((k) => k.status === 'CREATING' || k.status === 'PENDING');
    expect(actives.length).toBeLessThanOrEqual(1);
    expect(standbys.length).toBeLessThanOrEqual(1);
    expect(state.activeKeyRef).toBe(actives[0]?.keyRef);
    expect(state.pendingKeyRef).toBe(standbys[0]?.keyRef);
    if (state.bootstrappedAt !== undefined && actives.length === 0) {
      // Activation always retires its predecessor, so only a revoke can leave no ACTIVE key.
      expect(
        keys.some((k) => k.status === 'REVOKED' && k.activatedAt !== undefined && k.retiredAt === undefined),
      ).toBe(true);
    }
    if (info.cleanReconcile) {
      expect(standbys).toHaveLength(1);
      const standby = standbys[0] as KeyRecord;
      if (state.bootstrappedAt !== undefined && actives.length === 0) {
        // Then the standby must not have been eligible yet: the reconciler activates as soon as it is.
        const eligible =
          standby.status === 'PENDING' &&
          standby.publishedAt !== undefined &&
          standby.publishedAt + this.policy.prepublishLead <= now;
        expect(eligible).toBe(false);
      }
    }
  }

  /** Invariant 2: it signs only after a JWKS with it was written ≥ lead earlier (first key: before). */
  #checkActivation(k: KeyRecord): void {
    if (this.#forced.has(k.keyRef)) return;
    const lead = k.keyRef === this.#firstKeyRef ? 0 : this.policy.prepublishLead;
    const firstSeen = this.jwks.find((j) => j.kids.includes(k.kid as string))?.at;
    expect(firstSeen).toBeDefined();
    expect(k.publishedAt).toBeDefined();
    expect(firstSeen as number).toBeLessThanOrEqual(k.publishedAt as number);
    expect((k.publishedAt as number) + lead).toBeLessThanOrEqual(k.activatedAt as number);
  }

  /** Invariant 7, and the vault side of 1/4: no key deleted or disabled unless the registry says so. */
  #checkVault(keys: readonly KeyRecord[], now: number, info: StepInfo): void {
    const byRef = new Map(keys.map((k) => [k.keyRef, k]));
    const refs = this.w.vault.all().map((v) => v.keyRef);
    expect(new Set(refs).size).toBe(refs.length);
    for (const v of this.w.vault.all()) {
      const r = byRef.get(v.keyRef as string);
      expect(r).toBeDefined();
      const status = r?.status as KeyRecord['status'];
      if (v.state === 'PendingDeletion') expect(['EXPIRED', 'REVOKED', 'ABANDONED']).toContain(status);
      if (v.state === 'Disabled') {
        expect(['RETIRED', 'EXPIRED', 'REVOKED', 'ABANDONED']).toContain(status);
        if (status === 'RETIRED')
          expect((r?.retiredAt as number) + this.policy.signerCacheTtl).toBeLessThanOrEqual(now);
      }
      if (status === 'ACTIVE' || status === 'PENDING') expect(v.state).toBe('Enabled');
      if (status === 'REVOKED' && r?.kid && this.#listedAt.has(r.kid) && info.cleanReconcile) {
        expect(v.state).not.toBe('Enabled');
      }
    }
    if (info.cleanReconcile) {
      const stale = keys.filter(
        (k) => k.status === 'CREATING' && k.createdAt + this.policy.intentTimeout <= now,
      );
      expect(stale).toEqual([]);
    }
  }

  /** Whether the vault can still prove the key: enabled, or carried by a JWKS written earlier. */
  #provable(k: KeyRecord, enabled: ReadonlySet<string>): boolean {
    return enabled.has(k.vaultKeyId as string) || this.jwks.some((j) => j.kids.includes(k.kid as string));
  }

  /** Invariant 6: the stored set is the rendering of the registry; publishing again changes nothing. */
  expectStoredMatchesRegistry(): void {
    const enabled = new Set(
      this.w.vault
        .all()
        .filter((v) => v.state === 'Enabled')
        .map((v) => v.vaultKeyId),
    );
    const keys = this.w.registry.snapshot().keys.filter((k) => this.#provable(k, enabled));
    const body = renderJwks(keys, this.listedKids()).body;
    expect(this.w.store.text(OBJECT_KEYS.JWKS)).toBe(body);
  }
}
