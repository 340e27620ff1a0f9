/**
 * Issue #5 end to end: `npm start` as a user runs it, clients registered with the `jwks` CLI, tokens
 * fetched over HTTP from `<url>/oauth2/token` with each client authentication method, and verified by
 * verifiers nobody here wrote (jose's remote JWK set; jwks-rsa + jsonwebtoken) with the issuer,
 * audience, `typ` and algorithm checks a resource server makes — across an automatic rotation, and
 * until `clients disable`. Durations are compressed; the policy rules still hold.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type StackProcess, startStack, tempDataDir } from './stack-process.ts';

const S = 1000;
const POLICY = {
  JWKS_MAX_AGE: '1s',
  PREPUBLISH_LEAD: '3s',
  ROTATION_PERIOD: '6s',
  MAX_TOKEN_TTL: '10s',
  CLOCK_SKEW: '1s',
  SIGNER_CACHE_TTL: '1s',
  RETENTION: '15s',
};
const SIGNER_CACHE_TTL = 1 * S;
const API = 'https://orders.example';
const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384'] as const;
const FORM = 'application/x-www-form-urlencoded';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Metadata {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('the token endpoint of the local stack, checked by real verifiers', () => {
  let stack: StackProcess;
  let url: string;
  let tokenUrl: string;
  let metadata: Metadata;
  let secret: string;
  let clientKey: { privateKey: CryptoKey; kid: string };

  /** POST to the token endpoint over HTTP, as any OAuth client does. */
  async function post(
    params: Record<string, string> | string,
    { method = 'POST', ...headers }: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(tokenUrl, {
      method,
      headers: { 'content-type': FORM, ...headers },
      ...(method === 'GET'
        ? {}
        : { body: typeof params === 'string' ? params : new URLSearchParams(params).toString() }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  }

  const assertion = (claims: Record<string, unknown> = {}, alg = 'ES256') =>
    new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg, kid: clientKey.kid })
      .setIssuer('jwt-svc')
      .setSubject('jwt-svc')
      .setAudience(url)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(clientKey.privateKey);

  const byMethod: Record<string, () => Promise<Answer>> = {
    client_secret_basic: () =>
      post(
        { grant_type: 'client_credentials', scope: 'orders:read' },
        { authorization: basic('svc', secret) },
      ),
    client_secret_post: () =>
      post({ grant_type: 'client_credentials', client_id: 'svc', client_secret: secret, resource: API }),
    private_key_jwt: async () =>
      post({
        grant_type: 'client_credentials',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(),
      }),
  };

  /** The two verifiers, built once from the discovered jwks_uri and kept, caching for the max-age. */
  let verifiers: Array<{ name: string; verify(token: string): Promise<void> }>;

  beforeAll(async () => {
    stack = await startStack({ env: POLICY });
    url = stack.url;
    tokenUrl = `${url}/oauth2/token`;

    const created = await cli(stack.dataDir, [
      'clients',
      'create',
      'svc',
      '--scope',
      'orders:read',
      '--audience',
      API,
      '--with-secret',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    secret = String((JSON.parse(created.stdout) as { client_secret: string }).client_secret);

    const { privateKey, publicKey } = await generateKeyPair('ES256');
    clientKey = { privateKey, kid: 'jwt-svc-1' };
    const jwksFile = join(tempDataDir(), 'jwt-svc.jwks.json');
    const jwk = { ...(await exportJWK(publicKey)), kid: clientKey.kid, alg: 'ES256', use: 'sig' };
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const withKeys = await cli(stack.dataDir, [
      'clients',
      'create',
      'jwt-svc',
      '--scope',
      'orders:read',
      '--scope',
      'orders:write',
      '--audience',
      API,
      '--jwks-file',
      jwksFile,
      '--json',
    ]);
    expect(withKeys.code, withKeys.stderr).toBe(0);
    expect(JSON.parse(withKeys.stdout)).not.toHaveProperty('client_secret');

    metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as Metadata;
    const joseKeys = createRemoteJWKSet(new URL(metadata.jwks_uri), {
      cacheMaxAge: S,
      cooldownDuration: S,
    });
    const rsaKeys = jwksRsa({ jwksUri: metadata.jwks_uri, cache: true, cacheMaxAge: S, rateLimit: false });
    verifiers = [
      {
        name: 'jose',
        async verify(token) {
          await jwtVerify(token, joseKeys, {
            issuer: url,
            audience: API,
            typ: 'at+jwt',
            algorithms: [...ALGORITHMS],
          });
        },
      },
      {
        name: 'jwks-rsa + jsonwebtoken',
        async verify(token) {
          const key = await rsaKeys.getSigningKey(decodeProtectedHeader(token).kid);
          const { header } = jwt.verify(token, key.getPublicKey(), {
            algorithms: [...ALGORITHMS],
            issuer: url,
            audience: API,
            complete: true,
          });
          // jsonwebtoken does not check typ (RFC 9068 §4): the resource server does.
          if (header.typ !== 'at+jwt') throw new Error(`typ ${String(header.typ)}`);
        },
      },
    ];
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves both discovery documents with the base URL they are fetched from as issuer', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(200);
      const doc = (await res.json()) as Metadata;
      expect(doc.issuer, path).toBe(url);
      expect(doc.token_endpoint).toBe(tokenUrl);
      expect(doc.jwks_uri).toBe(`${url}/.well-known/jwks.json`);
      expect(doc.grant_types_supported).toEqual(['client_credentials']);
      expect(doc.token_endpoint_auth_methods_supported).toEqual(Object.keys(byMethod));
    }
  });

  it.each(['client_secret_basic', 'client_secret_post', 'private_key_jwt'])(
    'issues a token with %s that jose and jwks-rsa + jsonwebtoken verify',
    async (method) => {
      const res = await (byMethod[method] as () => Promise<Answer>)();
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 10 });
      const token = String(res.body.access_token);
      for (const v of verifiers) await v.verify(token);
      const clientId = method === 'private_key_jwt' ? 'jwt-svc' : 'svc';
      expect(decodeJwt(token)).toMatchObject({ iss: url, sub: clientId, client_id: clientId, aud: API });
      expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    },
  );

  it('keeps issuing tokens that verify across an automatic rotation', async () => {
    const tokens: Array<{ token: string; kid: string; exp: number }> = [];
    const failures: string[] = [];
    const methods = Object.keys(byMethod);
    const deadline = Date.now() + 40 * S;
    let i = 0;
    // Until a second kid has signed, and a few tokens more.
    while (Date.now() < deadline) {
      const kids = new Set(tokens.map((t) => t.kid));
      if (kids.size >= 2 && tokens.filter((t) => t.kid === tokens.at(-1)?.kid).length >= 3) break;
      const method = methods[i++ % methods.length] as string;
      const res = await (byMethod[method] as () => Promise<Answer>)();
      if (res.status !== 200) {
        failures.push(`${method}: ${res.status} ${JSON.stringify(res.body)}`);
        continue;
      }
      const token = String(res.body.access_token);
      tokens.push({
        token,
        kid: String(decodeProtectedHeader(token).kid),
        exp: (decodeJwt(token).exp ?? 0) * S,
      });
      for (const v of verifiers) {
        await v.verify(token).catch((err: Error) => failures.push(`${v.name}: ${err.message}`));
      }
      await sleep(300);
    }
    // Every token signed before the rotation still verifies while it is valid.
    for (const t of tokens.filter((x) => x.exp - Date.now() > S)) {
      for (const v of verifiers) {
        await v.verify(t.token).catch((err: Error) => failures.push(`${v.name} later: ${err.message}`));
      }
    }
    expect(failures).toEqual([]);
    expect(new Set(tokens.map((t) => t.kid)).size).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('answers client mistakes with their RFC 6749 errors over HTTP, never a 500', async () => {
    const grant = { grant_type: 'client_credentials' };
    const replayed = await assertion();
    const first = await post({ ...grant, client_assertion_type: ASSERTION_TYPE, client_assertion: replayed });
    expect(first.status).toBe(200);
    const hs256 = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('jwt-svc')
      .setSubject('jwt-svc')
      .setAudience(url)
      .setExpirationTime('60s')
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));

    const svc = { authorization: basic('svc', secret) };
    const asserted = (a: string) => ({
      ...grant,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: a,
    });
    type Params = Record<string, string> | string;
    const cases: Array<[string, Params, Record<string, string>, number, string]> = [
      ['wrong secret', grant, { authorization: basic('svc', `${secret}x`) }, 401, 'invalid_client'],
      ['unknown client', grant, { authorization: basic('nobody', secret) }, 401, 'invalid_client'],
      ['no authentication', grant, {}, 401, 'invalid_client'],
      ['unknown grant type', { grant_type: 'password' }, svc, 400, 'unsupported_grant_type'],
      ['no grant type', {}, svc, 400, 'invalid_request'],
      [
        'grant_type twice',
        `grant_type=${grant.grant_type}&grant_type=${grant.grant_type}`,
        svc,
        400,
        'invalid_request',
      ],
      [
        'JSON body',
        JSON.stringify(grant),
        { ...svc, 'content-type': 'application/json' },
        400,
        'invalid_request',
      ],
      ['scope not allowed', { ...grant, scope: 'orders:write' }, svc, 400, 'invalid_scope'],
      ['audience not allowed', { ...grant, resource: 'https://other.example' }, svc, 400, 'invalid_target'],
      ['body over 16 KiB', { ...grant, pad: 'x'.repeat(20_000) }, svc, 413, 'invalid_request'],
      ['replayed assertion', asserted(replayed), {}, 401, 'invalid_client'],
      ['HS256 assertion', asserted(hs256), {}, 401, 'invalid_client'],
      ['GET', '', { method: 'GET' }, 405, 'invalid_request'],
    ];
    const bodies = new Map<string, string>();
    for (const [name, params, headers, status, error] of cases) {
      const res = await post(params, headers);
      expect({ name, status: res.status, error: res.body.error }).toEqual({ name, status, error });
      expect(res.headers.get('cache-control'), name).toBe('no-store');
      if (status === 401) expect(res.headers.get('www-authenticate'), name).toMatch(/^Basic realm="/);
      if (status === 405) expect(res.headers.get('allow')).toBe('POST');
      bodies.set(name, JSON.stringify(res.body));
    }
    // A wrong secret and an unknown client are told apart by nothing.
    expect(bodies.get('unknown client')).toBe(bodies.get('wrong secret'));
    // And none of them was a failure of ours (the endpoint logs those as errors).
    expect(stack.stderr()).not.toMatch(/token: request failed|edge: request failed/);
  }, 60_000);

  it('refuses a client with 401 invalid_client within signerCacheTtl of clients disable', async () => {
    expect((await byMethod.client_secret_basic?.())?.status).toBe(200);
    const run = await cli(stack.dataDir, ['clients', 'disable', 'svc', '--reason', 'e2e', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const disabledAt = Date.now();
    let refusedAfter = Number.POSITIVE_INFINITY;
    let last: Answer | undefined;
    while (Date.now() - disabledAt < 5 * S) {
      last = await byMethod.client_secret_basic?.();
      if (last?.status !== 200) {
        refusedAfter = Date.now() - disabledAt;
        break;
      }
      await sleep(50);
    }
    expect(last?.status).toBe(401);
    expect(last?.body.error).toBe('invalid_client');
    expect(refusedAfter).toBeLessThanOrEqual(SIGNER_CACHE_TTL + 1000);
    // Only that client: the other one still gets tokens.
    expect((await byMethod.private_key_jwt?.())?.status).toBe(200);
    const list = await cli(stack.dataDir, ['clients', 'list', '--json']);
    const { clients } = JSON.parse(list.stdout) as { clients: Array<{ client_id: string; status: string }> };
    expect(clients.map((c) => [c.client_id, c.status])).toEqual([
      ['jwt-svc', 'active'],
      ['svc', 'disabled'],
    ]);
    expect(list.stdout).not.toContain('$scrypt$');
  }, 30_000);
});
