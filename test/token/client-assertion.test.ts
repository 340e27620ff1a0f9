import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AssertionRejected, ClientAssertionVerifier } from '../../src/token/client-assertion.ts';
import type { Client } from '../../src/token/types.ts';
import { type ClientKeys, clientKeyPair, ISSUER, T0, TOKEN_URL } from './harness.ts';

const CLIENT_ID = 'orders-service';

function clientWith(jwks: Client['jwks']): Client {
  return {
    clientId: CLIENT_ID,
    scopes: ['read'],
    audiences: ['https://api.example.com'],
    status: 'active',
    ...(jwks === undefined ? {} : { jwks }),
    createdAt: T0,
    changedBy: 'cli:test',
    reason: 'fixture',
  };
}

function sign(iss: string, key: ClientKeys, header: { kid?: string } = { kid: key.kid }): Promise<string> {
  const iat = Math.floor(T0 / 1000);
  return new SignJWT({ iss, sub: iss, aud: ISSUER, iat, exp: iat + 60, jti: randomUUID() })
    .setProtectedHeader({ alg: key.alg, ...header })
    .sign(key.privateKey);
}

describe('ClientAssertionVerifier: the same work whatever the reason (no client enumeration)', () => {
  let registered: ClientKeys;
  let second: ClientKeys;
  let stranger: ClientKeys;
  let clients: Map<string, Client>;
  let verifier: ClientAssertionVerifier;

  beforeAll(async () => {
    const a = await clientKeyPair('RS256', 'key-a');
    const b = await clientKeyPair('RS256', 'key-b');
    registered = a.keys;
    second = b.keys;
    stranger = (await clientKeyPair('RS256', 'unknown-kid')).keys;
    clients = new Map([[CLIENT_ID, clientWith({ keys: [a.jwk, b.jwk] })]]);
  });

  beforeEach(async () => {
    verifier = new ClientAssertionVerifier({
      clients: { get: async (id) => clients.get(id), useJti: async () => true },
      audiences: [ISSUER, TOKEN_URL],
      clockSkewMs: 0,
      clock: () => T0,
    });
    await verifier.warmUp();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** How many signature checks one verification made, and how it ended. */
  async function signatureChecks(assertion: string): Promise<{ checks: number; outcome: string }> {
    const spy = vi.spyOn(globalThis.crypto.subtle, 'verify');
    const outcome = await verifier.verify(assertion, undefined).then(
      () => 'accepted',
      (err: unknown) => (err instanceof AssertionRejected ? 'rejected' : String(err)),
    );
    const checks = spy.mock.calls.length;
    spy.mockRestore();
    return { checks, outcome };
  }

  it('makes one signature check when the assertion is valid', async () => {
    expect(await signatureChecks(await sign(CLIENT_ID, registered))).toEqual({
      checks: 1,
      outcome: 'accepted',
    });
  });

  it.each([
    ['the client is unknown', async () => sign('no-such-client', stranger)],
    ['the kid matches none of the client keys', async () => sign(CLIENT_ID, stranger)],
    ['no kid is sent and several client keys match', async () => sign(CLIENT_ID, second, {})],
    [
      'the signature is made with another key under a registered kid',
      async () => sign(CLIENT_ID, stranger, { kid: registered.kid }),
    ],
  ])('makes exactly one signature check, and rejects, when %s', async (_why, make) => {
    expect(await signatureChecks(await make())).toEqual({ checks: 1, outcome: 'rejected' });
  });

  it('takes about as long for an unknown client as for a known client with an unknown kid', async () => {
    const unknownClient = await sign('no-such-client', stranger);
    const unknownKid = await sign(CLIENT_ID, stranger);
    const time = async (assertion: string) => {
      const start = performance.now();
      await verifier.verify(assertion, undefined).catch(() => undefined);
      return performance.now() - start;
    };
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < 20; i++) await time(unknownKid); // warm up jose's key import caches
    // Interleaved, so load on a shared machine hits both alike; medians shrug off the outliers.
    for (let i = 0; i < 200; i++) {
      samples[0].push(await time(unknownClient));
      samples[1].push(await time(unknownKid));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const ratio = median(samples[0]) / median(samples[1]);
    // Before the fix the unknown kid skipped the signature check: about 8 times faster.
    expect(ratio).toBeGreaterThan(1 / 2);
    expect(ratio).toBeLessThan(2);
  });
});
