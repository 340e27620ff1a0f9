/**
 * Kids are RFC 7638 thumbprints in base64url: about one in 64 begins with `-`. Every command must take
 * one exactly as `jwks status` prints it (issue 13).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeArgs } from '../../src/cli/args.ts';
import { auditCommand } from '../../src/cli/commands/audit.ts';
import { revokeCommand } from '../../src/cli/commands/revoke.ts';
import { verifyCommand } from '../../src/cli/commands/verify.ts';
import { parse } from '../../src/cli/main.ts';
import { requestRotation } from '../../src/operations.ts';
import { bootstrap, json, type MemoryStack, memoryStack, publish, run } from './harness.ts';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A SHA-256 thumbprint: 43 base64url characters; half of them begin with `-` (the case under test). */
const kidArb = fc
  .tuple(fc.boolean(), fc.string({ unit: fc.constantFrom(...B64URL), minLength: 43, maxLength: 43 }))
  .map(([dash, s]) => (dash ? `-${s.slice(1)}` : s));

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('command-line parsing of values that begin with "-"', () => {
  it('takes every generated kid as the kid of revoke, audit --kid (both forms) and verify', () => {
    fc.assert(
      fc.property(kidArb, (kid) => {
        expect(parse(revokeCommand, [kid]).positionals).toEqual([kid]);
        expect(parse(revokeCommand, ['--reason', 'x', kid, '--json']).positionals).toEqual([kid]);
        expect(parse(auditCommand, ['--kid', kid]).values.kid).toBe(kid);
        expect(parse(auditCommand, [`--kid=${kid}`, '--json']).values.kid).toBe(kid);
        expect(parse(verifyCommand, [kid]).positionals).toEqual([kid]);
      }),
      { numRuns: 500 },
    );
  });

  it('takes the next argument as the value of a flag that takes one when it begins with "-"', () => {
    const { values } = parse(revokeCommand, ['--reason', '-x: key leaked', 'kid-1']);
    expect(values.reason).toBe('-x: key leaked');
  });

  it('takes everything after -- as positionals', () => {
    expect(parse(revokeCommand, ['--json', '--', '--help']).positionals).toEqual(['--help']);
    expect(parse(revokeCommand, ['--', '-svc']).values.json).toBeUndefined();
  });

  it('reports a missing value when a flag that takes one is followed by another flag', () => {
    expect(codeOf(() => parse(revokeCommand, ['k', '--reason', '--json']))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parse(auditCommand, ['--kid']))).toBe('INVALID_ARGUMENT');
  });

  it('says how to pass an unknown option that looks like a value', () => {
    const err = (() => {
      try {
        normalizeArgs(['-svc'], {}, 'clients disable');
      } catch (e) {
        return e as Error & { code: string };
      }
    })();
    expect(err?.code).toBe('INVALID_ARGUMENT');
    expect(err?.message).toContain('jwks clients disable -- -svc');
  });

  it('still refuses a mistyped flag', () => {
    expect(codeOf(() => parse(revokeCommand, ['k', '--reasn', 'x']))).toBe('INVALID_ARGUMENT');
  });
});

describe('jwks --help', () => {
  it('shows the -- form for a command that takes a value', async () => {
    const r = await run(['revoke', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('jwks revoke [flags] -- <kid>');
  });
});

/** Rotate (as `rotate --now` does) until some key's kid begins with `-`: ~64 ES256 keys on average. */
async function stackWithDashKid(): Promise<{ stack: MemoryStack; kid: string }> {
  const stack = memoryStack();
  await bootstrap(stack);
  for (let i = 0; i < 2000; i++) {
    const kid = stack.registry.snapshot().keys.find((k) => k.kid?.startsWith('-'))?.kid;
    if (kid) return { stack, kid };
    stack.now += 1000;
    // The standby activates only once published (design §3): the publisher runs as the stack's would.
    await publish(stack);
    await requestRotation(
      stack,
      { immediate: true },
      { changedBy: 'test', reason: 'find a dash kid' },
      stack.now,
    );
  }
  throw new Error('no kid beginning with "-" in 2000 keys');
}

describe('jwks status → jwks revoke with a kid that begins with "-"', () => {
  it('revokes the kid copied as a word from the text output', async () => {
    const { stack, kid } = await stackWithDashKid();
    const text = (await run(['status'], stack)).stdout;
    const words = text.split(/\s+/);
    expect(words).toContain(kid);
    const r = await run(['revoke', kid, '--json'], stack);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).kid).toBe(kid);
    expect(stack.registry.snapshot().keys.find((k) => k.kid === kid)?.status).toBe('REVOKED');
  }, 60_000);

  it('revokes the kid copied from --json, and the summary words are exactly the active and pending kids', async () => {
    const { stack, kid } = await stackWithDashKid();
    const view = json<{ activeKid: string; pendingKid: string; keys: { kid?: string }[] }>(
      await run(['status', '--json'], stack),
    );
    expect(view.keys.map((k) => k.kid)).toContain(kid);
    const summary = (await run(['status'], stack)).stdout.split('\n')[0]?.split(/\s+/) ?? [];
    expect(summary[summary.indexOf('active') + 1]).toBe(view.activeKid);
    expect(summary[summary.indexOf('pending') + 1]).toBe(view.pendingKid);
    const r = await run(['revoke', kid, '--reason', '-- leaked', '--json'], stack);
    expect(r.code, r.stderr).toBe(0);
    expect(stack.registry.snapshot().keys.find((k) => k.kid === kid)?.reason).toBe('-- leaked');
  }, 60_000);
});
