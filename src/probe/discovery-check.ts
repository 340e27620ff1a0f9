/**
 * The discovery document as a verifier reads it: fetched from `<issuer>/.well-known/…`, its `issuer`
 * must equal the issuer asked for exactly (RFC 8414 §3.3, OIDC Discovery §4.3: otherwise an attacker's
 * metadata could name someone else's issuer), and it must name where the JWKS and the token endpoint are.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation
 */
import { checkHttpContract } from './checks.ts';
import { type CheckResult, fail, type HttpSnapshot, type ProbePath, pass } from './types.ts';

export interface DiscoveryResult {
  readonly check: CheckResult;
  readonly jwksUri?: string;
  readonly tokenEndpoint?: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An https URL (http only on loopback, for a local stack), or undefined. */
function endpoint(value: unknown): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))
    ? value
    : undefined;
}

export function checkDiscovery(
  name: string,
  path: ProbePath,
  issuer: string,
  res: HttpSnapshot,
): DiscoveryResult {
  const http = checkHttpContract(name, path, res);
  if (!http.ok) return { check: http };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(res.body) as Record<string, unknown>;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('not an object');
  } catch {
    return { check: fail(name, path, 'the body is not a JSON object', res.ms) };
  }
  const problems: string[] = [];
  if (doc.issuer !== issuer) {
    problems.push(`issuer ${JSON.stringify(doc.issuer)} is not ${JSON.stringify(issuer)}`);
  }
  const jwksUri = endpoint(doc.jwks_uri);
  if (!jwksUri) problems.push(`jwks_uri ${JSON.stringify(doc.jwks_uri)} is not an https URL`);
  const tokenEndpoint = endpoint(doc.token_endpoint);
  if (doc.token_endpoint !== undefined && !tokenEndpoint) {
    problems.push(`token_endpoint ${JSON.stringify(doc.token_endpoint)} is not an https URL`);
  }
  if (problems.length > 0) return { check: fail(name, path, problems.join('; '), res.ms) };
  return {
    check: pass(name, path, `${new URL(res.url).pathname}: issuer matches, ${http.detail}`, res.ms),
    ...(jwksUri ? { jwksUri } : {}),
    ...(tokenEndpoint ? { tokenEndpoint } : {}),
  };
}
