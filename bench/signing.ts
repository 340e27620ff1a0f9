/**
 * Signing overhead (issue 3, "Benchmarks"): the `Signer` (src/signer.ts) over the `LocalKeyVault` — what
 * `jwks sign` and the local token endpoint use — vs bare node:crypto signing the same JWS signing input
 * with the same key. Target: the signer takes ≤ 1.25× the time of bare node:crypto per signature.
 *
 * The signer gets a registry stub returning a fixed STATE (the real signer reads STATE at most once
 * per signerCacheTtl anyway), so the loop does only what a token costs on the hot path: build the
 * signing input from the claims, the vault's per-call `stat` of the key file (it notices a revoke made
 * by another process) and the signature, and the compact serialization.
 *
 * The baseline is `crypto.sign(digest, input, { key, padding | dsaEncoding }, callback)`: the call the
 * vault makes, non-blocking as a server must sign, on the signing input built once. The blocking form
 * `crypto.sign(...)` without a callback is shown as well, and so is the vault alone (`vault.sign` on the
 * prebuilt input: where the signer's overhead comes from, the JWS encoding or the vault). Each signature
 * is awaited before the next (one at a time: per-signature cost, not thread-pool parallelism).
 * The variants alternate signature by signature (v1, v2, v3, v4, v1, …; the order rotating each round),
 * each signature timed alone: on a noisy 2-core machine, alternating blocks of ~0.5 s let a burst of
 * other load land on one variant, alternating single signatures does not. A round's rate per variant is
 * its n signatures over their summed time; the table shows medians over the rounds, after a warm-up
 * round. Before measuring, the signer's
 * token must verify with jose and (RS256 is deterministic) carry the very signature the baseline makes.
 *
 * Alone: `node --import tsx bench/signing.ts`; `bench/run.ts` calls `runSigningBench()`.
 */
import { constants, createPrivateKey, type KeyObject, randomUUID, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importJWK, jwtVerify } from 'jose';
import { LocalKeyVault } from '../src/adapters/local/key-vault.ts';
import { algorithmSpec } from '../src/core/algorithms.ts';
import { jwsSigningInput } from '../src/core/jws.ts';
import type { Algorithm, RegistryState } from '../src/core/types.ts';
import { Signer } from '../src/signer.ts';
import { median } from './lib/stats.ts';
import { fmt, formatTable } from './lib/table.ts';

export interface SigningOptions {
  readonly algorithms?: readonly Algorithm[];
  /** Signatures per variant per round, per algorithm. Defaults: RSA 500, EC 3000. */
  readonly iterations?: Partial<Record<Algorithm, number>>;
  /** Default 7 (medians). */
  readonly rounds?: number;
  readonly log?: (line: string) => void;
}

export type SigningVariant = 'signer' | 'vault.sign' | 'crypto.sign async' | 'crypto.sign sync';

export interface SigningRow {
  readonly alg: Algorithm;
  readonly iterations: number;
  /** Median signatures per second per variant. */
  readonly opsPerSec: Readonly<Record<SigningVariant, number>>;
  readonly rounds: Readonly<Record<SigningVariant, readonly number[]>>;
  /**
   * Time per signature, signer / async baseline (the target's ratio): the median over the rounds of
   * each round's own ratio, so a round slowed by other load compares its variants with each other only.
   */
  readonly overhead: number;
  /** Time per signature, signer / blocking baseline (for information). */
  readonly overheadVsSync: number;
}

export interface SigningResult {
  readonly rows: readonly SigningRow[];
  readonly target: number;
  readonly options: { readonly rounds: number };
}

export const SIGNING_OVERHEAD_TARGET = 1.25;
const VARIANTS: readonly SigningVariant[] = ['signer', 'vault.sign', 'crypto.sign async', 'crypto.sign sync'];
const DEFAULT_ITERATIONS: Record<'RSA' | 'EC', number> = { RSA: 500, EC: 3_000 };

/** A typical RFC 9068 access token's claims: what the token endpoint signs. */
const CLAIMS = {
  iss: 'http://127.0.0.1:8787',
  sub: 'bench-client',
  aud: 'https://api.example.com',
  client_id: 'bench-client',
  scope: 'read write',
  iat: 1_700_000_000,
  exp: 1_700_003_600,
  jti: '6f1c3f0e-8a1d-4c55-9d0b-0b7c2c1f6a10',
};

function signOptions(alg: Algorithm, key: KeyObject) {
  const spec = algorithmSpec(alg);
  if (spec.kty === 'EC') return { key, dsaEncoding: 'ieee-p1363' as const };
  return spec.padding === 'pss'
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : { key, padding: constants.RSA_PKCS1_PADDING };
}

interface Subject {
  readonly alg: Algorithm;
  readonly run: Record<SigningVariant, () => Promise<unknown>>;
  readonly check: () => Promise<void>;
}

async function subject(dir: string, alg: Algorithm): Promise<Subject> {
  const vault = new LocalKeyVault({ dir, deploymentName: 'bench' });
  const { vaultKeyId } = await vault.createKey({ keyRef: randomUUID(), alg });
  const jwk = await vault.getPublicJwk(vaultKeyId, alg);
  const state: RegistryState = {
    registryVersion: 1,
    activeKid: jwk.kid,
    activeAlg: alg,
    activeVaultKeyId: vaultKeyId,
  };
  const signer = new Signer({ registry: { readState: async () => state }, vault, cacheTtlMs: 60_000 });
  // The same key, read from the vault's file in this temp dir (the bench's own throwaway key).
  const file = JSON.parse(readFileSync(join(dir, `${vaultKeyId.slice('local:'.length)}.json`), 'utf8')) as {
    privateKeyPem: string;
  };
  const opts = signOptions(alg, createPrivateKey(file.privateKeyPem));
  const digest = algorithmSpec(alg).digest;
  const input = jwsSigningInput({ alg, kid: jwk.kid, typ: 'JWT' }, CLAIMS).bytes;
  const signAsync = () =>
    new Promise<Buffer>((resolve, reject) =>
      sign(digest, input, opts, (err, sig) => (err ? reject(err) : resolve(sig))),
    );
  return {
    alg,
    run: {
      signer: () => signer.sign(CLAIMS),
      'vault.sign': () => vault.sign(vaultKeyId, alg, input),
      'crypto.sign async': signAsync,
      'crypto.sign sync': async () => sign(digest, input, opts),
    },
    async check() {
      const { token } = await signer.sign(CLAIMS);
      await jwtVerify(token, await importJWK(jwk, alg), {
        algorithms: [alg],
        currentDate: new Date(CLAIMS.iat * 1000),
      });
      const [header, payload, signature] = token.split('.');
      if (`${header}.${payload}` !== Buffer.from(input).toString())
        throw new Error(`${alg}: signing inputs differ`);
      const bare = await signAsync();
      if (!verify(digest, input, opts, bare)) throw new Error(`${alg}: bare signature invalid`);
      const spec = algorithmSpec(alg);
      if (spec.kty === 'RSA' && spec.padding === 'pkcs1') {
        if (bare.toString('base64url') !== signature) throw new Error(`${alg}: signatures differ`);
      }
    },
  };
}

/** Median over the rounds of a[i] / b[i]. */
const pairedRatio = (a: readonly number[], b: readonly number[]): number =>
  median(a.map((x, i) => x / (b[i] as number)));

/**
 * One round: `n` signatures of each variant, interleaved one by one in `order`; each variant's rate is
 * its n over the summed time of its own signatures.
 */
async function round(
  run: Readonly<Record<SigningVariant, () => Promise<unknown>>>,
  order: readonly SigningVariant[],
  n: number,
): Promise<Record<SigningVariant, number>> {
  const spent = Object.fromEntries(order.map((v) => [v, 0])) as Record<SigningVariant, number>;
  for (let i = 0; i < n; i++) {
    for (const v of order) {
      const start = performance.now();
      await run[v]();
      spent[v] += performance.now() - start;
    }
  }
  return Object.fromEntries(order.map((v) => [v, (n * 1000) / spent[v]])) as Record<SigningVariant, number>;
}

export async function runSigningBench(options: SigningOptions = {}): Promise<SigningResult> {
  const algorithms = options.algorithms ?? (['RS256', 'ES256'] as const);
  const rounds = Math.max(3, options.rounds ?? 7);
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'jwks-bench-signing-'));
  try {
    const rows: SigningRow[] = [];
    for (const alg of algorithms) {
      const n = options.iterations?.[alg] ?? DEFAULT_ITERATIONS[algorithmSpec(alg).kty];
      const s = await subject(join(dir, alg), alg);
      await s.check();
      await round(s.run, VARIANTS, Math.ceil(n / 4)); // warm-up: JIT, key caches, thread pool
      const samples: Record<SigningVariant, number[]> = {
        signer: [],
        'vault.sign': [],
        'crypto.sign async': [],
        'crypto.sign sync': [],
      };
      for (let r = 0; r < rounds; r++) {
        // Rotate who goes first, so what one signature leaves behind does not always hit the same variant.
        const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length] as SigningVariant);
        const rates = await round(s.run, order, n);
        for (const v of VARIANTS) samples[v].push(rates[v]);
        log(`signing ${alg} round ${r + 1}: ${VARIANTS.map((v) => `${v} ${fmt(rates[v])}/s`).join(', ')}`);
      }
      const ops = Object.fromEntries(VARIANTS.map((v) => [v, median(samples[v])])) as Record<
        SigningVariant,
        number
      >;
      rows.push({
        alg,
        iterations: n,
        opsPerSec: ops,
        rounds: samples,
        overhead: pairedRatio(samples['crypto.sign async'], samples.signer),
        overheadVsSync: pairedRatio(samples['crypto.sign sync'], samples.signer),
      });
    }
    return { rows, target: SIGNING_OVERHEAD_TARGET, options: { rounds } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSigningTable(r: SigningResult): string {
  const rows = r.rows.map((row) => [
    row.alg,
    row.iterations,
    fmt(row.opsPerSec.signer),
    fmt(row.opsPerSec['vault.sign']),
    fmt(row.opsPerSec['crypto.sign async']),
    fmt(row.opsPerSec['crypto.sign sync']),
    `${fmt(row.overhead, 2)}×`,
    `${fmt(row.overheadVsSync, 2)}×`,
    row.overhead <= r.target ? 'PASS' : 'FAIL',
  ]);
  return [
    `signatures/s, one at a time, interleaved signature by signature, ${r.options.rounds} rounds; medians. ` +
      `overhead = time per signature, signer ÷ bare node:crypto, median of the rounds' ratios ` +
      `(target ≤ ${r.target}× vs the async call)`,
    formatTable(
      [
        'alg',
        'n/round',
        'signer',
        'vault only',
        'crypto async',
        'crypto sync',
        'overhead',
        'vs sync',
        'target',
      ],
      rows,
    ),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runSigningBench({ log: (line) => console.error(line) });
  console.log(formatSigningTable(result));
}
