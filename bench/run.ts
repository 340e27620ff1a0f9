/**
 * `npm run bench [-- <name>…]`: every benchmark in sequence, side by side with its baseline in this one
 * run, on this machine. Prints one table per benchmark (stdout; progress on stderr), then a summary —
 * metric, ours, baseline, ratio, target, PASS/FAIL — and saves it all to bench/results/latest.json
 * (git-ignored).
 *
 * Names: idle (idle CPU of the whole stack), memory (resident memory of every process of the stack, one
 * region and REGIONS=2, and its readiness cold and warm), jwks (JWKS serving vs oidc-provider and bare node:http),
 * publish (registry change → JWKS served), signing (Signer vs node:crypto), bundles (Lambda bundle size
 * and load time), token (client-credentials vs oidc-provider and the RSA ceiling), cli-start (CLI start per
 * command vs `node -e 0`). The HTTP load comes from `wrk` (Debian package) in its own process.
 * bundles, token live in files other people own: they are imported dynamically and
 * skipped with a note when the file is missing or does not load.
 *
 * Exit code: 0 when every selected benchmark ran, even if a target was missed (the summary says FAIL:
 * a benchmark measures, it does not gate); 1 when a benchmark crashed or could not measure part of what
 * it should (e.g. a handler bundle that does not load); 2 for an unknown name.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatIdleCpuTable, runIdleCpuBench } from './idle-cpu.ts';
import { formatJwksServingTable, runJwksServingBench } from './jwks-serving.ts';
import { formatSummary, type SummaryRow, verdict } from './lib/summary.ts';
import { fmt } from './lib/table.ts';
import { formatMemoryTable, runMemoryBench } from './memory.ts';
import { formatPublishLatencyTable, runPublishLatencyBench } from './publish-latency.ts';
import { formatSigningTable, runSigningBench } from './signing.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Outcome {
  readonly table: string;
  readonly summary: readonly SummaryRow[];
  readonly result: unknown;
  /** Parts that could not be measured (the rest still is): the run counts as crashed. */
  readonly errors?: readonly string[];
}

interface Bench {
  readonly name: string;
  readonly title: string;
  /** undefined: skipped, with `note` saying why. */
  readonly run: () => Promise<Outcome | { skipped: string }>;
}

const x = (ratio: number) => `${fmt(ratio, 2)}×`;

/** A module someone else owns: undefined (with the reason) when it is missing or does not load. */
async function optional<T>(file: string): Promise<T | string> {
  const path = join(import.meta.dirname, file);
  if (!existsSync(path)) return `bench/${file} does not exist`;
  try {
    return (await import(pathToFileURL(path).href)) as T;
  } catch (err) {
    return `bench/${file} did not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

const BENCHES: readonly Bench[] = [
  {
    name: 'idle',
    title: 'Idle CPU: the whole local stack doing nothing (bench/idle-cpu.ts)',
    async run() {
      const r = await runIdleCpuBench({ log });
      return {
        result: r,
        table: formatIdleCpuTable(r),
        summary: [
          {
            benchmark: 'idle',
            metric: 'idle CPU, % of one core (all processes)',
            ours: fmt(r.totalPercent, 2),
            baseline: '—',
            ratio: '—',
            target: `≤ ${r.targetPercent} %`,
            verdict: verdict(r.totalPercent <= r.targetPercent),
          },
          ...r.processes
            .filter((p) => p.percent > 0)
            .map((p) => ({
              benchmark: 'idle',
              metric: `  ${p.role}`,
              ours: fmt(p.percent, 2),
              baseline: '—',
              ratio: '—',
              target: '—',
              verdict: 'info' as const,
            })),
        ],
      };
    },
  },
  {
    name: 'memory',
    title: 'Memory and readiness: every process of npm start, one region and REGIONS=2 (bench/memory.ts)',
    async run() {
      const r = await runMemoryBench({ log });
      return {
        result: r,
        table: formatMemoryTable(r),
        summary: r.stacks.flatMap((s) => [
          {
            benchmark: 'memory',
            metric: `REGIONS=${s.regions}: RSS MB, all processes (PSS ${fmt(s.pssMb)})`,
            ours: fmt(s.rssMb),
            baseline: '—',
            ratio: '—',
            target: `≤ ${s.targetMb} MB`,
            verdict: verdict(s.rssMb <= s.targetMb),
          },
          ...s.processes
            .filter((p) => p.rssMb >= 1)
            .map((p) => ({
              benchmark: 'memory',
              metric: `  ${p.role} RSS MB (anon ${fmt(p.anonMb)})`,
              ours: fmt(p.rssMb),
              baseline: '—',
              ratio: '—',
              target: '—',
              verdict: 'info' as const,
            })),
          {
            benchmark: 'memory',
            metric: `REGIONS=${s.regions}: ready ms, warm (cold ${fmt(s.coldReadyMs)})`,
            ours: fmt(s.warmReadyMs),
            baseline: '—',
            ratio: '—',
            target: s.regions === 1 ? `≤ ${r.readyWarmTargetMs} ms` : '—',
            verdict: s.regions === 1 ? verdict(s.warmReadyMs <= r.readyWarmTargetMs) : ('info' as const),
          },
        ]),
      };
    },
  },
  {
    name: 'jwks',
    title: 'JWKS serving: local stack vs oidc-provider and a bare node:http server (wrk)',
    async run() {
      const r = await runJwksServingBench({ log });
      const b = 'jwks';
      return {
        result: r,
        table: formatJwksServingTable(r),
        summary: [
          {
            benchmark: b,
            metric: 'GET jwks.json req/s vs oidc-provider',
            ours: fmt(r.ours.reqPerSec),
            baseline: `${fmt(r.baseline.reqPerSec)} (oidc-provider)`,
            ratio: x(r.ratio),
            target: `≥ ${r.target}×`,
            verdict: verdict(r.ratio >= r.target),
          },
          {
            benchmark: b,
            metric: 'GET jwks.json req/s vs bare node:http',
            ours: fmt(r.ours.reqPerSec),
            baseline: `${fmt(r.reference.reqPerSec)} (node:http)`,
            ratio: x(r.ratioToReference),
            target: `≥ ${r.targetToReference}×`,
            verdict: verdict(r.ratioToReference >= r.targetToReference),
          },
          {
            benchmark: b,
            metric: 'GET jwks.json p99 ms',
            ours: fmt(r.ours.p99Ms, 2),
            baseline: fmt(r.baseline.p99Ms, 2),
            ratio: x(r.ours.p99Ms / r.baseline.p99Ms),
            target: '—',
            verdict: 'info',
          },
        ],
      };
    },
  },
  {
    name: 'publish',
    title: 'Publish latency: registry commit → JWKS served by the local edge',
    async run() {
      const r = await runPublishLatencyBench({ log });
      const b = 'publish';
      return {
        result: r,
        table: formatPublishLatencyTable(r),
        summary: [
          {
            benchmark: b,
            metric: `latency p95 ms (${r.all.count} changes)`,
            ours: fmt(r.all.p95),
            baseline: '—',
            ratio: '—',
            target: `≤ ${r.targetP95Ms} ms`,
            verdict: verdict(r.all.p95 <= r.targetP95Ms),
          },
          {
            benchmark: b,
            metric: 'latency p50 / max ms',
            ours: `${fmt(r.all.p50)} / ${fmt(r.all.max)}`,
            baseline: '—',
            ratio: '—',
            target: '—',
            verdict: 'info',
          },
        ],
      };
    },
  },
  {
    name: 'signing',
    title: 'Signing: Signer + LocalKeyVault vs bare node:crypto',
    async run() {
      const r = await runSigningBench({ log });
      return {
        result: r,
        table: formatSigningTable(r),
        summary: r.rows.map((row) => ({
          benchmark: 'signing',
          metric: `${row.alg} signatures/s`,
          ours: fmt(row.opsPerSec.signer),
          baseline: `${fmt(row.opsPerSec['crypto.sign async'])} (node:crypto)`,
          ratio: x(row.overhead),
          target: `≤ ${r.target}×`,
          verdict: verdict(row.overhead <= r.target),
        })),
      };
    },
  },
  {
    name: 'bundles',
    title: 'Lambda bundles: size and cold module-load time (bench/bundles.ts)',
    async run() {
      const mod = await optional<typeof import('./bundles.ts')>('bundles.ts');
      if (typeof mod === 'string') return { skipped: mod };
      const rows = await mod.runBundleBench({ log });
      return {
        result: rows,
        table: mod.formatBundleTable(rows),
        errors: rows.filter((r) => r.status === 'error').map((r) => `bundles: ${r.handler}: ${r.error}`),
        summary: rows
          .filter((r) => r.status !== 'missing')
          .map((r) =>
            r.status === 'ok'
              ? {
                  benchmark: 'bundles',
                  metric: `${r.handler}: load ms (${r.bundleKb} KiB, gzip ${r.gzipKb})`,
                  ours: `${r.bundledMs} bundled`,
                  baseline: `${r.unbundledMs} unbundled`,
                  ratio: r.bundledMs && r.unbundledMs ? x(r.unbundledMs / r.bundledMs) : '—',
                  target: '—',
                  verdict: 'info' as const,
                }
              : {
                  benchmark: 'bundles',
                  metric: `${r.handler}: load ms`,
                  ours: 'error',
                  baseline: '—',
                  ratio: '—',
                  target: '—',
                  verdict: 'ERROR' as const,
                },
          ),
      };
    },
  },
  {
    name: 'token',
    title: 'Token endpoint: client credentials vs oidc-provider and the RSA ceiling (wrk, bench/token.ts)',
    async run() {
      const mod = await optional<typeof import('./token.ts')>('token.ts');
      if (typeof mod === 'string') return { skipped: mod };
      const r = await mod.runTokenBench({ log });
      const [ours, theirs] = r.rows;
      const target = mod.TOKEN_TARGET;
      return {
        result: r,
        table: mod.formatTokenTable(r),
        summary: [
          {
            benchmark: 'token',
            metric: 'client_credentials tokens/s',
            ours: fmt(ours.tokensPerSecond),
            baseline: `${fmt(theirs.tokensPerSecond)} (oidc-provider)`,
            ratio: x(r.ratio),
            target: `≥ ${target}×`,
            verdict: verdict(r.ratio >= target),
          },
          {
            benchmark: 'token',
            metric: 'client_credentials p99 ms',
            ours: fmt(ours.p99Ms, 2),
            baseline: fmt(theirs.p99Ms, 2),
            ratio: x(ours.p99Ms / theirs.p99Ms),
            target: '—',
            verdict: 'info',
          },
          {
            benchmark: 'token',
            metric: 'tokens/s vs RSA-2048 signing ceiling',
            ours: fmt(ours.tokensPerSecond),
            baseline: `${fmt(r.rsaCeiling)} (node:crypto, all cores)`,
            ratio: x(r.ratioToCeiling),
            target: '—',
            verdict: 'info',
          },
        ],
      };
    },
  },
  {
    name: 'cli-start',
    title: 'CLI start: jwks --help / status / sign beyond node -e 0 (bench/cli-start.ts)',
    async run() {
      const { runCliStartBench, formatCliStartTable, CLI_START_TARGETS_MS } = await import('./cli-start.ts');
      const r = await runCliStartBench({ log });
      return {
        result: r,
        table: formatCliStartTable(r),
        summary: (Object.keys(r.commands) as (keyof typeof CLI_START_TARGETS_MS)[]).flatMap((n) => [
          {
            benchmark: 'cli-start',
            metric: `jwks ${n}: ms beyond node -e 0 (median of ${r.runs})`,
            ours: fmt(r.commands[n].beyondNodeMs),
            baseline: `${fmt(r.nodeMs)} (node -e 0)`,
            ratio: '—',
            target: `≤ ${CLI_START_TARGETS_MS[n]} ms`,
            verdict: verdict(r.commands[n].beyondNodeMs <= CLI_START_TARGETS_MS[n]),
          },
          {
            benchmark: 'cli-start',
            metric: `  jwks ${n}: CPU ms beyond node -e 0 (mean of ${r.runs})`,
            ours: fmt(r.commands[n].beyondNodeCpuMs),
            baseline: `${fmt(r.nodeCpuMs)} (node -e 0)`,
            ratio: '—',
            target: '—',
            verdict: 'info' as const,
          },
        ]),
      };
    },
  },
];

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
  if (unknown.length) {
    log(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const selected = wanted.length ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(
    `jwks-publisher benchmarks — ${machine.date}, node ${machine.node}, ${machine.nproc} CPUs (${machine.cpu}), ` +
      `load average ${machine.loadavgAtStart.join(' ')}`,
  );
  const summary: SummaryRow[] = [];
  const results: Record<string, unknown> = {};
  let crashed = 0;
  for (const bench of selected) {
    log(`\n== ${bench.name}: ${bench.title}`);
    const started = performance.now();
    let outcome: Awaited<ReturnType<Bench['run']>>;
    try {
      outcome = await bench.run();
    } catch (err) {
      crashed++;
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      console.log(`\n## ${bench.title}\nCRASHED: ${message}`);
      results[bench.name] = { status: 'crashed', error: message };
      continue;
    }
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    if ('skipped' in outcome) {
      console.log(`\n## ${bench.title}\nskipped: ${outcome.skipped}`);
      results[bench.name] = { status: 'skipped', note: outcome.skipped };
      continue;
    }
    console.log(`\n## ${bench.title} (${seconds} s)\n${outcome.table}`);
    summary.push(...outcome.summary);
    const errors = outcome.errors ?? [];
    if (errors.length) {
      crashed++;
      console.log(errors.map((e) => `ERROR: ${e}`).join('\n'));
    }
    results[bench.name] = {
      status: errors.length ? 'crashed' : 'ok',
      seconds,
      result: outcome.result,
      summary: outcome.summary,
      ...(errors.length ? { errors } : {}),
    };
  }
  console.log(`\n## Summary\n${formatSummary(summary)}`);
  const missed = summary.filter((r) => r.verdict === 'FAIL').length;
  if (missed) console.log(`${missed} target(s) missed (FAIL): see the tables above.`);
  if (crashed) console.log(`${crashed} benchmark(s) CRASHED.`);

  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  writeFileSync(file, `${JSON.stringify({ machine, summary, results }, null, 2)}\n`);
  // `npm run lint` (biome check .) does not skip git-ignored files, so leave the file in biome's own
  // JSON format; best effort: the results are saved either way.
  spawnSync(join(import.meta.dirname, '../node_modules/.bin/biome'), ['format', '--write', file], {
    stdio: 'ignore',
  });
  log(`results saved to ${file}`);
  return crashed ? 1 : 0;
}

process.exitCode = await main();
