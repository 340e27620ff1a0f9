import { join } from 'node:path';
/**
 * Builders for registry records in unit tests. Public keys here are syntactically valid but not
 * real (the planner and the commit builder never look inside them); tests that need real keys use
 * MemoryKeyVault.
 */
import { parsePolicy } from '../../src/core/policy.ts';
import type { KeyRecord, Policy, PolicyInput, PublicJwk, RegistrySnapshot } from '../../src/core/types.ts';
import type { StackInfo } from '../../src/local/data-dir.ts';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A fixed instant (2030-01-01T00:00:00Z), so tests never depend on the wall clock. */
export const T0 = Date.UTC(2030, 0, 1);

export const policyOf = (input: PolicyInput = {}): Policy => parsePolicy(input).policy;

/**
 * Compressed durations for property tests: a few dozen steps cover several rotations, and every policy
 * rule still holds.
 */
export const COMPRESSED_POLICY: PolicyInput = Object.freeze({
  algorithm: 'ES256',
  rotationPeriod: '4h',
  prepublishLead: '1h',
  jwksMaxAge: '60s',
  maxTokenTtl: '30m',
  clockSkew: '1m',
  signerCacheTtl: '5s',
  retention: '40m',
  intentTimeout: '15m',
  kmsDeletionWindow: 7,
});

/** A base64url string derived from `seed`, usable as a kid or a key member. */
export const b64 = (seed: string): string => Buffer.from(`${seed}-material`).toString('base64url');

export function fakeJwk(seed: string, alg: 'ES256' | 'RS256' = 'ES256'): PublicJwk {
  const kid = b64(`kid-${seed}`);
  return alg === 'ES256'
    ? { kty: 'EC', kid, use: 'sig', alg, crv: 'P-256', x: b64(`x-${seed}`), y: b64(`y-${seed}`) }
    : { kty: 'RSA', kid, use: 'sig', alg, n: b64(`n-${seed}`), e: 'AQAB' };
}

/** A key record in `status`, with the fields that status implies; override anything. */
export function keyRecord(
  keyRef: string,
  status: KeyRecord['status'],
  extra: Partial<KeyRecord> = {},
): KeyRecord {
  const hasKey = status !== 'CREATING' && status !== 'ABANDONED';
  const jwk = fakeJwk(keyRef);
  return {
    keyRef,
    alg: 'ES256',
    status,
    version: 1,
    createdAt: T0,
    changedBy: 'test',
    reason: 'fixture',
    ...(hasKey ? { kid: jwk.kid, publicJwk: jwk, vaultKeyId: `vault-${keyRef}` } : {}),
    ...extra,
  };
}

/** A snapshot whose STATE mirrors the records (as every commit leaves it). */
export function snapshotOf(
  keys: KeyRecord[],
  state: Partial<RegistrySnapshot['state']> = {},
  registryVersion = 7,
): RegistrySnapshot {
  const active = keys.find((k) => k.status === 'ACTIVE');
  const standby = keys.find((k) => k.status === 'CREATING' || k.status === 'PENDING');
  return {
    state: {
      registryVersion,
      ...(active
        ? {
            activeKeyRef: active.keyRef,
            activeKid: active.kid,
            activeAlg: active.alg,
            activeVaultKeyId: active.vaultKeyId,
            bootstrappedAt: active.activatedAt ?? T0,
          }
        : {}),
      ...(standby ? { pendingKeyRef: standby.keyRef } : {}),
      ...state,
    },
    keys,
  };
}

/** stack.json as a local stack on `dir` with process `pid` writes it (endpoints that answer nothing). */
export function stackInfoFor(dir: string, pid: number): StackInfo {
  return {
    pid,
    url: 'http://127.0.0.1:1',
    region: 'us-east-1',
    dynamodbEndpoint: 'http://127.0.0.1:1',
    s3Endpoint: 'http://127.0.0.1:1',
    tableName: 't',
    bucket: 'b',
    distributionId: 'LOCAL',
    deploymentName: 'local',
    keysDir: join(dir, 'keys'),
    policy: {},
  };
}
