/**
 * Proves registry records against the vault (design §11; the rule itself is core/vault-proof.ts), for
 * the publisher and `jwks status` alike, so the operator sees exactly what the publisher decides.
 *
 * The vault's answer for a key is cached per vault and key id once it is complete (the key is ours and
 * its public key was given): key material never changes, and the comparison with the record is made
 * again on every call, so a record tampered with later is still caught. Any other answer is asked
 * again next time: a key just created may not be visible yet, and a refusal must not stick.
 */
import { OBJECT_KEYS } from './constants.ts';
import type { KeyRecord } from './core/types.ts';
import {
  type Proof,
  PUBLISHED_STATES,
  proveByVault,
  provenByPublication,
  type VaultKeyFacts,
} from './core/vault-proof.ts';
import type { KeyVault, ObjectStore } from './ports.ts';

export type ProofVault = Pick<KeyVault, 'describeKey'>;

const complete = new WeakMap<ProofVault, Map<string, VaultKeyFacts>>();

async function factsOf(vault: ProofVault, vaultKeyId: string): Promise<VaultKeyFacts> {
  const cache = complete.get(vault) ?? new Map<string, VaultKeyFacts>();
  complete.set(vault, cache);
  const cached = cache.get(vaultKeyId);
  if (cached) return cached;
  const facts = await vault.describeKey(vaultKeyId);
  if (facts.kind === 'present' && facts.ours && facts.publicKey) cache.set(vaultKeyId, facts);
  return facts;
}

/** The JWKS the publisher last wrote (parsed), or undefined when there is none or it is unreadable. */
export async function readPublishedJwks(store: Pick<ObjectStore, 'get'>): Promise<unknown> {
  const object = await store.get(OBJECT_KEYS.JWKS);
  if (!object) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(object.body));
  } catch {
    return undefined;
  }
}

/**
 * A proof for every record in a published state (PENDING, ACTIVE, RETIRED), by keyRef. The earlier
 * publication is read (once, through `published`) only when the vault cannot show some key now.
 */
export async function proveRecords(
  vault: ProofVault,
  keys: readonly KeyRecord[],
  published: () => Promise<unknown>,
): Promise<Map<string, Proof>> {
  const proofs = new Map<string, Proof>();
  const candidates = keys.filter((k) => PUBLISHED_STATES.has(k.status));
  await Promise.all(
    candidates.map(async (k) => {
      const facts: VaultKeyFacts = k.vaultKeyId ? await factsOf(vault, k.vaultKeyId) : { kind: 'absent' };
      proofs.set(k.keyRef, await proveByVault(k, facts));
    }),
  );
  const unprovable = candidates.filter((k) => {
    const p = proofs.get(k.keyRef);
    return p?.verified === false && p.failure === 'UNPROVABLE';
  });
  if (unprovable.length > 0) {
    const document = await published();
    for (const k of unprovable) {
      if (provenByPublication(k, document)) proofs.set(k.keyRef, { verified: true, by: 'publication' });
    }
  }
  return proofs;
}
