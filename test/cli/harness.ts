/**
 * Runs `jwks` commands in-process against the in-memory fakes through the injectable context, with a
 * clock the test moves. The stack is bootstrapped by the real reconciler and publisher, so the
 * registry holds what a running deployment holds: one ACTIVE, one published PENDING key.
 */

import type { CliContext, Target } from '../../src/cli/context.ts';
import { type CliIo, main } from '../../src/cli/main.ts';
import { OBJECT_KEYS } from '../../src/constants.ts';
import type { Policy, PolicyInput } from '../../src/core/types.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { policyOf, T0 } from '../support/fixtures.ts';
import { MemoryCdn, MemoryKeyVault, MemoryObjectStore, MemoryRegistry } from '../support/memory.ts';

export interface MemoryStack {
  readonly registry: MemoryRegistry;
  readonly store: MemoryObjectStore;
  readonly cdn: MemoryCdn;
  readonly vault: MemoryKeyVault;
  readonly policy: Policy;
  readonly ctx: CliContext;
  /** The context's clock (epoch ms); tests move it. */
  now: number;
  /** Targets the CLI asked to load, in order (empty: the command never contacted a stack). */
  readonly loads: Target[];
  /** How often the published JWKS was fetched. */
  fetches: number;
}

export function memoryStack(input: PolicyInput = { algorithm: 'ES256' }): MemoryStack {
  const registry = new MemoryRegistry();
  const store = new MemoryObjectStore();
  const cdn = new MemoryCdn();
  const vault = new MemoryKeyVault();
  const policy = policyOf(input);
  const stack: MemoryStack = {
    registry,
    store,
    cdn,
    vault,
    policy,
    now: T0,
    loads: [],
    fetches: 0,
    ctx: {
      registry,
      store,
      cdn,
      vault,
      policy,
      jwksUrl: 'http://127.0.0.1:0/.well-known/jwks.json',
      changedBy: async () => 'cli:tester',
      fetchJwks: async () => {
        stack.fetches += 1;
        return JSON.parse(store.text(OBJECT_KEYS.JWKS) ?? '{"keys":[]}');
      },
      now: () => stack.now,
      close() {},
    },
  };
  return stack;
}

/** Reconcile and publish like the scheduled job and the stream would, until one ACTIVE and one published PENDING key exist. */
export async function bootstrap(stack: MemoryStack): Promise<void> {
  const deps = {
    registry: stack.registry,
    vault: stack.vault,
    store: stack.store,
    cdn: stack.cdn,
    policy: stack.policy,
  };
  for (let round = 0; round < 6; round++) {
    await reconcile(deps, stack.now);
    await publishJwks(deps, stack.now);
    const keys = stack.registry.snapshot().keys;
    const active = keys.some((k) => k.status === 'ACTIVE');
    const pending = keys.some((k) => k.status === 'PENDING' && k.publishedAt !== undefined);
    if (active && pending) return;
    stack.now += stack.policy.prepublishLead;
  }
  throw new Error('bootstrap did not converge');
}

export async function publish(stack: MemoryStack): Promise<void> {
  await publishJwks(stack, stack.now);
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `jwks <argv>` in-process; `stack` undefined: every context load fails the test. */
export async function run(
  argv: readonly string[],
  stack?: MemoryStack,
  io: Partial<CliIo> = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd: '/work',
    loadContext: async (target) => {
      if (!stack) throw new Error('this command must not load a context');
      stack.loads.push(target);
      return stack.ctx;
    },
    ...io,
  });
  return { code, stdout, stderr };
}

/** The single JSON document a --json command printed. */
export function json<T = Record<string, unknown>>(r: RunResult): T {
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line, got: ${r.stdout}`);
  return JSON.parse(lines[0] as string) as T;
}
