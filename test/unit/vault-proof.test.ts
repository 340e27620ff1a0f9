import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import type { KeyRecord, PublicJwk } from '../../src/core/types.ts';
import { proveByVault, provenByPublication, type VaultKeyFacts } from '../../src/core/vault-proof.ts';

type Present = Extract<VaultKeyFacts, { kind: 'present' }>;

import { keyRecord } from '../support/fixtures.ts';

const spki = (key: KeyObject) => new Uint8Array(key.export({ format: 'der', type: 'spki' }));

let vaultKey: KeyObject;
let otherKey: KeyObject;
let jwk: PublicJwk;
let record: KeyRecord;
let facts: Present;

beforeAll(async () => {
  vaultKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  jwk = await publicJwkFromKey(vaultKey, 'ES256');
  record = keyRecord('r1', 'RETIRED', { kid: jwk.kid, publicJwk: jwk, vaultKeyId: 'vault-r1' });
  facts = { kind: 'present', ours: true, keyRef: 'r1', publicKey: spki(vaultKey) };
});

const failureOf = async (r: KeyRecord, f: VaultKeyFacts) => {
  const proof = await proveByVault(r, f);
  return proof.verified ? 'VERIFIED' : proof.failure;
};

describe('proveByVault', () => {
  it('verifies a record whose JWK and kid are exactly what the vault key renders to', async () => {
    expect(await proveByVault(record, facts)).toEqual({ verified: true, by: 'vault' });
  });

  it('verifies an RSA record the same way', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const rsaJwk = await publicJwkFromKey(rsa, 'RS256');
    const r = keyRecord('r2', 'ACTIVE', { alg: 'RS256', kid: rsaJwk.kid, publicJwk: rsaJwk });
    expect(await failureOf(r, { ...facts, keyRef: 'r2', publicKey: spki(rsa) })).toBe('VERIFIED');
  });

  it('fails KEY_MISMATCH when the record carries a foreign JWK with its own correct kid', async () => {
    const foreign = await publicJwkFromKey(otherKey, 'ES256');
    const r = { ...record, kid: foreign.kid, publicJwk: foreign };
    expect(await failureOf(r, facts)).toBe('KEY_MISMATCH');
  });

  it('fails KEY_MISMATCH when a member of a real key is tampered with but the kid kept', async () => {
    const foreign = await publicJwkFromKey(otherKey, 'ES256');
    const tampered = { ...jwk, x: (foreign as { x: string }).x } as PublicJwk;
    expect(await failureOf({ ...record, publicJwk: tampered }, facts)).toBe('KEY_MISMATCH');
  });

  it('fails KEY_MISMATCH when only the kid differs from the thumbprint', async () => {
    const r = { ...record, kid: 'forged-kid', publicJwk: { ...jwk, kid: 'forged-kid' } };
    expect(await failureOf(r, facts)).toBe('KEY_MISMATCH');
  });

  it('fails when the record alg and its JWK, or the vault key and the alg, disagree', async () => {
    expect(await failureOf({ ...record, alg: 'ES384' }, facts)).toBe('MALFORMED_RECORD');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(await failureOf(record, { ...facts, publicKey: spki(p384) })).toBe('KEY_MISMATCH');
  });

  it('fails MALFORMED_RECORD for a JWK with a private or unknown member, whatever else matches', async () => {
    const withD = { ...jwk, d: 'AAAA' } as unknown as PublicJwk;
    expect(await failureOf({ ...record, publicJwk: withD }, facts)).toBe('MALFORMED_RECORD');
    const withX5c = { ...jwk, x5c: ['AAAA'] } as unknown as PublicJwk;
    expect(await failureOf({ ...record, publicJwk: withX5c }, facts)).toBe('MALFORMED_RECORD');
    expect(await failureOf({ ...record, publicJwk: { ...jwk, use: 'enc' } as never }, facts)).toBe(
      'MALFORMED_RECORD',
    );
  });

  it('fails MALFORMED_RECORD when the record has no vaultKeyId or publicJwk, or kid and JWK disagree', async () => {
    const { vaultKeyId: _v, ...noVaultKey } = record;
    expect(await failureOf(noVaultKey as KeyRecord, facts)).toBe('MALFORMED_RECORD');
    const { publicJwk: _p, ...noJwk } = record;
    expect(await failureOf(noJwk as KeyRecord, facts)).toBe('MALFORMED_RECORD');
    expect(await failureOf({ ...record, kid: 'other' }, facts)).toBe('MALFORMED_RECORD');
  });

  it('fails NOT_IN_VAULT, NOT_THIS_DEPLOYMENT and OTHER_KEY_REF on what the vault says of the key', async () => {
    expect(await failureOf(record, { kind: 'absent' })).toBe('NOT_IN_VAULT');
    expect(await failureOf(record, { ...facts, ours: false })).toBe('NOT_THIS_DEPLOYMENT');
    expect(await failureOf(record, { ...facts, keyRef: 'r9' })).toBe('OTHER_KEY_REF');
    const { keyRef: _k, ...untagged } = facts;
    expect(await failureOf(record, untagged)).toBe('OTHER_KEY_REF');
  });

  it('is UNPROVABLE when the vault will not show the public key or refuses to say', async () => {
    const { publicKey: _pk, ...disabled } = facts;
    expect(await failureOf(record, disabled)).toBe('UNPROVABLE');
    expect(await failureOf(record, { kind: 'denied' })).toBe('UNPROVABLE');
  });
});

describe('provenByPublication', () => {
  it('holds when the exact JWK and kid are in the earlier document, use and alg aside', () => {
    const { use: _u, alg: _a, ...bare } = jwk;
    expect(provenByPublication(record, { keys: [{ kty: 'EC', kid: 'x' }, bare] })).toBe(true);
  });

  it('does not hold for a JWK not in the document, a tampered member, or an unreadable document', async () => {
    const foreign = await publicJwkFromKey(otherKey, 'ES256');
    expect(provenByPublication(record, { keys: [foreign] })).toBe(false);
    expect(provenByPublication(record, { keys: [{ ...jwk, y: (foreign as { y: string }).y }] })).toBe(false);
    expect(provenByPublication(record, undefined)).toBe(false);
    expect(provenByPublication(record, { keys: 'nope' })).toBe(false);
    const withD = { ...jwk, d: 'AAAA' } as unknown as PublicJwk;
    expect(provenByPublication({ ...record, publicJwk: withD }, { keys: [jwk] })).toBe(false);
  });
});
