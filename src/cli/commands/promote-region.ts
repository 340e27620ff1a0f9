/**
 * `jwks promote-region <region> --stack <that region's stack> [--reason <text>]` (design §12, ADR 0008):
 * make a replica region the registry's one writer, e.g. after losing the primary region. The request
 * goes to the rotate function of the region being promoted (run the CLI with that region's AWS_REGION),
 * which checks that it is the region named and writes the promotion with its own clock.
 */
import { act } from '../act.ts';
import { type Command, stringFlag } from '../command.ts';

export const promoteRegionCommand: Command = {
  name: 'promote-region',
  summary: 'multi-region: make this region the primary (a new fencing epoch); rotation resumes there',
  options: { reason: { type: 'string' }, exclude: { type: 'string' } },
  positionals: ['region'],
  help: [
    '--reason <text>     recorded with the promotion (default: "operator promote-region")',
    '--exclude <regions> comma-separated lost regions: activations stop waiting for their publication',
    '                    (promote the primary again without --exclude to re-admit them once they serve)',
    'Run it against the stack of the region being promoted (its AWS_REGION and --stack).',
  ],
  async run({ values, positionals, out, context }) {
    const region = positionals[0] as string;
    const reason = stringFlag(values, 'reason')?.trim() || 'operator promote-region';
    const exclude = (stringFlag(values, 'exclude') ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r.length > 0);
    const request = {
      action: 'promote-region' as const,
      region,
      reason,
      ...(exclude.length > 0 ? { exclude } : {}),
    };
    return act(await context(), request, out);
  },
};
