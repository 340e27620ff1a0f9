/**
 * The rules for what a client record may hold, shared by `clients create` (bad input →
 * InvalidArgumentError) and by stores reading items back (a corrupt item → MalformedRecordError,
 * never a half-valid client reaching the token endpoint).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3 (scope-token grammar)
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2 (resource: absolute URI, no fragment)
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4 (JWK members)
 */
import { base64url } from 'jose';
import { urlReachesLoopback } from '../core/loopback.ts';
import { ALGORITHMS } from '../core/types.ts';
import { InvalidArgumentError, MalformedRecordError } from '../errors.ts';
import { CLIENT_STATUSES, type Client, type ClientJwks } from './types.ts';

/**
 * Client ids we issue: letters, digits and `._~-`, 1–128 characters. Narrower than RFC 6749's VSCHAR
 * on purpose: the id is a DynamoDB key part (`CLIENT#<id>`, `JTI#<id>#<jti>`), a CLI argument and a
 * `sub` claim, and none of these characters needs escaping in any of them (no `#`, no `:`).
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
/** An audience: printable ASCII without spaces (a URI, or a logical name for the `audience` parameter). */
export const AUDIENCE_PATTERN = /^[\x21-\x7E]{1,512}$/;

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const MAX_KEYS = 10;

export const isClientId = (value: unknown): value is string =>
  typeof value === 'string' && CLIENT_ID_PATTERN.test(value);

/** RFC 8707 §2: a resource indicator is an absolute URI without a fragment. */
export function isResourceIndicator(value: string): boolean {
  if (!URL.canParse(value)) return false;
  return !value.includes('#');
}

/** https, or http on a loopback host (the local stack); no credentials, no fragment. */
export function jwksUriProblem(uri: string): string | undefined {
  if (!URL.canParse(uri)) return 'is not an absolute URL';
  const url = new URL(uri);
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && urlReachesLoopback(url)) return undefined;
  return 'must be https (http only on a loopback host)';
}

/**
 * Whether a jwks_uri points at the machine the token endpoint runs on. Only the local stack may fetch
 * client keys from there (its clients' key servers run next to it); anywhere else such a URI is a
 * server-side request to local services — in Lambda, the runtime API on 127.0.0.1 — so it is refused
 * at registration and never fetched (design §11).
 */
export function isLoopbackJwksUri(uri: string): boolean {
  return URL.canParse(uri) && urlReachesLoopback(new URL(uri));
}

/** What is wrong with a client JWK Set for private_key_jwt, or undefined when it is acceptable. */
export function clientJwksProblem(jwks: unknown): string | undefined {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as ClientJwks).keys)) {
    return 'must be a JWK Set {"keys":[…]}';
  }
  const keys = (jwks as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > MAX_KEYS) return `must hold 1–${MAX_KEYS} keys`;
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null) return `key ${i} is not an object`;
    const jwk = key as Record<string, unknown>;
    const priv = PRIVATE_MEMBERS.find((m) => m in jwk);
    if (priv) return `key ${i} has the private member "${priv}": register public keys only`;
    if (jwk.use !== undefined && jwk.use !== 'sig') return `key ${i}: use must be "sig"`;
    if (jwk.alg !== undefined && !(ALGORITHMS as readonly unknown[]).includes(jwk.alg)) {
      return `key ${i}: alg must be one of ${ALGORITHMS.join(', ')}`;
    }
    if (jwk.kty === 'RSA') {
      if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return `key ${i}: RSA key needs n and e`;
      let bits: number;
      try {
        bits = base64url.decode(jwk.n).length * 8;
      } catch {
        return `key ${i}: n is not base64url`;
      }
      if (bits < 2048) return `key ${i}: RSA modulus must be at least 2048 bits (RFC 7518 §3.3)`;
    } else if (jwk.kty === 'EC') {
      if (jwk.crv !== 'P-256' && jwk.crv !== 'P-384') return `key ${i}: crv must be P-256 or P-384`;
      if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return `key ${i}: EC key needs x and y`;
    } else {
      return `key ${i}: kty must be RSA or EC (symmetric keys are not accepted)`;
    }
  }
  return undefined;
}

function listProblem(name: string, values: unknown, pattern: RegExp, required: boolean): string | undefined {
  if (!Array.isArray(values)) return `${name} must be a list`;
  if (required && values.length === 0) return `${name} must not be empty`;
  const bad = values.find((v) => typeof v !== 'string' || !pattern.test(v));
  if (bad !== undefined) return `${name}: ${JSON.stringify(bad)} is not allowed`;
  if (new Set(values).size !== values.length) return `${name} has duplicates`;
  return undefined;
}

/** Every rule a stored client satisfies; the first one broken, or undefined. */
export function clientProblem(c: Readonly<Record<string, unknown>>): string | undefined {
  if (!isClientId(c.clientId)) return 'clientId is not a valid client id';
  if (c.secretHash !== undefined && (typeof c.secretHash !== 'string' || c.secretHash.length === 0)) {
    return 'secretHash is not a string';
  }
  const lists =
    listProblem('scopes', c.scopes, SCOPE_TOKEN_PATTERN, false) ??
    listProblem('audiences', c.audiences, AUDIENCE_PATTERN, true);
  if (lists) return lists;
  if (!(CLIENT_STATUSES as readonly unknown[]).includes(c.status)) return 'status is not active or disabled';
  if (c.jwks !== undefined) {
    const p = clientJwksProblem(c.jwks);
    if (p) return `jwks ${p}`;
  }
  if (c.jwksUri !== undefined) {
    if (typeof c.jwksUri !== 'string') return 'jwksUri is not a string';
    const p = jwksUriProblem(c.jwksUri);
    if (p) return `jwksUri ${p}`;
  }
  if (c.jwks !== undefined && c.jwksUri !== undefined) return 'jwks and jwksUri are mutually exclusive';
  if (!Number.isSafeInteger(c.createdAt)) return 'createdAt is not an epoch-ms integer';
  if (c.updatedAt !== undefined && !Number.isSafeInteger(c.updatedAt)) return 'updatedAt is not an integer';
  if (typeof c.changedBy !== 'string' || typeof c.reason !== 'string') return 'changedBy/reason missing';
  return undefined;
}

/** A new client as given to `clients create`. @throws InvalidArgumentError */
export function assertValidClient(client: Client): Client {
  const problem = clientProblem(client as unknown as Record<string, unknown>);
  if (problem) throw new InvalidArgumentError(`client: ${problem}`);
  return client;
}

/** A client read back from a store: exactly the model's members, validated. @throws MalformedRecordError */
export function clientFromRecord(item: Readonly<Record<string, unknown>>): Client {
  const problem = clientProblem(item);
  if (problem) throw new MalformedRecordError(`client item: ${problem}`);
  const opt = <K extends keyof Client>(name: K) =>
    item[name] === undefined ? {} : ({ [name]: item[name] } as Pick<Client, K>);
  return {
    clientId: item.clientId as string,
    ...opt('secretHash'),
    scopes: [...(item.scopes as string[])],
    audiences: [...(item.audiences as string[])],
    status: item.status as Client['status'],
    ...opt('jwks'),
    ...opt('jwksUri'),
    createdAt: item.createdAt as number,
    ...opt('updatedAt'),
    changedBy: item.changedBy as string,
    reason: item.reason as string,
  };
}
