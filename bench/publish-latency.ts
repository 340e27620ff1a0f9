/**
 * Publish latency (issue 3, "Benchmarks"): from the return of a registry commit that changes the JWKS
 * to the moment the local edge serves a JWKS reflecting it. Target: p95 ≤ 1 s over ≥ 20 changes.
 *
 * The stack runs as a user runs it (`npm start`, own port and data dir, JWKS_MAX_AGE=1s). Each change
 * is a `jwks rotate --now`, done in this process with the adapters the CLI builds from the stack's
 * stack.json (src/cli/local-context.ts) calling the same `requestRotation({ immediate: true })` —
 * no CLI process start-up in the way, and the registry is wrapped so the instant each commit returns is
 * known exactly. One rotation commits (at least) two JWKS changes, each measured on its own:
 *   - activate: the standby becomes ACTIVE, so it must be served first (ACTIVE, PENDING, RETIRED order);
 *   - add: the new standby's key (PENDING, with a kid) must be served.
 * Meanwhile the edge is polled as a verifier would fetch it (plain GET, no cache-busting) every ~10 ms;
 * a change's latency is the first poll answer, received after the commit returned, that reflects it.
 * Changes committed by the stack's own reconciler (when it wins a race) are not counted. Before the next
 * rotation the stack must have settled: ACTIVE served first and its standby served.
 *
 * Alone: `node --import tsx bench/publish-latency.ts [rotations]`; `bench/run.ts` calls
 * `runPublishLatencyBench()`.
 */
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { localContext } from '../src/cli/local-context.ts';
import { PATHS } from '../src/constants.ts';
import type { Commit, KeyStatus } from '../src/core/types.ts';
import { requestRotation } from '../src/operations.ts';
import type { Registry } from '../src/ports.ts';
import { startStack } from '../test/e2e/stack-process.ts';
import { assertLoopback } from './lib/load.ts';
import { type Distribution, distribution } from './lib/stats.ts';
import { fmt, formatTable } from './lib/table.ts';

export interface PublishLatencyOptions {
  /** `rotate --now` operations; each yields about two JWKS changes. Default 20. */
  readonly rotations?: number;
  /** Pause between edge polls. Default 10 ms. */
  readonly pollIntervalMs?: number;
  /** Give up on a change (and fail the bench) after this long. Default 15 s. */
  readonly changeTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export type ChangeKind = 'activate' | 'add' | 'remove';

export interface ChangeSample {
  readonly kind: ChangeKind;
  readonly kid: string;
  readonly latencyMs: number;
}

export interface PublishLatencyResult {
  readonly samples: readonly ChangeSample[];
  readonly all: Distribution;
  readonly byKind: Readonly<Partial<Record<ChangeKind, Distribution>>>;
  /** How long each `requestRotation` took (its commits, key creation and reconcile), ms. */
  readonly rotationMs: Distribution;
  readonly targetP95Ms: number;
  readonly options: Required<Omit<PublishLatencyOptions, 'log'>>;
}

export const PUBLISH_P95_TARGET_MS = 1_000;
const MIN_CHANGES = 20;
/** Statuses the publisher puts in the JWKS (README "The key lifecycle"). */
const SERVED: ReadonlySet<KeyStatus> = new Set<KeyStatus>(['PENDING', 'ACTIVE', 'RETIRED']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Observation {
  /** performance.now() when the answer had been read. */
  readonly at: number;
  readonly kids: readonly string[];
}

interface Change {
  readonly kind: ChangeKind;
  readonly kid: string;
  /** performance.now() when the commit returned. */
  readonly at: number;
}

const reflects = (c: Change, kids: readonly string[]): boolean =>
  c.kind === 'activate' ? kids[0] === c.kid : c.kind === 'add' ? kids.includes(c.kid) : !kids.includes(c.kid);

/** Polls the edge's JWKS until stopped (or for at most `maxMs`), recording each answer's kids. */
class EdgePoller {
  readonly observations: Observation[] = [];
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(url: string, intervalMs: number, maxMs: number) {
    assertLoopback(url);
    const deadline = performance.now() + maxMs;
    this.#done = (async () => {
      while (!this.#stopped && performance.now() < deadline) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
          const body = (await res.json()) as { keys?: Array<{ kid?: string }> };
          if (res.status === 200) {
            const kids = (body.keys ?? []).flatMap((k) => (k.kid ? [k.kid] : []));
            this.observations.push({ at: performance.now(), kids });
          }
        } catch {
          // A failed poll is no observation; the next one comes ~intervalMs later.
        }
        await sleep(intervalMs);
      }
    })();
  }

  latest(): readonly string[] | undefined {
    return this.observations.at(-1)?.kids;
  }

  /** The first answer received after `change` returned that reflects it. */
  firstReflecting(change: Change): Observation | undefined {
    return this.observations.find((o) => o.at > change.at && reflects(change, o.kids));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** The JWKS changes a sequence of commits makes, relative to what was served before the first. */
function changesOf(
  commits: readonly { at: number; commit: Commit }[],
  activeKid: string | undefined,
  served: readonly string[],
): Change[] {
  let active = activeKid;
  const visible = new Set(served);
  const changes: Change[] = [];
  for (const { at, commit } of commits) {
    const next = commit.state.activeKid;
    if (next && next !== active) changes.push({ kind: 'activate', kid: next, at });
    active = next;
    for (const { record } of commit.keys) {
      if (!record.kid) continue;
      const shown = SERVED.has(record.status);
      if (shown && !visible.has(record.kid)) changes.push({ kind: 'add', kid: record.kid, at });
      if (!shown && visible.has(record.kid)) changes.push({ kind: 'remove', kid: record.kid, at });
      if (shown) visible.add(record.kid);
      else visible.delete(record.kid);
    }
  }
  return changes;
}

/** The first defined value `probe()` returns, checking every `everyMs`; throws after `timeoutMs`. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`publish-latency: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function runPublishLatencyBench(
  options: PublishLatencyOptions = {},
): Promise<PublishLatencyResult> {
  const opts = {
    rotations: options.rotations ?? 20,
    pollIntervalMs: options.pollIntervalMs ?? 10,
    changeTimeoutMs: options.changeTimeoutMs ?? 15_000,
  };
  const log = options.log ?? (() => {});
  log('publish: starting the local stack (npm start, JWKS_MAX_AGE=1s)…');
  const stack = await startStack({ env: { LOG_LEVEL: 'warn', JWKS_MAX_AGE: '1s' } });
  const ctx = localContext(stack.dataDir);
  const poller = new EdgePoller(
    `${stack.url}${PATHS.JWKS}`,
    opts.pollIntervalMs,
    opts.rotations * 2 * opts.changeTimeoutMs + 60_000,
  );
  try {
    const base = ctx.registry;
    let commits: { at: number; commit: Commit }[] = [];
    const registry: Registry = {
      read: () => base.read(),
      readState: () => base.readState(),
      markPublished: (refs, at) => base.markPublished(refs, at),
      markRegionPublished: (region, keys, at) => base.markRegionPublished(region, keys, at),
      promote: (input) => base.promote(input),
      async commit(commit) {
        await base.commit(commit);
        commits.push({ at: performance.now(), commit });
      },
    };
    const deps = { registry, vault: ctx.vault, store: ctx.store, policy: ctx.policy };
    const change = { changedBy: 'cli:bench', reason: 'bench: publish latency (rotate --now)' };

    /** ACTIVE served first and its PENDING standby served: nothing left in flight. */
    const settled = async (): Promise<{ activeKid: string; served: readonly string[] } | undefined> => {
      const { state, keys } = await base.read();
      const standby = keys.find((k) => k.keyRef === state.pendingKeyRef);
      const served = poller.latest();
      if (!state.activeKid || standby?.status !== 'PENDING' || !standby.kid || !served) return undefined;
      return served[0] === state.activeKid && served.includes(standby.kid)
        ? { activeKid: state.activeKid, served }
        : undefined;
    };

    const samples: ChangeSample[] = [];
    const rotationMs: number[] = [];
    for (let i = 1; i <= opts.rotations || samples.length < MIN_CHANGES; i++) {
      if (i > opts.rotations * 3) throw new Error('publish-latency: too few changes were measured');
      const start = await until('the stack to settle', settled, 30_000, 50);
      commits = [];
      const t0 = performance.now();
      await requestRotation(deps, { immediate: true }, change, Date.now());
      rotationMs.push(performance.now() - t0);
      const changes = changesOf(commits, start.activeKid, start.served);
      await until(
        'the edge to serve the new JWKS',
        () => (changes.every((c) => poller.firstReflecting(c)) ? true : undefined),
        opts.changeTimeoutMs,
      );
      for (const c of changes) {
        const seen = poller.firstReflecting(c) as Observation;
        samples.push({ kind: c.kind, kid: c.kid, latencyMs: seen.at - c.at });
      }
      log(
        `publish rotation ${i}: ${changes
          .map((c, j) => `${c.kind} ${fmt(samples[samples.length - changes.length + j]?.latencyMs, 0)} ms`)
          .join(', ')}`,
      );
    }
    const kinds = [...new Set(samples.map((s) => s.kind))];
    return {
      samples,
      all: distribution(samples.map((s) => s.latencyMs)),
      byKind: Object.fromEntries(
        kinds.map((k) => [k, distribution(samples.filter((s) => s.kind === k).map((s) => s.latencyMs))]),
      ),
      rotationMs: distribution(rotationMs),
      targetP95Ms: PUBLISH_P95_TARGET_MS,
      options: opts,
    };
  } finally {
    await poller.stop();
    ctx.close();
    await stack.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
}

export function formatPublishLatencyTable(r: PublishLatencyResult): string {
  const row = (name: string, d: Distribution) => [name, d.count, fmt(d.p50), fmt(d.p95), fmt(d.max)];
  const rows = [
    ...Object.entries(r.byKind).map(([kind, d]) => row(kind, d as Distribution)),
    row('all changes', r.all),
  ];
  return [
    `registry commit returned → edge serves a JWKS reflecting it; ${r.options.rotations} × rotate --now, ` +
      `edge polled every ${r.options.pollIntervalMs} ms (ms)`,
    formatTable(['change', 'count', 'p50', 'p95', 'max'], rows),
    `p95 ${fmt(r.all.p95)} ms (target ≤ ${r.targetP95Ms} ms) ${r.all.p95 <= r.targetP95Ms ? 'PASS' : 'FAIL'}; ` +
      `one rotate --now took ${fmt(r.rotationMs.p50)} ms (p50)`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rotations = Number(process.argv[2]) || undefined;
  const result = await runPublishLatencyBench({
    ...(rotations ? { rotations } : {}),
    log: (line) => console.error(line),
  });
  console.log(formatPublishLatencyTable(result));
}
