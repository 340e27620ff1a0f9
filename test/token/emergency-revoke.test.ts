/**
 * The token path through an emergency revoke that finds no published standby (design §3): the Lambda
 * entry answers 503 `temporarily_unavailable` with `Retry-After` while no key is ACTIVE, and issues
 * tokens signed with a kid that is in the published JWKS as soon as the standby has been published.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { createTokenHandler } from '../../src/handlers/token-handler.ts';
import { revokeKey } from '../../src/operations.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { Signer } from '../../src/signer.ts';
import { createClient } from '../../src/token/clients-admin.ts';
import { createTokenEndpoint } from '../../src/token/endpoint.ts';
import { MINUTE, policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld } from '../support/world.ts';
import { basic, form, ISSUER } from './harness.ts';
import { MemoryClientStore } from './memory-client-store.ts';

const policy = policyOf({ algorithm: 'ES256' });
const operator = { changedBy: 'cli:ops', reason: 'key material leaked' };

function tokenRequest(authorization: string): APIGatewayProxyEvent {
  return {
    resource: '/oauth2/token',
    path: '/oauth2/token',
    httpMethod: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    body: form({ grant_type: 'client_credentials' }),
    isBase64Encoded: false,
  };
}

describe('token Lambda entry during an emergency revoke without a published standby', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 8));

  it('answers 503 temporarily_unavailable with Retry-After until the standby is published, then signs with it', async () => {
    const w = makeWorld(policy);
    let now = T0;
    for (let i = 0; i < 2; i++) {
      await reconcile(w.ops, now);
      await publishJwks(w.publish, now);
    }
    const clients = new MemoryClientStore({ clock: () => now });
    const { secret } = await createClient(
      clients,
      { clientId: 'svc', scopes: ['read'], audiences: ['https://api.example.com'] },
      operator,
    );
    const signer = new Signer({ registry: w.registry, vault: w.vault, cacheTtlMs: 0, clock: () => now });
    const endpoint = createTokenEndpoint({ clients, signer, policy, issuer: ISSUER, clock: () => now });
    const handler = createTokenHandler(endpoint);
    const request = tokenRequest(basic('svc', String(secret)));

    now += MINUTE;
    await revokeKey(w.ops, w.registry.snapshot().state.pendingKid as string, operator, now);
    const awaiting = w.registry.snapshot().state.pendingKid as string; // not published yet
    await revokeKey(w.ops, w.registry.snapshot().state.activeKid as string, operator, now);

    const unavailable = await handler(request);
    expect(unavailable.statusCode).toBe(503);
    expect(JSON.parse(unavailable.body)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(unavailable.headers?.['Retry-After']).toMatch(/^[1-9]\d*$/);
    expect(unavailable.headers?.['Cache-Control']).toBe('no-store');

    now += 2000;
    await publishJwks(w.publish, now);
    await reconcile(w.ops, now + 500);
    now += 1000;
    const issued = await handler(request);
    expect(issued.statusCode).toBe(200);
    const { kid } = decodeProtectedHeader(JSON.parse(issued.body).access_token as string);
    expect(kid).toBe(awaiting);
    expect(w.store.text(OBJECT_KEYS.JWKS)).toContain(awaiting);
  });
});
