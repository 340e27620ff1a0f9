/**
 * `jwks publish`: run the publisher now (design §5). Safe at any time: it converges, and writes only
 * when the rendered JWKS differs from the stored one.
 */
import { publishDiscovery } from '../../discovery-publisher.ts';
import { publishJwks } from '../../publisher.ts';
import { boolFlag, type Command } from '../command.ts';
import { EXIT } from '../output.ts';

export const publishCommand: Command = {
  name: 'publish',
  summary: 'render the JWKS from the registry and publish it if it changed',
  options: { force: { type: 'boolean' } },
  positionals: [],
  help: [
    '--force             overwrite a JWKS rendered from a newer registry version (after a point-in-time',
    '                    restore of the table; see the runbook)',
  ],
  async run({ values, out, context }) {
    const ctx = await context();
    const deps = {
      registry: ctx.registry,
      store: ctx.store,
      cdn: ctx.cdn,
      policy: ctx.policy,
      vault: ctx.vault,
      clock: ctx.now,
    };
    const r = await publishJwks(deps, ctx.now(), { force: boolFlag(values, 'force') });
    const discovery = ctx.issuer ? await publishDiscovery({ ...deps, issuer: ctx.issuer }) : undefined;
    const summary = {
      written: r.written,
      ...(r.skipped ? { skipped: r.skipped } : {}),
      invalidated: r.invalidated,
      registryVersion: r.registryVersion,
      sha256: r.sha256,
      kids: r.kids,
      ...(discovery ? { discoveryWritten: discovery.written } : {}),
      // Records the vault does not back, left out (design §11; runbook "UNVERIFIED").
      ...(r.unverified.length > 0 ? { unverified: r.unverified } : {}),
    };
    const left = r.unverified.map(
      (u) => `\nleft out (vault does not back it): ${u.kid ?? u.keyRef} ${u.failure}`,
    );
    const what = r.written
      ? 'wrote a new JWKS and invalidated the CDN'
      : r.skipped === 'stored-newer'
        ? 'did not write: the stored JWKS is from a newer registry version (after a restore: --force)'
        : `JWKS unchanged, nothing written${r.invalidated ? ' (repeated the pending invalidation)' : ''}`;
    out.result(
      summary,
      `${what}\nregistry version ${r.registryVersion}\nsha256 ${r.sha256}\nkids ${r.kids.join(', ') || '(none)'}${left.join('')}`,
    );
    return EXIT.OK;
  },
};
