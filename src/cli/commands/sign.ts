/**
 * `jwks sign [--claims <json>] [--ttl <duration>] [--typ <typ>]`: a JWT signed with the ACTIVE key,
 * through the same Signer the token endpoint uses. `iat`, `exp` and `jti` are set here; `exp` is never
 * later than `maxTokenTtl` after `iat`, because the retention of a retired key is computed from it
 * (design §3: retention ≥ maxTokenTtl + clockSkew + signerCacheTtl) — a longer-lived token would
 * outlive its key in the JWKS.
 */
import { randomUUID } from 'node:crypto';
import { formatDuration, parseDuration } from '../../core/duration.ts';
import { DurationError } from '../../errors.ts';
import { type Command, stringFlag } from '../command.ts';
import { EXIT, UsageError } from '../output.ts';

const DEFAULT_TTL_MS = 5 * 60_000;

/** Claims the command sets itself; accepting them from --claims would bypass the maxTokenTtl bound. */
const RESERVED = ['iat', 'exp'] as const;

export function parseClaims(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  let claims: unknown;
  try {
    claims = JSON.parse(raw);
  } catch {
    throw new UsageError('--claims is not valid JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new UsageError('--claims must be a JSON object');
  }
  for (const name of RESERVED) {
    if (name in claims) throw new UsageError(`--claims may not set "${name}": it is set from --ttl`);
  }
  return claims as Record<string, unknown>;
}

/** The token lifetime in ms: --ttl, else min(5m, maxTokenTtl); never above maxTokenTtl. */
export function tokenTtl(raw: string | undefined, maxTokenTtl: number): number {
  if (raw === undefined) return Math.min(DEFAULT_TTL_MS, maxTokenTtl);
  let ttl: number;
  try {
    ttl = parseDuration(raw);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--ttl: ${err.message}`);
    throw err;
  }
  if (ttl < 1000) throw new UsageError('--ttl must be at least 1s (exp has whole seconds)');
  if (ttl > maxTokenTtl) {
    throw new UsageError(
      `--ttl ${raw} exceeds the policy setting maxTokenTtl (${formatDuration(maxTokenTtl)})`,
    );
  }
  return ttl;
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'sign a JWT with the active key',
  options: { claims: { type: 'string' }, ttl: { type: 'string' }, typ: { type: 'string' } },
  positionals: [],
  help: [
    '--claims <json>     a JSON object of claims (iat, exp and a random jti are added)',
    '--ttl <duration>    token lifetime, e.g. 10m (default min(5m, maxTokenTtl); at most maxTokenTtl)',
    '--typ <typ>         the JWS typ header (default JWT)',
  ],
  async run({ values, out, context }) {
    // The flags are checked before any stack is contacted, except what needs its policy.
    const claims = parseClaims(stringFlag(values, 'claims'));
    const typ = stringFlag(values, 'typ');
    if (typ !== undefined && typ.trim() === '') throw new UsageError('--typ must not be empty');
    const ctx = await context();
    const policy = ctx.policy;
    const ttl = tokenTtl(stringFlag(values, 'ttl'), policy.maxTokenTtl);
    const now = ctx.now();
    const iat = Math.floor(now / 1000);
    const payload = { jti: randomUUID(), ...claims, iat, exp: iat + Math.floor(ttl / 1000) };
    const { Signer } = await import('../../signer.ts');
    const signer = new Signer({
      registry: ctx.registry,
      vault: ctx.vault,
      cacheTtlMs: policy.signerCacheTtl,
      clock: ctx.now,
    });
    const { token } = await signer.sign(payload, typ === undefined ? {} : { typ });
    out.result({ token }, token);
    return EXIT.OK;
  },
};
