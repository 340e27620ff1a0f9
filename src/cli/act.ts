/**
 * How `rotate`, `revoke` and `publish` act: against a deployed stack, its control plane (the function
 * that owns the action runs it, with its clock); against the local stack, the same code in-process.
 */
import type { OperatorOutcome, OperatorRequest } from '../operator/action.ts';
import type { CliContext } from './context.ts';
import { EXIT, type Output } from './output.ts';

export async function act(ctx: CliContext, request: OperatorRequest, out: Output): Promise<number> {
  let outcome: OperatorOutcome;
  if (ctx.controlPlane) {
    outcome = await ctx.controlPlane.act(request);
  } else {
    const change = { changedBy: await ctx.changedBy(), reason: request.reason };
    const deps = {
      registry: ctx.registry,
      vault: ctx.vault,
      store: ctx.store,
      cdn: ctx.cdn,
      policy: ctx.policy,
      // The clock that stamps each commit when it is made (design §11: one clock decides).
      clock: ctx.now,
      ...(ctx.issuer ? { issuer: ctx.issuer } : {}),
      ...(ctx.regions ? { regions: ctx.regions } : {}),
    };
    // Loaded here (the operations, the planner, the publisher): `jwks --help` never needs them.
    const { runOperatorRequest } = await import('../operator/run.ts');
    outcome = await runOperatorRequest(deps, request, change, ctx.now());
  }
  for (const w of outcome.warnings) out.warn(w);
  out.result(outcome.result, outcome.text);
  return EXIT.OK;
}
