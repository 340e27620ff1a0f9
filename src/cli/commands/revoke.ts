/**
 * `jwks revoke <kid> [--reason <text>]` (design §3, Emergency revoke): the kid leaves the JWKS (also
 * after a table restore, through the revocation list), its vault key is disabled and scheduled for
 * deletion, and if it was the ACTIVE key the standby takes over at once. With `--stack` the deployed
 * rotate function does it (src/operator/run.ts either way).
 */
import { act } from '../act.ts';
import { type Command, stringFlag } from '../command.ts';

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
    return act(await context(), { action: 'revoke', kid, reason }, out);
  },
};
