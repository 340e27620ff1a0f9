/**
 * Getting a token from the token endpoint as a client does (RFC 6749 §4.4, client credentials):
 * `client_secret_basic` with the id and secret form-encoded before base64 (RFC 6749 §2.3.1), or
 * `private_key_jwt` (RFC 7523 §2.2) with a one-use assertion signed by the client's private JWK.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { type FetchLike, type RequestFailure, request } from './http.ts';
import type { HttpSnapshot, ProbeCredential } from './types.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

async function assertion(
  credential: Extract<ProbeCredential, { kind: 'key' }>,
  audience: string,
  now: number,
): Promise<string> {
  const jwk = credential.privateJwk;
  const alg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
  if (!alg) throw new TypeError('the private key has no "alg"');
  const key = await importJWK(jwk as Parameters<typeof importJWK>[0], alg);
  const iat = Math.floor(now / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg, ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}) })
    .setIssuer(credential.clientId)
    .setSubject(credential.clientId)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(key);
}

export async function requestToken(
  tokenEndpoint: string,
  credential: ProbeCredential,
  opts: { readonly fetch?: FetchLike; readonly timeoutMs?: number; readonly now: number },
): Promise<HttpSnapshot | RequestFailure> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (credential.kind === 'secret') {
    const pair = `${formEncode(credential.clientId)}:${formEncode(credential.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    try {
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', await assertion(credential, tokenEndpoint, opts.now));
    } catch (err) {
      return {
        url: tokenEndpoint,
        error: `cannot sign a client assertion: ${(err as Error).message}`,
        ms: 0,
      };
    }
  }
  return request(tokenEndpoint, { method: 'POST', headers, body: form.toString() }, opts);
}
