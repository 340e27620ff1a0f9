/**
 * Lambda bundle size and cold module-load time of each handler (issue 4, "Show").
 *
 * Each handler is bundled exactly as the CDK construct bundles it (`infra/handler-bundling.ts`:
 * esbuild, ESM, minified, node24, everything bundled), then loaded in fresh `node` processes:
 *   - bundled:            `import('index.mjs')`
 *   - bundled + maps:     the same with `--enable-source-maps` (what the Lambda runs: NODE_OPTIONS)
 *   - unbundled (tsx):    `import('src/handlers/<name>.ts')` through tsx, resolving node_modules
 * Time is measured inside the process around the dynamic import only (module resolution, parsing,
 * evaluation of module scope: config from env, SDK clients), not node's own start-up. Runs of the
 * three variants are interleaved and the median is reported.
 *
 * Alone: `node --import tsx bench/bundles.ts [runs]`; `bench/run.ts` calls `runBundleBench()`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import {
  HANDLER_ESBUILD,
  HANDLERS,
  type HandlerName,
  handlerEntry,
  handlerExists,
  PACKAGE_ROOT,
} from '../infra/handler-bundling.ts';
import { ENV } from '../src/constants.ts';

export interface BundleRow {
  readonly handler: HandlerName;
  readonly status: 'ok' | 'missing' | 'error';
  /** Minified bundle (`index.mjs`), KiB. */
  readonly bundleKb?: number;
  /** The same gzipped: roughly what the deployment package adds. */
  readonly gzipKb?: number;
  readonly sourceMapKb?: number;
  /** Median cold import time, ms. */
  readonly bundledMs?: number;
  readonly bundledSourceMapsMs?: number;
  readonly unbundledMs?: number;
  readonly runs?: number;
  readonly error?: string;
}

export interface BundleBenchOptions {
  /** Fresh processes per variant. @default 7 */
  readonly runs?: number;
  /** Progress lines. @default silent */
  readonly log?: (line: string) => void;
}

/** Enough configuration for each handler's module scope to run (no AWS call happens at import). */
const HANDLER_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  [ENV.TABLE_NAME]: 'bench-table',
  [ENV.BUCKET_NAME]: 'bench-bucket',
  [ENV.DISTRIBUTION_ID]: 'EBENCH',
  [ENV.DEPLOYMENT_NAME]: 'bench',
  [ENV.ISSUER]: 'https://bench.example',
  [ENV.KEY_ADMIN_ROLE_ARN]: 'arn:aws:iam::123456789012:role/bench-rotate',
  [ENV.KEY_SIGNER_ROLE_ARNS]: 'arn:aws:iam::123456789012:role/bench-token',
  [ENV.KEY_READER_ROLE_ARNS]: '',
  [ENV.TOPIC_ARN]: 'arn:aws:sns:us-east-1:123456789012:bench-events',
  [ENV.AUDIT_BUCKET_NAME]: 'bench-audit',
  [ENV.CANARY_SECRET_ARN]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-canary',
};

const KB = 1024;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function bundle(name: HandlerName, outdir: string): Promise<string> {
  const outfile = join(outdir, `index${HANDLER_ESBUILD.outExtension}`);
  await build({
    entryPoints: [handlerEntry(name)],
    outfile,
    bundle: true,
    platform: HANDLER_ESBUILD.platform,
    target: HANDLER_ESBUILD.target,
    format: HANDLER_ESBUILD.format,
    minify: HANDLER_ESBUILD.minify,
    sourcemap: HANDLER_ESBUILD.sourcemap,
    sourcesContent: HANDLER_ESBUILD.sourcesContent,
    mainFields: [...HANDLER_ESBUILD.mainFields],
    banner: { js: HANDLER_ESBUILD.banner },
    external: [...HANDLER_ESBUILD.external],
    logLevel: 'silent',
  });
  return outfile;
}

/** One fresh node process importing `file`; resolves to the import's duration in ms. */
function timeImport(file: string, nodeArgs: readonly string[]): Promise<number> {
  const script = [
    'const t0 = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'process.stdout.write(String(performance.now() - t0));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], {
      cwd: PACKAGE_ROOT,
      env: { PATH: process.env.PATH ?? '', ...HANDLER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(out);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else
        reject(
          new Error(`import of ${file} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`),
        );
    });
  });
}

async function benchHandler(name: HandlerName, runs: number, dir: string): Promise<BundleRow> {
  if (!handlerExists(name)) return { handler: name, status: 'missing' };
  try {
    const file = await bundle(name, join(dir, name));
    const code = readFileSync(file);
    const variants = {
      bundledMs: { file, args: [] as string[] },
      bundledSourceMapsMs: { file, args: ['--enable-source-maps'] },
      unbundledMs: { file: handlerEntry(name), args: ['--import', 'tsx'] },
    };
    const samples: Record<keyof typeof variants, number[]> = {
      bundledMs: [],
      bundledSourceMapsMs: [],
      unbundledMs: [],
    };
    for (let i = 0; i < runs; i += 1) {
      for (const [key, v] of Object.entries(variants) as [
        keyof typeof variants,
        { file: string; args: string[] },
      ][]) {
        samples[key].push(await timeImport(v.file, v.args));
      }
    }
    return {
      handler: name,
      status: 'ok',
      bundleKb: round(code.length / KB),
      gzipKb: round(gzipSync(code).length / KB),
      sourceMapKb: round(statSync(`${file}.map`).size / KB),
      bundledMs: round(median(samples.bundledMs)),
      bundledSourceMapsMs: round(median(samples.bundledSourceMapsMs)),
      unbundledMs: round(median(samples.unbundledMs)),
      runs,
    };
  } catch (err) {
    return { handler: name, status: 'error', error: err instanceof Error ? err.message : String(err) };
  }
}

/** Bundles and measures every handler; never throws for a missing or broken handler (see `status`). */
export async function runBundleBench(options: BundleBenchOptions = {}): Promise<BundleRow[]> {
  const runs = options.runs ?? 7;
  const dir = mkdtempSync(join(tmpdir(), 'jwks-bundles-'));
  try {
    const rows: BundleRow[] = [];
    for (const name of HANDLERS) {
      options.log?.(`bundling and loading ${name} (${runs} fresh processes per variant)…`);
      rows.push(await benchHandler(name, runs, dir));
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A plain-text table of the rows. */
export function formatBundleTable(rows: readonly BundleRow[]): string {
  const header = [
    'handler',
    'bundle KiB',
    'gzip KiB',
    'map KiB',
    'load bundled ms',
    'bundled+maps ms',
    'unbundled (tsx) ms',
    'speed-up',
  ];
  const lines = rows.map((r) => {
    if (r.status !== 'ok') return [r.handler, r.status, '', '', '', '', '', r.error ?? ''];
    const speedup = r.unbundledMs && r.bundledMs ? `${round(r.unbundledMs / r.bundledMs)}×` : '';
    return [
      r.handler,
      String(r.bundleKb),
      String(r.gzipKb),
      String(r.sourceMapKb),
      String(r.bundledMs),
      String(r.bundledSourceMapsMs),
      String(r.unbundledMs),
      speedup,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 7);
  const rows = await runBundleBench({ runs, log: (line) => console.error(line) });
  console.log(formatBundleTable(rows));
  console.log(`\nmedian of ${runs} fresh node ${process.version} processes per variant; import time only`);
}
