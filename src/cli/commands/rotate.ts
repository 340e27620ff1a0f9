/**
 * `jwks rotate [--now]` (design §3). Without --now the ACTIVE key's period ends now and the standby
 * activates as soon as it has been published for `prepublishLead` — which keeps invariant 2. `--now`
 * activates the standby at once: verifiers whose cached JWKS predates it reject its tokens until their
 * cache expires, so that is said on stderr every time.
 */
import { formatDuration } from '../../core/duration.ts';
import { requestRotation } from '../../operations.ts';
import { boolFlag, type Command, stringFlag } from '../command.ts';
import { operationDeps } from '../context.ts';
import { EXIT, iso } from '../output.ts';

export const rotateCommand: Command = {
  name: 'rotate',
  summary: 'end the active key now; the standby activates once its prepublish lead is over (--now: at once)',
  options: { now: { type: 'boolean' }, reason: { type: 'string' } },
  positionals: [],
  help: [
    '--now               activate the standby at once (verifiers with a cached JWKS may fail)',
    '--reason <text>     recorded with the change (default: "operator: rotate" / "operator: rotate --now")',
  ],
  async run({ values, out, context }) {
    const ctx = await context();
    const immediate = boolFlag(values, 'now');
    const change = {
      changedBy: await ctx.changedBy(),
      reason:
        stringFlag(values, 'reason')?.trim() || (immediate ? 'operator: rotate --now' : 'operator: rotate'),
    };
    // With the store, the reconcile this runs also finishes any revoke the revocation list holds.
    const deps = operationDeps(ctx);
    const result = await requestRotation(deps, { immediate }, change, ctx.now());
    const lead = ctx.policy.prepublishLead;

    if (immediate) {
      out.warn(
        `rotate --now: ${result.activated?.kid ?? 'the standby'} signs from now on; verifiers with a cached JWKS ` +
          `that does not contain it may reject its tokens until that cache expires`,
      );
      for (const w of result.warnings) out.warn(w);
    }

    // Where the standby stands now, so the operator knows when the rotation takes effect.
    const snapshot = await ctx.registry.read();
    const standby = snapshot.keys.find((k) => k.keyRef === snapshot.state.pendingKeyRef);
    const activatesAt =
      !result.activated && standby?.publishedAt !== undefined ? standby.publishedAt + lead : undefined;
    const summary = {
      immediate,
      ...(result.activated ? { activatedKid: result.activated.kid } : {}),
      activeKid: snapshot.state.activeKid,
      ...(standby?.kid ? { pendingKid: standby.kid } : {}),
      ...(activatesAt === undefined ? {} : { pendingActivatesAt: iso(Math.max(activatesAt, ctx.now())) }),
      registryVersion: snapshot.state.registryVersion,
      warnings: result.warnings,
    };
    const human = result.activated
      ? `activated ${result.activated.kid}` +
        (standby?.kid ? `; next standby ${standby.kid}` : '; the next standby is being created')
      : standby?.publishedAt !== undefined
        ? `rotation requested: ${standby.kid} activates at ${summary.pendingActivatesAt}`
        : `rotation requested: the standby ${standby?.kid ?? ''} activates once it has been published ` +
          `for ${formatDuration(lead)} (prepublishLead)`;
    out.result(summary, human.replace(/ {2,}/g, ' '));
    return EXIT.OK;
  },
};
