/**
 * How `rotate`, `revoke` and `publish` act: against a deployed stack, its control plane (the function
 * that owns the action runs it, with its clock); against the local stack, the same code in-process.
 */
import type { OperatorRequest } from '../operator/action.ts';
import { runOperatorRequest } from '../operator/run.ts';
import type { CliContext } from './context.ts';
import { EXIT, type Output } from './output.ts';

export async function act(ctx: CliContext, request: OperatorRequest, out: Output): Promise<number> {
  let outcome: Awaited<ReturnType<typeof runOperatorRequest>>;
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
      ...(ctx.issuer ? { issuer: ctx.issuer } : {}),
    };
    outcome = await runOperatorRequest(deps, request, change, ctx.now());
  }
  for (const w of outcome.warnings) out.warn(w);
  out.result(outcome.result, outcome.text);
  return EXIT.OK;
}
