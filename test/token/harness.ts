/**
 * A token endpoint over real parts for the token tests: a Signer over a MemoryKeyVault/MemoryRegistry
 * with one ACTIVE key, a MemoryClientStore with clients created through `createClient` (so secrets
 * are really hashed), client key pairs for private_key_jwt, and request builders.
 */
import { randomUUID } from 'node:crypto';
import { base64url, type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parsePolicy } from '../../src/core/policy.ts';
import type { Algorithm, Policy, PublicJwk } from '../../src/core/types.ts';
import { Signer } from '../../src/signer.ts';
import { createClient, disableClient } from '../../src/token/clients-admin.ts';
import {
  createTokenEndpoint,
  type TokenEndpoint,
  type TokenEndpointOptions,
} from '../../src/token/endpoint.ts';
import type { TokenHttpRequest } from '../../src/token/types.ts';
import { MemoryKeyVault, MemoryRegistry } from '../support/memory.ts';
import { MemoryClientStore } from './memory-client-store.ts';

export const ISSUER = 'https://issuer.example.com';
export const TOKEN_URL = `${ISSUER}/oauth2/token`;
export const API = 'https://api.example.com';
export const T0 = Date.UTC(2030, 0, 1);
export const FORM = 'application/x-www-form-urlencoded';
const change = { changedBy: 'cli:test', reason: 'fixture' };

export interface ClientKeys {
  readonly privateKey: CryptoKey;
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256';
}

export interface Harness {
  readonly endpoint: TokenEndpoint;
  readonly store: MemoryClientStore;
  readonly vault: MemoryKeyVault;
  readonly registry: MemoryRegistry;
  readonly policy: Policy;
  /** The ACTIVE key's public JWK (what the published JWKS holds). */
  readonly publicJwk: PublicJwk;
  /** Secrets of the secret clients, by id. */
  readonly secrets: Record<string, string>;
  /** Key pairs of the private_key_jwt clients, by id. */
  readonly keys: Record<string, ClientKeys>;
  now: number;
}

export async function clientKeyPair(alg: 'ES256' | 'RS256', kid: string = randomUUID()) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { keys: { privateKey, kid, alg } as ClientKeys, jwk };
}

/** Put an ACTIVE key for `alg` into the registry, as a bootstrap commit would. */
export async function activeKey(
  vault: MemoryKeyVault,
  registry: MemoryRegistry,
  alg: Algorithm,
): Promise<PublicJwk> {
  const { vaultKeyId } = await vault.createKey({ keyRef: 'ref-1', alg });
  const publicJwk = await vault.getPublicJwk(vaultKeyId, alg);
  await registry.commit({
    expectedRegistryVersion: 0,
    keys: [
      {
        expectedVersion: null,
        record: {
          keyRef: 'ref-1',
          kid: publicJwk.kid,
          alg,
          status: 'ACTIVE',
          version: 1,
          vaultKeyId,
          publicJwk,
          createdAt: T0,
          publishedAt: T0,
          activatedAt: T0,
          changedBy: 'schedule',
          reason: 'bootstrap',
        },
      },
    ],
    state: { activeKeyRef: 'ref-1', activeKid: publicJwk.kid, activeAlg: alg, activeVaultKeyId: vaultKeyId },
    change,
  });
  return publicJwk;
}

export async function createHarness(
  opts: { alg?: Algorithm; endpoint?: Partial<TokenEndpointOptions>; activeKey?: boolean } = {},
): Promise<Harness> {
  const policy = parsePolicy({ algorithm: opts.alg ?? 'RS256' }).policy;
  const vault = new MemoryKeyVault();
  const registry = new MemoryRegistry();
  const publicJwk =
    opts.activeKey === false
      ? (undefined as unknown as PublicJwk)
      : await activeKey(vault, registry, policy.algorithm);
  const time = { now: T0 };
  const store = new MemoryClientStore({ clock: () => time.now });
  const secrets: Record<string, string> = {};
  const keys: Record<string, ClientKeys> = {};
  const audiences = [API, 'orders'];
  for (const clientId of ['svc-a', 'svc-off']) {
    const { secret } = await createClient(store, { clientId, scopes: ['read', 'write'], audiences }, change);
    secrets[clientId] = String(secret);
  }
  for (const [clientId, alg] of [
    ['jwt-a', 'ES256'],
    ['jwt-rsa', 'RS256'],
    ['jwt-off', 'ES256'],
  ] as const) {
    const pair = await clientKeyPair(alg);
    keys[clientId] = pair.keys;
    await createClient(store, { clientId, scopes: ['read'], audiences, jwks: { keys: [pair.jwk] } }, change);
  }
  await disableClient(store, 'svc-off', change);
  await disableClient(store, 'jwt-off', change);
  const clock = () => time.now;
  const signer = new Signer({ registry, vault, cacheTtlMs: policy.signerCacheTtl, clock });
  const endpoint = createTokenEndpoint({
    clients: store,
    signer,
    policy,
    issuer: ISSUER,
    tokenEndpointUrl: TOKEN_URL,
    clock,
    ...opts.endpoint,
  });
  return {
    endpoint,
    store,
    vault,
    registry,
    policy,
    publicJwk,
    secrets,
    keys,
    get now() {
      return time.now;
    },
    set now(value: number) {
      time.now = value;
    },
  };
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export function form(params: Array<[string, string]> | Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

export function post(
  body: string | Uint8Array,
  headers: Record<string, string | string[]> = {},
  contentType: string | null = FORM,
): TokenHttpRequest {
  return {
    method: 'POST',
    headers: { ...(contentType === null ? {} : { 'content-type': contentType }), ...headers },
    body,
  };
}

export interface AssertionClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  jti?: string | null;
  iat?: number;
  exp?: number | null;
}

/** A client assertion signed with the client's key; override any claim (null drops it). */
export async function assertion(
  h: Harness,
  clientId: string,
  claims: AssertionClaims = {},
  key?: ClientKeys,
) {
  const k = key ?? h.keys[clientId];
  if (!k) throw new Error(`no keys for ${clientId}`);
  const iat = claims.iat ?? Math.floor(h.now / 1000);
  const payload: Record<string, unknown> = {
    iss: claims.iss ?? clientId,
    sub: claims.sub ?? clientId,
    aud: claims.aud ?? ISSUER,
    iat,
    ...(claims.exp === null ? {} : { exp: claims.exp ?? iat + 60 }),
    ...(claims.jti === null ? {} : { jti: claims.jti ?? randomUUID() }),
  };
  return new SignJWT(payload).setProtectedHeader({ alg: k.alg, kid: k.kid }).sign(k.privateKey);
}

/** An unsecured JWT (`alg: none`, RFC 7519 §6) with otherwise valid claims. */
export function unsecuredAssertion(h: Harness, clientId: string): string {
  const iat = Math.floor(h.now / 1000);
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
  return `${enc({ alg: 'none' })}.${enc({ iss: clientId, sub: clientId, aud: ISSUER, iat, exp: iat + 60, jti: randomUUID() })}.`;
}

/** An HS256 assertion keyed with `secret` (client_secret_jwt, which we do not accept). */
export async function hmacAssertion(h: Harness, clientId: string, secret: string): Promise<string> {
  const iat = Math.floor(h.now / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(new TextEncoder().encode(secret));
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export function assertionForm(token: string, extra: Record<string, string> = {}): string {
  return form({
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER,
    client_assertion: token,
    ...extra,
  });
}
