/**
 * `jwks probe <issuer-url> [--api-url <url>] [--client-id <id> (--client-secret <secret> | --key-file <path>)]`:
 * the verifier canary's checks (src/probe/) from wherever the CLI runs, against any issuer — the local
 * stack, a deployed stack, or another server. It needs no stack context: only HTTP, as a verifier.
 * One line per check (`ok`, `FAIL`, `skip`); exit 0 when every check passed, 1 when one failed.
 */
import { allPassed, runProbe } from '../../probe/run.ts';
import type { CheckResult, ProbeCredential } from '../../probe/types.ts';
import { type Command, readJsonFile, stringFlag, type Values } from '../command.ts';
import { EXIT, UsageError } from '../output.ts';

function httpUrl(value: string, flag: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not an http(s) URL`);
  }
  return value;
}

/** A private JWK (with `alg`) from a file; never its content in a message. */
function readPrivateJwk(path: string): Record<string, unknown> {
  const parsed = readJsonFile('--key-file', path);
  const jwk = parsed as Record<string, unknown> | null;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || typeof jwk.kty !== 'string') {
    throw new UsageError(`--key-file ${path} is not a JWK`);
  }
  if (typeof jwk.alg !== 'string') throw new UsageError(`--key-file ${path}: the JWK has no "alg"`);
  if (jwk.d === undefined) throw new UsageError(`--key-file ${path}: the JWK is not a private key`);
  return jwk;
}

export function credentialOf(values: Values): ProbeCredential | undefined {
  const clientId = stringFlag(values, 'client-id');
  const clientSecret = stringFlag(values, 'client-secret');
  const keyFile = stringFlag(values, 'key-file');
  if (clientId === undefined) {
    if (clientSecret !== undefined || keyFile !== undefined) {
      throw new UsageError('--client-secret and --key-file need --client-id');
    }
    return undefined;
  }
  if ((clientSecret === undefined) === (keyFile === undefined)) {
    throw new UsageError('--client-id needs exactly one of --client-secret and --key-file');
  }
  if (clientSecret !== undefined) return { kind: 'secret', clientId, clientSecret };
  return { kind: 'key', clientId, privateJwk: readPrivateJwk(keyFile as string) };
}

const MARK = (r: CheckResult) => (r.skipped ? 'skip' : r.ok ? 'ok' : 'FAIL');

export function humanLines(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map(
      (r) => `${MARK(r).padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}${r.ms > 0 ? ` (${r.ms} ms)` : ''}`,
    )
    .join('\n');
}

export const probeCommand: Command = {
  name: 'probe',
  summary:
    "check an issuer's discovery, JWKS contract and tokens as a verifier would (exit 1 if any check fails)",
  options: {
    'api-url': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'key-file': { type: 'string' },
  },
  positionals: ['issuer-url'],
  help: [
    '--api-url <url>         also probe this JWKS URL (the API Gateway path, stack output ApiJwksUrl)',
    '--client-id <id>        get a token from the token endpoint as this client, and verify it',
    '--client-secret <s>     its secret (client_secret_basic)',
    '--key-file <path>       or its private JWK with "alg" (private_key_jwt)',
  ],
  async run({ values, positionals, out }) {
    const issuer = httpUrl(positionals[0] as string, '<issuer-url>');
    const apiUrl = stringFlag(values, 'api-url');
    const credential = credentialOf(values);
    const results = await runProbe({
      issuer,
      ...(apiUrl === undefined ? {} : { apiJwksUrl: httpUrl(apiUrl, '--api-url') }),
      ...(credential
        ? { credential }
        : { noCredentialReason: 'no credential (--client-id with --client-secret or --key-file)' }),
    });
    const ok = allPassed(results);
    out.result({ ok, issuer, checks: results }, humanLines(results));
    return ok ? EXIT.OK : EXIT.FAILURE;
  },
};
