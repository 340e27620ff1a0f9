/**
 * `jwks verify <jwt>`: verify a token against the JWKS verifiers are served (the edge, not the
 * registry), so it answers "would a resource server accept this token right now?".
 */
import type { Command } from '../command.ts';
import { EXIT } from '../output.ts';
import type { Verdict } from '../verify-token.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a JWT against the published JWKS (exit 1 and the reason when it is not valid)',
  options: {},
  positionals: ['jwt'],
  help: [],
  async run({ positionals, out, context }) {
    const token = (positionals[0] as string).trim();
    // jose, loaded only by the command that verifies.
    const { checkHeader, verifyToken } = await import('../verify-token.ts');
    // A token that fails on its header alone is judged without contacting the stack at all.
    const header = checkHeader(token);
    let verdict: Verdict;
    if ('valid' in header) {
      verdict = header;
    } else {
      const ctx = await context();
      verdict = await verifyToken(token, await ctx.fetchJwks(), {
        clockSkewMs: ctx.policy.clockSkew,
        now: ctx.now(),
      });
    }
    if (verdict.valid) {
      const human = `valid: kid ${verdict.kid}, alg ${verdict.alg}\n${JSON.stringify(verdict.claims, null, 2)}`;
      out.result(verdict, human);
      return EXIT.OK;
    }
    out.result(verdict, `invalid: ${verdict.reason}: ${verdict.message}`);
    return EXIT.FAILURE;
  },
};
