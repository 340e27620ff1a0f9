/**
 * The canary handler and its Lambda entry against a fake issuer (a fetch stand-in serving crafted
 * answers and a token signed with a real key): the probe, the verification with jose and the metric
 * mapping are the real ones.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { keyItemKey, STATE_KEY } from '../../src/adapters/aws/registry-items.ts';
import { ENV } from '../../src/constants.ts';
import type { KeyRecord, PublicJwk, RegistrySnapshot } from '../../src/core/types.ts';
import {
  type CanaryDeps,
  type CanaryMetricsSink,
  createCanaryHandler,
  parseCanarySecret,
} from '../../src/handlers/canary-handler.ts';
import type { Log } from '../../src/ports.ts';
import { DAY, keyRecord, MINUTE, policyOf, snapshotOf } from '../support/fixtures.ts';

const ISSUER = 'https://d111111abcdef8.cloudfront.net';
const API_JWKS = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/jwks.json';
const NOW = Date.UTC(2030, 0, 1);
const SECRET = { client_id: 'canary', client_secret: 's3cret' };

interface Key {
  readonly privateKey: CryptoKey;
  readonly jwk: Record<string, unknown>;
}

async function signingKey(alg: 'RS256' | 'ES256'): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    privateKey,
    jwk: { kty: jwk.kty, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg, ...jwk },
  };
}

const DOCUMENT_HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'public, max-age=300, stale-if-error=300',
  'access-control-allow-origin': '*',
};

/** A fake issuer: the documents with ETags and 304s, and a token endpoint for the canary client. */
function fakeIssuer(opts: { jwks: string; apiJwks?: string; token: () => Promise<string> }) {
  const requests: { url: string; init: RequestInit | undefined }[] = [];
  const doc = (body: string, etag: string, init?: RequestInit) => {
    const inm = new Headers(init?.headers).get('if-none-match');
    if (inm === etag) return new Response(null, { status: 304, headers: { etag } });
    return new Response(body, { status: 200, headers: { ...DOCUMENT_HEADERS, etag } });
  };
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    requests.push({ url, init });
    if (url === `${ISSUER}/.well-known/openid-configuration`) {
      const body = JSON.stringify({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        token_endpoint: `${ISSUER}/oauth2/token`,
      });
      return doc(body, '"d1"', init);
    }
    if (url === `${ISSUER}/.well-known/jwks.json`) return doc(opts.jwks, '"j1"', init);
    if (url === API_JWKS) return doc(opts.apiJwks ?? opts.jwks, '"j2"', init);
    if (url === `${ISSUER}/oauth2/token` && init?.method === 'POST') {
      const auth = new Headers(init.headers).get('authorization');
      if (auth !== `Basic ${Buffer.from('canary:s3cret').toString('base64')}`) {
        return new Response('{"error":"invalid_client"}', {
          status: 401,
          headers: { 'cache-control': 'no-store' },
        });
      }
      const body = JSON.stringify({
        access_token: await opts.token(),
        token_type: 'Bearer',
        expires_in: 3600,
      });
      return new Response(body, {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      });
    }
    return new Response('{"error":"not_found"}', { status: 404 });
  });
  return { fetch, requests };
}

const POLICY = policyOf(); // staleness tolerated: 300 s + 300 s + 5 min = 900 s

/** The registry record of a served key: its real public JWK, in `status`. */
const recordOf = (ref: string, key: Key, status: KeyRecord['status'], extra: Partial<KeyRecord> = {}) =>
  keyRecord(ref, status, {
    kid: key.jwk.kid as string,
    publicJwk: key.jwk as unknown as PublicJwk,
    alg: key.jwk.alg as KeyRecord['alg'],
    createdAt: NOW - DAY,
    ...extra,
  });

/** A Log keeping every line. */
function recordingLog() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      lines.push({ level, message, fields: Object.assign({}, ...extra) });
  const log: Log = { info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

/** Records what the handler publishes: one entry per publishStoredMetrics (one EMF document). */
function recordingMetrics() {
  const published: { dimensions: Record<string, string>; metrics: Record<string, number> }[] = [];
  let dimensions: Record<string, string> = {};
  let metrics: Record<string, number> = {};
  const sink: CanaryMetricsSink = {
    addDimension: (name, value) => {
      dimensions[name] = value;
    },
    addMetric: (name, _unit, value) => {
      metrics[name] = value;
    },
    publishStoredMetrics: () => {
      published.push({ dimensions, metrics });
      dimensions = {};
      metrics = {};
    },
  };
  const byPath = () => Object.fromEntries(published.map((p) => [p.dimensions.Path, p.metrics]));
  return { sink, published, byPath };
}

describe('createCanaryHandler', () => {
  let active: Key;
  let standby: Key;
  let jwks: string;
  const token = (key: Key, over: { iss?: string } = {}) =>
    new SignJWT({ scope: 'canary', client_id: 'canary' })
      .setProtectedHeader({ alg: key.jwk.alg as string, kid: key.jwk.kid as string, typ: 'at+jwt' })
      .setIssuer(over.iss ?? ISSUER)
      .setSubject('canary')
      .setAudience('canary')
      .setIssuedAt(Math.floor(NOW / 1000))
      .setExpirationTime(Math.floor(NOW / 1000) + 3600)
      .sign(key.privateKey);

  /** The registry behind the served set: ACTIVE and PENDING, published a day ago. */
  let registry: RegistrySnapshot;

  beforeAll(async () => {
    active = await signingKey('RS256');
    standby = await signingKey('ES256');
    jwks = JSON.stringify({ keys: [active.jwk, standby.jwk] });
  });
  beforeEach(() => {
    registry = snapshotOf([recordOf('a', active, 'ACTIVE'), recordOf('s', standby, 'PENDING')]);
  });

  const run = async (
    issuer: ReturnType<typeof fakeIssuer>,
    secret: unknown = SECRET,
    over: Partial<CanaryDeps> = {},
  ) => {
    const metrics = recordingMetrics();
    const { log, lines } = recordingLog();
    const handler = createCanaryHandler({
      issuer: ISSUER,
      apiJwksUrl: API_JWKS,
      readCredential: async () => parseCanarySecret(JSON.stringify(secret)),
      registry: { read: async () => registry },
      policy: POLICY,
      metrics: metrics.sink,
      log,
      fetch: issuer.fetch,
      clock: () => NOW,
      ...over,
    });
    return { result: await handler(), metrics, lines };
  };

  it('reports success 1 and a latency on every path when the issuer keeps the contract', async () => {
    const { result, metrics } = await run(fakeIssuer({ jwks, token: () => token(active) }));
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    const byPath = metrics.byPath();
    expect(Object.keys(byPath).sort()).toEqual(['apigw-jwks', 'cloudfront-jwks', 'discovery', 'token']);
    for (const m of Object.values(byPath) as Record<string, number>[]) {
      expect(m.CanarySuccess).toBe(1);
      expect(m.CanaryLatency).toBeGreaterThanOrEqual(0);
    }
    expect(result.checks.map((c) => c.name)).toEqual([
      'discovery',
      'jwks.http',
      'jwks.not-modified',
      'jwks.keys',
      'jwks.kids',
      'api-jwks.http',
      'api-jwks.not-modified',
      'api-jwks.keys',
      'api-jwks.kids',
      'api-jwks.same-keys',
      'token',
      'token.verify',
      'jwks.registry',
      'api-jwks.registry',
    ]);
    expect(byPath['cloudfront-jwks']?.JwksStalenessSeconds).toBe(0);
    expect(byPath['apigw-jwks']?.JwksStalenessSeconds).toBe(0);
    expect(byPath.discovery?.JwksStalenessSeconds).toBeUndefined();
  });

  it('skips the token and emits no token data point while the secret is the empty placeholder', async () => {
    const issuer = fakeIssuer({ jwks, token: () => token(active) });
    const { result, metrics } = await run(issuer, {});
    expect(result.ok).toBe(true);
    expect(result.checks.find((c) => c.name === 'token')).toMatchObject({ skipped: true });
    expect(metrics.byPath().token).toBeUndefined();
    expect(issuer.requests.some((r) => r.url.endsWith('/oauth2/token'))).toBe(false);
  });

  it('fails only the API Gateway path when it serves a private member', async () => {
    const leaked = JSON.stringify({ keys: [{ ...active.jwk, d: 'AQAB' }, standby.jwk] });
    const { result, metrics } = await run(fakeIssuer({ jwks, apiJwks: leaked, token: () => token(active) }));
    expect(result.ok).toBe(false);
    expect(metrics.byPath()).toMatchObject({
      'apigw-jwks': { CanarySuccess: 0 },
      'cloudfront-jwks': { CanarySuccess: 1 },
      discovery: { CanarySuccess: 1 },
      token: { CanarySuccess: 1 },
    });
    expect(result.checks.find((c) => c.name === 'api-jwks.keys')?.detail).toContain('private member(s) d');
  });

  it('fails the token path when the token is signed by a key the JWKS does not publish', async () => {
    const stranger = await signingKey('RS256');
    const { result, metrics } = await run(fakeIssuer({ jwks, token: () => token(stranger) }));
    expect(metrics.byPath().token?.CanarySuccess).toBe(0);
    expect(result.checks.find((c) => c.name === 'token.verify')?.detail).toMatch(/^unknown_kid:/);
  });

  it('fails the token path when the token names another issuer', async () => {
    const { result } = await run(
      fakeIssuer({ jwks, token: () => token(active, { iss: 'https://evil.example' }) }),
    );
    expect(result.checks.find((c) => c.name === 'token.verify')).toMatchObject({ ok: false });
  });

  it('fails the token path when the client is refused, naming the OAuth error', async () => {
    const { result, metrics } = await run(fakeIssuer({ jwks, token: () => token(active) }), {
      client_id: 'canary',
      client_secret: 'wrong',
    });
    expect(result.checks.find((c) => c.name === 'token')?.detail).toBe(
      'status 401 invalid_client, expected 200',
    );
    expect(metrics.byPath().token?.CanarySuccess).toBe(0);
  });

  it('fails the token path when the secret cannot be read, without its content in the detail', async () => {
    const metrics = recordingMetrics();
    const handler = createCanaryHandler({
      issuer: ISSUER,
      readCredential: () =>
        Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })),
      registry: { read: async () => registry },
      policy: POLICY,
      metrics: metrics.sink,
      fetch: fakeIssuer({ jwks, token: () => token(active) }).fetch,
      clock: () => NOW,
    });
    const result = await handler();
    expect(result.checks.find((c) => c.name === 'token')).toMatchObject({
      ok: false,
      detail: 'cannot read the canary secret (AccessDeniedException)',
    });
    expect(metrics.byPath().token?.CanarySuccess).toBe(0);
  });

  it('fails the JWKS path when the issuer stops answering, with success 0 rather than no data', async () => {
    const issuer = fakeIssuer({ jwks, token: () => token(active) });
    const down = vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith('/jwks.json'))
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return issuer.fetch(url, init);
    });
    const metrics = recordingMetrics();
    const result = await createCanaryHandler({
      issuer: ISSUER,
      readCredential: async () => parseCanarySecret('{}'),
      registry: { read: async () => registry },
      policy: POLICY,
      metrics: metrics.sink,
      fetch: down,
      clock: () => NOW,
    })();
    expect(result.checks.find((c) => c.name === 'jwks.http')?.detail).toContain('ECONNREFUSED');
    expect(metrics.byPath()['cloudfront-jwks']?.CanarySuccess).toBe(0);
    // Nothing served, nothing to measure: no staleness data point and no registry check.
    expect(metrics.byPath()['cloudfront-jwks']?.JwksStalenessSeconds).toBeUndefined();
    expect(result.checks.some((c) => c.name === 'jwks.registry')).toBe(false);
  });

  describe('against the registry', () => {
    /** The standby revoked `minutesAgo` and its successor created then; the issuer still serves the old set. */
    const revokedStandby = (minutesAgo: number) =>
      snapshotOf([
        recordOf('a', active, 'ACTIVE'),
        recordOf('s', standby, 'REVOKED', { revokedAt: NOW - minutesAgo * MINUTE }),
      ]);

    it('reports the staleness and logs an error when a REVOKED kid is still served past the threshold', async () => {
      registry = revokedStandby(20);
      const { result, metrics, lines } = await run(fakeIssuer({ jwks, token: () => token(active) }));
      const byPath = metrics.byPath();
      // 1200 s > the 900 s the alarm tolerates (infra/jwks-canary.ts).
      expect(byPath['cloudfront-jwks']?.JwksStalenessSeconds).toBe(1200);
      expect(byPath['apigw-jwks']?.JwksStalenessSeconds).toBe(1200);
      // Staleness pages through its own alarm; CanarySuccess stays about the contract.
      expect(byPath['cloudfront-jwks']?.CanarySuccess).toBe(1);
      expect(result.checks.find((c) => c.name === 'jwks.registry')?.detail).toBe(
        `REVOKED ${standby.jwk.kid} still served: 1200s behind the registry (tolerated 900s)`,
      );
      const stale = lines.filter((l) => l.message === 'canary: served JWKS is stale');
      expect(stale.map((l) => [l.level, l.fields.path, l.fields.seconds])).toEqual([
        ['error', 'cloudfront-jwks', 1200],
        ['error', 'apigw-jwks', 1200],
      ]);
    });

    it('reports a lag within the threshold without an error line', async () => {
      registry = revokedStandby(5);
      const { metrics, lines } = await run(fakeIssuer({ jwks, token: () => token(active) }));
      expect(metrics.byPath()['cloudfront-jwks']?.JwksStalenessSeconds).toBe(300);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    });

    it('fails the path serving a kid the registry has never had', async () => {
      const stranger = await signingKey('ES256');
      const api = JSON.stringify({ keys: [active.jwk, standby.jwk, stranger.jwk] });
      const { result, metrics } = await run(fakeIssuer({ jwks, apiJwks: api, token: () => token(active) }));
      expect(result.checks.find((c) => c.name === 'api-jwks.registry')).toMatchObject({
        ok: false,
        detail: `kid(s) ${stranger.jwk.kid} served but unknown to the registry`,
      });
      expect(metrics.byPath()['apigw-jwks']).toMatchObject({ CanarySuccess: 0, JwksStalenessSeconds: 0 });
      expect(metrics.byPath()['cloudfront-jwks']?.CanarySuccess).toBe(1);
    });

    it('fails both JWKS paths, with no staleness, when the registry cannot be read', async () => {
      const throttled = Object.assign(new Error('slow down'), {
        name: 'ProvisionedThroughputExceededException',
      });
      const { result, metrics } = await run(fakeIssuer({ jwks, token: () => token(active) }), SECRET, {
        registry: { read: () => Promise.reject(throttled) },
      });
      for (const [name, path] of [
        ['jwks.registry', 'cloudfront-jwks'],
        ['api-jwks.registry', 'apigw-jwks'],
      ] as const) {
        expect(result.checks.find((c) => c.name === name)).toMatchObject({
          ok: false,
          detail: 'cannot read the registry (ProvisionedThroughputExceededException)',
        });
        expect(metrics.byPath()[path]).toEqual({ CanarySuccess: 0, CanaryLatency: expect.any(Number) });
      }
    });

    it('reads the registry once, after both JWKS were fetched', async () => {
      const issuer = fakeIssuer({ jwks, token: () => token(active) });
      const order: string[] = [];
      const fetch = vi.fn(async (url: string, init?: RequestInit) => {
        order.push(url.endsWith('jwks.json') ? 'fetch jwks' : 'fetch other');
        return issuer.fetch(url, init);
      });
      await run(issuer, SECRET, {
        fetch,
        registry: {
          read: async () => {
            order.push('read registry');
            return registry;
          },
        },
      });
      expect(order.filter((o) => o !== 'fetch other')).toEqual([
        'fetch jwks',
        'fetch jwks',
        'fetch jwks',
        'fetch jwks',
        'read registry',
      ]);
    });
  });
});

describe('parseCanarySecret', () => {
  it('reads a client secret, a private JWK, the empty placeholder, and refuses anything else', () => {
    expect(parseCanarySecret(JSON.stringify(SECRET))).toEqual({
      credential: { kind: 'secret', clientId: 'canary', clientSecret: 's3cret' },
    });
    expect(parseCanarySecret('{"client_id":"c","private_jwk":{"kty":"EC"}}')).toMatchObject({
      credential: { kind: 'key', clientId: 'c' },
    });
    expect(parseCanarySecret('{}')).toHaveProperty('missing');
    expect(parseCanarySecret('not json s3cret')).toEqual({ error: 'the canary secret is not a JSON object' });
    expect(parseCanarySecret('{"client_secret":"x"}')).toEqual({
      error: 'the canary secret has no client_id',
    });
  });
});

describe('canary Lambda entry', () => {
  const secrets = mockClient(SecretsManagerClient);
  const dynamodb = mockClient(DynamoDBClient);
  const ENTRY_ENV: Record<string, string> = {
    [ENV.ISSUER]: ISSUER,
    [ENV.CANARY_SECRET_ARN]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:canary-AbCdEf',
    [ENV.CANARY_API_JWKS_URL]: API_JWKS,
    [ENV.DEPLOYMENT_NAME]: 'prod',
    [ENV.TABLE_NAME]: 'registry-table',
    AWS_REGION: 'eu-west-1',
  };
  const coldStart = async (env: Record<string, string | undefined>) => {
    vi.resetModules();
    for (const name of [...Object.values(ENV), 'AWS_REGION']) vi.stubEnv(name, env[name] ?? '');
    return import('../../src/handlers/canary.ts');
  };

  beforeEach(() => {
    secrets.reset();
    dynamodb.reset();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it.each([ENV.ISSUER, ENV.CANARY_SECRET_ARN, ENV.DEPLOYMENT_NAME, ENV.TABLE_NAME])(
    'fails its cold start naming %s when it is missing',
    async (missing) => {
      await expect(coldStart({ ...ENTRY_ENV, [missing]: undefined })).rejects.toMatchObject({
        code: 'MISSING_CONFIG',
        variable: missing,
      });
    },
  );

  it('reads its secret by ARN, the registry partition consistently, and publishes EMF metrics per path', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{}' });
    const active = await signingKey('RS256');
    const standby = await signingKey('ES256');
    // The standby was revoked 20 minutes ago and is still served: 1200 s stale on both JWKS paths.
    const items = [
      { ...STATE_KEY, registryVersion: 4 },
      { ...keyItemKey('a'), ...recordOf('a', active, 'ACTIVE') },
      { ...keyItemKey('s'), ...recordOf('s', standby, 'REVOKED', { revokedAt: NOW - 20 * MINUTE }) },
    ].map((item) => marshall(item, { removeUndefinedValues: true }));
    dynamodb.on(QueryCommand).resolves({ Items: items });
    vi.setSystemTime(NOW);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT'); // the expected "stale" error lines
    vi.stubGlobal(
      'fetch',
      fakeIssuer({ jwks: JSON.stringify({ keys: [active.jwk, standby.jwk] }), token: async () => '' }).fetch,
    );
    // Powertools writes EMF through its own Console on process.stdout.
    const log = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } = await coldStart(ENTRY_ENV);
    const result = await handler();
    expect(result.ok).toBe(true);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: ENTRY_ENV[ENV.CANARY_SECRET_ARN],
    });
    const emf = log.mock.calls
      .flatMap(([chunk]) => String(chunk).split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .filter((doc) => doc._aws?.CloudWatchMetrics);
    expect(emf.map((doc) => doc.Path).sort()).toEqual(['apigw-jwks', 'cloudfront-jwks', 'discovery']);
    for (const doc of emf) {
      expect(doc).toMatchObject({ CanarySuccess: 1, Deployment: 'prod', service: 'jwks-canary' });
      expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe('JwksPublisher');
      expect(doc.JwksStalenessSeconds).toBe(doc.Path === 'discovery' ? undefined : 1200);
    }
    const stalenessUnit = emf
      .flatMap((doc) => doc._aws.CloudWatchMetrics[0].Metrics)
      .find((m: { Name: string }) => m.Name === 'JwksStalenessSeconds');
    expect(stalenessUnit).toEqual({ Name: 'JwksStalenessSeconds', Unit: 'Seconds' });
    const queries = dynamodb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({
      TableName: 'registry-table',
      ConsistentRead: true,
      ExpressionAttributeValues: { ':pk': { S: 'REGISTRY' } },
    });
    log.mockRestore();
  });
});
