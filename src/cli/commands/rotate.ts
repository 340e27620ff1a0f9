/**
 * `jwks rotate [--now]` (design §3). Without --now the ACTIVE key's period ends now and the standby
 * activates as soon as it has been published for `prepublishLead` — which keeps invariant 2. `--now`
 * activates the standby at once: verifiers whose cached JWKS predates it reject its tokens until their
 * cache expires, so that is said on stderr every time. With `--stack` the deployed rotate function
 * does it (src/operator/run.ts either way).
 */
import { act } from '../act.ts';
import { boolFlag, type Command, stringFlag } from '../command.ts';

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
    const immediate = boolFlag(values, 'now');
    const reason =
      stringFlag(values, 'reason')?.trim() || (immediate ? 'operator: rotate --now' : 'operator: rotate');
    return act(await context(), { action: 'rotate', immediate, reason }, out);
  },
};
