import { randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TokenHttpRequest, TokenHttpResponse } from '../../src/token/types.ts';
import {
  API,
  assertion,
  assertionForm,
  basic,
  clientKeyPair,
  createHarness,
  FORM,
  form,
  type Harness,
  hmacAssertion,
  ISSUER,
  JWT_BEARER,
  post,
  T0,
  TOKEN_URL,
  unsecuredAssertion,
} from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  await h.endpoint.warmUp();
});

beforeEach(() => {
  h.now = T0;
});

const cc = { grant_type: 'client_credentials' };
const secretOf = (id: string) => h.secrets[id] ?? '';

interface Case {
  readonly name: string;
  readonly request: () => TokenHttpRequest | Promise<TokenHttpRequest>;
  readonly status: number;
  readonly error: string;
  /** Runs before the request (e.g. a first use of an assertion). */
  readonly before?: (req: TokenHttpRequest) => Promise<void>;
}

const cases: Case[] = [
  // Transport and syntax (RFC 6749 §3.2, Appendix B)
  {
    name: 'GET instead of POST',
    request: () => ({ method: 'GET', headers: {}, body: '' }),
    status: 405,
    error: 'invalid_request',
  },
  {
    name: 'a JSON body',
    request: () =>
      post(JSON.stringify(cc), { authorization: basic('svc-a', secretOf('svc-a')) }, 'application/json'),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'no content type',
    request: () => post(form(cc), { authorization: basic('svc-a', secretOf('svc-a')) }, null),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a charset other than UTF-8',
    request: () => post(form(cc), {}, `${FORM}; charset=ISO-8859-1`),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a body over 16 KiB',
    request: () =>
      post(`${form(cc)}&pad=${'x'.repeat(16 * 1024)}`, { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 413,
    error: 'invalid_request',
  },
  {
    name: 'a body that is not UTF-8',
    request: () => post(new Uint8Array([...Buffer.from('grant_type=client_credentials&x='), 0xff, 0xfe])),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'no grant_type',
    request: () => post(form({ scope: 'read' }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an unsupported grant_type',
    request: () =>
      post(form({ grant_type: 'password', username: 'u', password: 'p' }), {
        authorization: basic('svc-a', secretOf('svc-a')),
      }),
    status: 400,
    error: 'unsupported_grant_type',
  },
  {
    name: 'grant_type sent twice',
    request: () =>
      post(
        form([
          ['grant_type', 'client_credentials'],
          ['grant_type', 'client_credentials'],
        ]),
        { authorization: basic('svc-a', secretOf('svc-a')) },
      ),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'scope sent twice',
    request: () =>
      post(
        form([
          ['grant_type', 'client_credentials'],
          ['scope', 'read'],
          ['scope', 'write'],
        ]),
        { authorization: basic('svc-a', secretOf('svc-a')) },
      ),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'client_secret sent twice',
    request: () =>
      post(
        form([
          ['grant_type', 'client_credentials'],
          ['client_id', 'svc-a'],
          ['client_secret', secretOf('svc-a')],
          ['client_secret', secretOf('svc-a')],
        ]),
      ),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'the Authorization header twice with different values',
    request: () =>
      post(form(cc), { authorization: [basic('svc-a', secretOf('svc-a')), basic('svc-a', 'other')] }),
    status: 400,
    error: 'invalid_request',
  },
  // Client authentication (RFC 6749 §2.3, §5.2)
  {
    name: 'Basic and client_secret_post together',
    request: () =>
      post(form({ ...cc, client_id: 'svc-a', client_secret: secretOf('svc-a') }), {
        authorization: basic('svc-a', secretOf('svc-a')),
      }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a client_id in the body that differs from the Basic one',
    request: () =>
      post(form({ ...cc, client_id: 'svc-off' }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'client_secret without client_id',
    request: () => post(form({ ...cc, client_secret: secretOf('svc-a') })),
    status: 400,
    error: 'invalid_request',
  },
  { name: 'no client authentication', request: () => post(form(cc)), status: 401, error: 'invalid_client' },
  {
    name: 'a client_id alone (public client)',
    request: () => post(form({ ...cc, client_id: 'svc-a' })),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'a wrong secret (basic)',
    request: () => post(form(cc), { authorization: basic('svc-a', 'wrong-secret') }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'a wrong secret (post)',
    request: () => post(form({ ...cc, client_id: 'svc-a', client_secret: 'wrong-secret' })),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an unknown client',
    request: () => post(form(cc), { authorization: basic('nobody', 'wrong-secret') }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'a disabled client with its right secret',
    request: () => post(form(cc), { authorization: basic('svc-off', secretOf('svc-off')) }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'a malformed Basic header',
    request: () => post(form(cc), { authorization: 'Basic !!!not-base64' }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'Basic credentials without a colon',
    request: () => post(form(cc), { authorization: `Basic ${Buffer.from('svc-a').toString('base64')}` }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'a Bearer Authorization header',
    request: () => post(form(cc), { authorization: 'Bearer abc' }),
    status: 401,
    error: 'invalid_client',
  },
  // Scope and audience (RFC 6749 §3.3, RFC 8707 §2)
  {
    name: 'a scope the client does not have',
    request: () =>
      post(form({ ...cc, scope: 'read admin' }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_scope',
  },
  {
    name: 'a malformed scope',
    request: () =>
      post(form({ ...cc, scope: 'read  write' }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_scope',
  },
  {
    name: 'an audience the client does not have',
    request: () =>
      post(form({ ...cc, audience: 'payments' }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_target',
  },
  {
    name: 'a resource the client does not have',
    request: () =>
      post(form({ ...cc, resource: 'https://other.example.com' }), {
        authorization: basic('svc-a', secretOf('svc-a')),
      }),
    status: 400,
    error: 'invalid_target',
  },
  {
    name: 'a resource that is not an absolute URI',
    request: () =>
      post(form({ ...cc, resource: 'orders' }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_target',
  },
  {
    name: 'a resource with a fragment',
    request: () =>
      post(form({ ...cc, resource: `${API}#frag` }), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 400,
    error: 'invalid_target',
  },
  {
    name: 'two resources',
    request: () =>
      post(
        form([
          ['grant_type', 'client_credentials'],
          ['resource', API],
          ['resource', 'https://orders.example.com'],
        ]),
        { authorization: basic('svc-a', secretOf('svc-a')) },
      ),
    status: 400,
    error: 'invalid_target',
  },
  {
    name: 'both resource and audience',
    request: () =>
      post(form({ ...cc, resource: API, audience: 'orders' }), {
        authorization: basic('svc-a', secretOf('svc-a')),
      }),
    status: 400,
    error: 'invalid_request',
  },
  // private_key_jwt (RFC 7523 §3, RFC 7521 §4.2)
  {
    name: 'an assertion replayed',
    request: async () => post(assertionForm(await assertion(h, 'jwt-a'))),
    before: async (req) => {
      const first = await h.endpoint.handle(req);
      expect(first.status).toBe(200);
    },
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an expired assertion',
    request: async () => {
      const iat = Math.floor(T0 / 1000) - 3600;
      return post(assertionForm(await assertion(h, 'jwt-a', { iat, exp: iat + 60 })));
    },
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion valid for too long',
    request: async () =>
      post(assertionForm(await assertion(h, 'jwt-a', { exp: Math.floor(T0 / 1000) + 2 * 3600 }))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion without exp',
    request: async () => post(assertionForm(await assertion(h, 'jwt-a', { exp: null }))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion without jti',
    request: async () => post(assertionForm(await assertion(h, 'jwt-a', { jti: null }))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion signed with alg none',
    request: () => post(assertionForm(unsecuredAssertion(h, 'jwt-a'))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion signed with HS256',
    request: async () => post(assertionForm(await hmacAssertion(h, 'jwt-a', secretOf('svc-a')))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion for another audience',
    request: async () =>
      post(assertionForm(await assertion(h, 'jwt-a', { aud: 'https://elsewhere.example.com' }))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion with several audiences',
    request: async () =>
      post(assertionForm(await assertion(h, 'jwt-a', { aud: [ISSUER, 'https://evil.example'] }))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion whose sub is not its iss',
    request: async () => post(assertionForm(await assertion(h, 'jwt-a', { sub: 'jwt-rsa' }))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion signed by a key the client did not register',
    request: async () => {
      const other = await clientKeyPair('ES256', h.keys['jwt-a']?.kid);
      return post(assertionForm(await assertion(h, 'jwt-a', {}, other.keys)));
    },
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion from an unknown client',
    request: async () => post(assertionForm(await assertion(h, 'jwt-ghost', {}, h.keys['jwt-a']))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion from a disabled client',
    request: async () => post(assertionForm(await assertion(h, 'jwt-off'))),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion whose client_id parameter differs',
    request: async () => post(assertionForm(await assertion(h, 'jwt-a'), { client_id: 'jwt-rsa' })),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an unsupported client_assertion_type',
    request: async () =>
      post(
        form({
          ...cc,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
          client_assertion: await assertion(h, 'jwt-a'),
        }),
      ),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'a client_assertion without its type',
    request: async () => post(form({ ...cc, client_assertion: await assertion(h, 'jwt-a') })),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an assertion together with Basic',
    request: async () =>
      post(assertionForm(await assertion(h, 'jwt-a')), { authorization: basic('svc-a', secretOf('svc-a')) }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an assertion that is not a JWT',
    request: () => post(assertionForm('not.a.jwt')),
    status: 401,
    error: 'invalid_client',
  },
];

describe('token endpoint: bad requests', () => {
  it.each(cases)('answers $status $error when sent $name', async (c) => {
    const req = await c.request();
    await c.before?.(req);
    const res = await h.endpoint.handle(req);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect({ status: res.status, error: body.error }).toEqual({ status: c.status, error: c.error });
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    expect(typeof body.error_description).toBe('string');
    expect(res.body).not.toMatch(/\n\s+at |stack|Error:/);
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(res.headers['Content-Type']).toMatch(/^application\/json/);
    if (res.status === 401) expect(res.headers['WWW-Authenticate']).toMatch(/^Basic realm="/);
    if (res.status === 405) expect(res.headers.Allow).toBe('POST');
  });

  it('never answers 5xx for any of them', async () => {
    for (const c of cases) {
      const req = await c.request();
      const res = await h.endpoint.handle(req);
      expect(res.status, c.name).toBeLessThan(500);
    }
  });
});

describe('token endpoint: no disclosure of client existence', () => {
  const bytes = (r: TokenHttpResponse) => JSON.stringify([r.status, r.headers, r.body]);

  it('answers unknown, disabled and wrong-secret Basic requests byte for byte alike', async () => {
    const responses = await Promise.all([
      h.endpoint.handle(post(form(cc), { authorization: basic('nobody', secretOf('svc-a')) })),
      h.endpoint.handle(post(form(cc), { authorization: basic('svc-off', secretOf('svc-off')) })),
      h.endpoint.handle(post(form(cc), { authorization: basic('svc-a', secretOf('svc-off')) })),
      h.endpoint.handle(post(form(cc), { authorization: basic('not a valid id!', 'x') })),
    ]);
    expect(new Set(responses.map(bytes)).size).toBe(1);
    expect(responses[0]?.status).toBe(401);
  });

  it('answers unknown, disabled and wrong-secret client_secret_post requests byte for byte alike', async () => {
    const responses = await Promise.all(
      [
        ['nobody', secretOf('svc-a')],
        ['svc-off', secretOf('svc-off')],
        ['svc-a', 'nope'],
      ].map(([client_id = '', client_secret = '']) =>
        h.endpoint.handle(post(form({ ...cc, client_id, client_secret }))),
      ),
    );
    expect(new Set(responses.map(bytes)).size).toBe(1);
  });

  it('answers unknown, disabled and badly signed assertions byte for byte alike', async () => {
    const other = await clientKeyPair('ES256', h.keys['jwt-a']?.kid);
    const responses = await Promise.all([
      h.endpoint.handle(post(assertionForm(await assertion(h, 'jwt-ghost', {}, h.keys['jwt-a'])))),
      h.endpoint.handle(post(assertionForm(await assertion(h, 'jwt-off')))),
      h.endpoint.handle(post(assertionForm(await assertion(h, 'jwt-a', {}, other.keys)))),
      h.endpoint.handle(
        post(assertionForm(await assertion(h, 'jwt-a', { aud: TOKEN_URL, jti: randomUUID(), exp: 1 }))),
      ),
    ]);
    expect(new Set(responses.map(bytes)).size).toBe(1);
  });

  it('answers the same whether a refused assertion type names a known client or not', async () => {
    const make = async (id: string) =>
      h.endpoint.handle(
        post(
          form({
            ...cc,
            client_assertion_type: `${JWT_BEARER}x`,
            client_assertion: await assertion(h, id, {}, h.keys['jwt-a']),
          }),
        ),
      );
    expect(bytes(await make('jwt-a'))).toBe(bytes(await make('jwt-ghost')));
  });
});
