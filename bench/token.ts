/**
 * Client-credentials tokens/s and latency: our token endpoint vs `oidc-provider` (issue 5, "Show").
 *
 * Both servers run in this process on 127.0.0.1, each on node:http, each signing an RS256 JWT access
 * token (ours: the Signer over the LocalKeyVault in a temp dir, as `npm start` runs it; theirs: its
 * client_credentials grant with resource indicators set to `accessTokenFormat: 'jwt'` and an RS256
 * key), each authenticating the client with client_secret_basic. The load comes from a worker thread
 * (its own event loop, so the generator does not steal the servers' loop): `concurrency` keep-alive
 * connections, each sending the next request when the previous answer arrived, for `durationMs`. The
 * servers are measured alternately, after a warm-up, for `rounds` rounds; the table shows medians.
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
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { LocalKeyVault } from '../src/adapters/local/key-vault.ts';
import { parsePolicy } from '../src/core/policy.ts';
import { Signer } from '../src/signer.ts';
import { createClient } from '../src/token/clients-admin.ts';
import { createTokenEndpoint } from '../src/token/endpoint.ts';
import { tokenRoute } from '../src/token/node-http.ts';
import { MemoryClientStore } from '../test/token/memory-client-store.ts';

export interface TokenBenchOptions {
  /** Measured time per server per round. Default 5 s. */
  readonly durationMs?: number;
  /** Default 3 (the table shows medians). */
  readonly rounds?: number;
  /** Concurrent keep-alive connections. Default 16. */
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
  readonly options: Required<Omit<TokenBenchOptions, 'log'>>;
}

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

/** The load generator, as plain CommonJS evaluated in a worker (no TypeScript loader needed there). */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, authorization, body, concurrency, durationMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(url);
const latencies = [];
let requests = 0, errors = 0;
function once() {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), authorization } },
      (res) => { res.resume(); res.on('end', () => {
        requests++; if (res.statusCode !== 200) errors++; latencies.push(performance.now() - started); resolve(); }); });
    req.on('error', () => { requests++; errors++; resolve(); });
    req.end(body);
  });
}
async function user(deadline) { while (performance.now() < deadline) await once(); }
// Start only when told: the CPU measurement then covers the load, not this worker's start-up.
parentPort.once('message', () => {
  const started = performance.now();
  const deadline = started + durationMs;
  Promise.all(Array.from({ length: concurrency }, () => user(deadline))).then(() => {
    const elapsed = performance.now() - started;
    agent.destroy();
    parentPort.postMessage({ requests, errors, elapsedMs: elapsed, latencies: Float64Array.from(latencies) });
  });
});
parentPort.postMessage('ready');
`;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function load(target: Target, concurrency: number, durationMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, {
      eval: true,
      // Plain CommonJS: no TypeScript loader in the worker.
      execArgv: [],
      workerData: {
        url: target.url,
        authorization: target.authorization,
        body: BODY,
        concurrency,
        durationMs,
      },
    });
    let cpuBefore: NodeJS.CpuUsage | undefined;
    worker.once('error', reject);
    worker.on(
      'message',
      (m: 'ready' | { requests: number; errors: number; elapsedMs: number; latencies: Float64Array }) => {
        if (m === 'ready') {
          cpuBefore = process.cpuUsage();
          worker.postMessage('go');
          return;
        }
        const cpu = process.cpuUsage(cpuBefore);
        const sorted = m.latencies.sort();
        const ok = m.requests - m.errors;
        resolve({
          requests: m.requests,
          errors: m.errors,
          tokensPerSecond: (ok * 1000) / m.elapsedMs,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          cpuUsPerToken: (cpu.user + cpu.system) / Math.max(1, ok),
        });
        void worker.terminate();
      },
    );
  });
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
    concurrency: options.concurrency ?? 16,
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
    }
    const rows = [row(targets[0].name, results[0]), row(targets[1].name, results[1])] as const;
    return { rows, ratio: rows[0].tokensPerSecond / rows[1].tokensPerSecond, options: opts };
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
    `ratio (jwks-publisher / oidc-provider): ${ratio.toFixed(2)}× (target ≥ 1.5×) ${ratio >= 1.5 ? 'PASS' : 'FAIL'}`,
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
  console.log(`\nnode ${process.version}; both servers in one process, load from a worker thread`);
}
