/**
 * `jwks revoke <kid> [--reason <text>]` (design §3, Emergency revoke): the kid leaves the JWKS (also
 * after a table restore, through the revocation list), its vault key is disabled and scheduled for
 * deletion, and if it was the ACTIVE key the standby takes over at once.
 */
import { revokeKey } from '../../operations.ts';
import { type Command, stringFlag } from '../command.ts';
import { operationDeps } from '../context.ts';
import { EXIT } from '../output.ts';

export const revokeCommand: Command = {
  name: 'revoke',
  summary:
    'remove a key from the JWKS, disable it and schedule its deletion (promotes the standby if ACTIVE)',
  options: { reason: { type: 'string' } },
  positionals: ['kid'],
  help: ['--reason <text>     recorded with the revocation (default: "operator revoke")'],
  async run({ values, positionals, out, context }) {
    const kid = positionals[0] as string;
    const reason = stringFlag(values, 'reason')?.trim() || 'operator revoke';
    const ctx = await context();
    const change = { changedBy: await ctx.changedBy(), reason };
    const deps = operationDeps(ctx);
    const result = await revokeKey(deps, kid, change, ctx.now());
    for (const w of result.warnings) out.warn(w);

    const state = (await ctx.registry.readState()).activeKid;
    const summary = {
      kid: result.kid,
      previousStatus: result.previousStatus,
      alreadyRevoked: result.alreadyRevoked,
      ...(result.promoted ? { promotedKid: result.promoted.kid } : {}),
      ...(result.awaitingPublication?.kid ? { awaitingPublicationKid: result.awaitingPublication.kid } : {}),
      ...(state === undefined ? {} : { activeKid: state }),
      warnings: result.warnings,
    };
    const human = result.alreadyRevoked
      ? `${kid} was already revoked (its revocation and vault state are ensured)`
      : `revoked ${kid} (was ${result.previousStatus})` +
        (result.promoted ? `; ${result.promoted.kid} is ACTIVE now` : '') +
        (result.awaitingPublication
          ? `; no key is ACTIVE until ${result.awaitingPublication.kid ?? 'the new standby'} is published`
          : '');
    out.result(summary, human);
    return EXIT.OK;
  },
};
