/**
 * Client-credentials tokens/s and latency: our token endpoint vs `oidc-provider` (issue 5, "Show").
 *
 * Both servers run in this process on 127.0.0.1, each on node:http, each signing an RS256 JWT access
 * token (ours: the Signer over the LocalKeyVault in a temp dir, as `npm start` runs it; theirs: its
 * client_credentials grant with resource indicators set to `accessTokenFormat: 'jwt'` and an RS256
 * key), each authenticating the client with client_secret_basic. The load comes from `wrk` in its own
 * process (lib/wrk.ts; a Lua script makes the POST): `concurrency` keep-alive connections for
 * `durationMs`. The servers are measured alternately, after a warm-up, for `rounds` rounds, and each
 * round also measures the machine's RSA-2048 signing ceiling (bare node:crypto on every core): the
 * table shows medians, and our tokens/s as a share of that ceiling. Target (issue 11): ≥ 2×
 * oidc-provider.
 *
 * One token of each is verified with jose first, so both sides really do the same job.
 *
 * What differs by design: our client store is the in-memory test store behind the endpoint's own
 * client cache (the local stack's DynamoDB Local is read at most once per signerCacheTtl, so it is
 * not on the hot path either); oidc-provider keeps its clients in memory too.
 *
 * Alone: `node --import tsx bench/token.ts [durationMs] [rounds] [concurrency]`;
 * `bench/run.ts` calls `runTokenBench()`.
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { LocalKeyVault } from '../src/adapters/local/key-vault.ts';
import { parsePolicy } from '../src/core/policy.ts';
import { Signer } from '../src/signer.ts';
import { createClient } from '../src/token/clients-admin.ts';
import { createTokenEndpoint } from '../src/token/endpoint.ts';
import { tokenRoute } from '../src/token/node-http.ts';
import { MemoryClientStore } from '../test/token/memory-client-store.ts';
import { runWrk } from './lib/wrk.ts';

export interface TokenBenchOptions {
  /** Measured time per server per round. Default 5 s. */
  readonly durationMs?: number;
  /** Default 3 (the table shows medians). */
  readonly rounds?: number;
  /** Concurrent keep-alive connections. Default 32. */
  readonly concurrency?: number;
  /** Unmeasured load before the first round, per server. Default 1 s. */
  readonly warmupMs?: number;
  readonly log?: (line: string) => void;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly tokensPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of this whole process (servers, thread pool, load worker) per successful token, µs. */
  readonly cpuUsPerToken: number;
}

export interface TokenBenchRow {
  readonly server: string;
  readonly rounds: readonly LoadResult[];
  readonly tokensPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerToken: number;
  readonly errors: number;
}

export interface TokenBenchResult {
  readonly rows: readonly [TokenBenchRow, TokenBenchRow];
  /** Our median tokens/s over oidc-provider's. */
  readonly ratio: number;
  /** RS256 signatures/s of bare node:crypto on every core, median over the rounds (`rsaCeiling`). */
  readonly rsaCeiling: number;
  /** Our median tokens/s over the RSA ceiling: the share of the machine's signing capacity we reach. */
  readonly ratioToCeiling: number;
  readonly options: Required<Omit<TokenBenchOptions, 'log'>>;
}

/** Issue 11: ≥ 2× oidc-provider's tokens/s. */
export const TOKEN_TARGET = 2;

const AUDIENCE = 'https://api.example.com';
const CLIENT_ID = 'bench-client';
const BODY = `grant_type=client_credentials&scope=read`;

interface Target {
  readonly name: string;
  readonly url: string;
  readonly authorization: string;
  readonly verify: () => Promise<void>;
  readonly close: () => Promise<void>;
}

function listen(handler: RequestListener): Promise<{ server: Server; base: string }> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function fetchToken(url: string, authorization: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body: BODY,
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token)
    throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

async function ourServer(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'jwks-bench-token-'));
  const vault = new LocalKeyVault({ dir, deploymentName: 'bench' });
  const { vaultKeyId } = await vault.createKey({ keyRef: randomUUID(), alg: 'RS256' });
  const jwk = await vault.getPublicJwk(vaultKeyId, 'RS256');
  const state = {
    registryVersion: 1,
    activeKid: jwk.kid,
    activeAlg: 'RS256' as const,
    activeVaultKeyId: vaultKeyId,
  };
  const policy = parsePolicy({}).policy;
  const signer = new Signer({
    registry: { readState: async () => state },
    vault,
    cacheTtlMs: policy.signerCacheTtl,
  });
  const clients = new MemoryClientStore();
  const { secret } = await createClient(
    clients,
    { clientId: CLIENT_ID, scopes: ['read'], audiences: [AUDIENCE] },
    { changedBy: 'bench', reason: 'bench' },
  );
  const endpoint = createTokenEndpoint({ clients, signer, policy, issuer: 'http://127.0.0.1' });
  await endpoint.warmUp();
  const { server, base } = await listen(tokenRoute(endpoint));
  const url = `${base}/oauth2/token`;
  const authorization = `Basic ${Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64')}`;
  return {
    name: 'jwks-publisher',
    url,
    authorization,
    verify: async () => {
      const token = await fetchToken(url, authorization);
      await jwtVerify(token, createLocalJWKSet({ keys: [jwk] }), {
        issuer: 'http://127.0.0.1',
        audience: AUDIENCE,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
    },
    close: async () => {
      await closeServer(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function oidcProviderServer(): Promise<Target> {
  // No types ship with oidc-provider; a non-literal specifier keeps tsc from looking for them.
  const specifier: string = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as {
    default: new (issuer: string, config: Record<string, unknown>) => { callback(): RequestListener };
  };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingJwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: 'bench-rs256',
    alg: 'RS256',
    use: 'sig',
  };
  const secret = randomUUID();
  const issuer = 'http://127.0.0.1';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'read',
      },
    ],
    jwks: { keys: [signingJwk] },
    scopes: ['read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read',
          audience: AUDIENCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  const { server, base } = await listen(provider.callback());
  const url = `${base}/token`;
  const authorization = `Basic ${Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64')}`;
  const { kty, n, e, kid, alg } = signingJwk as Record<string, string>;
  return {
    name: `oidc-provider ${await oidcProviderVersion()}`,
    url,
    authorization,
    verify: async () => {
      const token = await fetchToken(url, authorization);
      if (decodeProtectedHeader(token).alg !== 'RS256') throw new Error('oidc-provider did not sign RS256');
      await jwtVerify(token, createLocalJWKSet({ keys: [{ kty, n, e, kid, alg }] }), {
        issuer,
        audience: AUDIENCE,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
    },
    close: () => closeServer(server),
  };
}

async function oidcProviderVersion(): Promise<string> {
  const { createRequire } = await import('node:module');
  return (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;
}

/** One measured run: `wrk` (its own process) POSTing the token request over keep-alive connections. */
async function load(target: Target, concurrency: number, durationMs: number): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  const r = await runWrk({
    url: target.url,
    connections: concurrency,
    durationMs,
    post: {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: target.authorization },
      body: BODY,
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  const ok = r.requests - r.non2xx;
  return {
    requests: r.requests,
    errors: r.non2xx + r.socketErrors,
    tokensPerSecond: r.reqPerSec,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    cpuUsPerToken: (cpu.user + cpu.system) / Math.max(1, ok),
  };
}

/**
 * The machine's RSA-2048 signing ceiling: RS256 signatures/s of bare node:crypto over the libuv pool
 * (`crypto.sign` with a callback, `inFlight` at once, so every core signs) for `durationMs`. No server
 * can issue RS256 tokens faster than this on this machine.
 */
export async function rsaCeiling(durationMs: number, inFlight = 16): Promise<number> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const input = Buffer.from('eyJhbGciOiJSUzI1NiJ9.'.padEnd(400, 'x'));
  let done = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      await new Promise<void>((resolve, reject) =>
        sign('sha256', input, privateKey, (err) => (err ? reject(err) : resolve())),
      );
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (done * 1000) / (performance.now() - started);
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function row(server: string, rounds: LoadResult[]): TokenBenchRow {
  return {
    server,
    rounds,
    tokensPerSecond: median(rounds.map((r) => r.tokensPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUsPerToken: median(rounds.map((r) => r.cpuUsPerToken)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}

export async function runTokenBench(options: TokenBenchOptions = {}): Promise<TokenBenchResult> {
  const opts = {
    durationMs: options.durationMs ?? 5_000,
    rounds: Math.max(1, options.rounds ?? 3),
    concurrency: options.concurrency ?? 32,
    warmupMs: options.warmupMs ?? 1_000,
  };
  const log = options.log ?? (() => {});
  const targets = [await ourServer(), await oidcProviderServer()] as const;
  try {
    for (const t of targets) {
      await t.verify();
      log(`${t.name}: issued and verified an RS256 at+jwt with jose; warming up`);
      await load(t, opts.concurrency, opts.warmupMs);
    }
    const results: [LoadResult[], LoadResult[]] = [[], []];
    const ceilings: number[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate who goes first, so drift (thermal, GC, other load) does not favour one side.
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const t = targets[i as 0 | 1];
        const r = await load(t, opts.concurrency, opts.durationMs);
        results[i as 0 | 1].push(r);
        log(
          `round ${round + 1}: ${t.name} ${r.tokensPerSecond.toFixed(0)} tokens/s, p99 ${r.p99Ms.toFixed(1)} ms`,
        );
      }
      ceilings.push(await rsaCeiling(Math.min(opts.durationMs, 3_000)));
      log(`round ${round + 1}: RSA-2048 ceiling ${ceilings.at(-1)?.toFixed(0)} signatures/s`);
    }
    const rows = [row(targets[0].name, results[0]), row(targets[1].name, results[1])] as const;
    const ceiling = median(ceilings);
    return {
      rows,
      ratio: rows[0].tokensPerSecond / rows[1].tokensPerSecond,
      rsaCeiling: ceiling,
      ratioToCeiling: rows[0].tokensPerSecond / ceiling,
      options: opts,
    };
  } finally {
    await Promise.all(targets.map((t) => t.close()));
  }
}

export function formatTokenTable(result: TokenBenchResult): string {
  const { rows, ratio, options } = result;
  const header = ['server', 'tokens/s', 'p50 ms', 'p99 ms', 'CPU µs/token', 'errors'];
  const lines = rows.map((r) => [
    r.server,
    r.tokensPerSecond.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.cpuUsPerToken.toFixed(0),
    String(r.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    `client_credentials, RS256 JWT, client_secret_basic; ${options.rounds} rounds × ${options.durationMs / 1000} s, ` +
      `${options.concurrency} keep-alive connections, loopback; medians`,
    fmt(header),
    ...lines.map(fmt),
    `ratio (jwks-publisher / oidc-provider): ${ratio.toFixed(2)}× (target ≥ ${TOKEN_TARGET}×) ` +
      `${ratio >= TOKEN_TARGET ? 'PASS' : 'FAIL'}`,
    `RSA-2048 signing ceiling (bare node:crypto, every core): ${result.rsaCeiling.toFixed(0)} signatures/s; ` +
      `jwks-publisher reaches ${(100 * result.ratioToCeiling).toFixed(0)} % of it`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [durationMs, rounds, concurrency] = process.argv.slice(2).map(Number);
  const result = await runTokenBench({
    ...(durationMs ? { durationMs } : {}),
    ...(rounds ? { rounds } : {}),
    ...(concurrency ? { concurrency } : {}),
    log: (line) => console.error(line),
  });
  console.log(formatTokenTable(result));
  console.log(`\nnode ${process.version}; both servers in one process, load from wrk (its own process)`);
}
