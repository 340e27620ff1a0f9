/**
 * `jwks publish`: run the publisher now (design §5). Safe at any time: it converges, and writes only
 * when the rendered JWKS differs from the stored one. With `--stack` the deployed publish function
 * does it (src/operator/run.ts either way).
 */
import { act } from '../act.ts';
import { boolFlag, type Command, stringFlag } from '../command.ts';

export const publishCommand: Command = {
  name: 'publish',
  summary: 'render the JWKS from the registry and publish it if it changed',
  options: { force: { type: 'boolean' }, reason: { type: 'string' } },
  positionals: [],
  help: [
    '--force             overwrite a JWKS rendered from a newer registry version (after a point-in-time',
    '                    restore of the table; see the runbook)',
    '--reason <text>     logged by the deployed publish function (default: "operator publish")',
  ],
  async run({ values, out, context }) {
    const reason = stringFlag(values, 'reason')?.trim() || 'operator publish';
    return act(await context(), { action: 'publish', force: boolFlag(values, 'force'), reason }, out);
  },
};
