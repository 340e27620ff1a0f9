/**
 * `private_key_jwt` client authentication: a JWT the client signed with its own private key
 * (RFC 7523 §2.2 and §3, RFC 7521 §4.2). Verification is jose's `jwtVerify`; what is hand-written here
 * is only the policy around it:
 *
 * - `client_assertion_type` must be `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`;
 * - algorithms RS256, PS256, ES256, ES384 only: `none` (jose refuses unsecured JWTs anyway) and the
 *   HMAC family are refused, and keys are the client's registered public RSA/EC keys only;
 * - `iss` = `sub` = the client id (and `client_id`, when sent, the same); `aud` one of this endpoint's
 *   audiences (assertion-audience.ts: the issuer or the token endpoint URL in one region; in several,
 *   each audience in exactly one region, so the per-replica `jti` check suffices), as a string or a
 *   ONE-element array: a multi-valued `aud` is refused because an
 *   assertion valid at several servers can be replayed at each (the audience-injection issue that
 *   draft-ietf-oauth-rfc7523bis tightens the rule for);
 * - `exp` required and at most MAX_ASSERTION_LIFETIME_MS ahead; `jti` required and single use until
 *   `exp` + clock skew (ClientStore.useJti, a conditional write, so a concurrent replay loses too).
 *
 * Every failure is the same `invalid_client` (RFC 7521 §4.2.1), after the same work: one signature
 * check. An unknown client's assertion, or one whose kid matches none of the client's keys, is checked
 * against a dummy key of the header's algorithm, so neither existence nor keys are told by timing.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 * @see https://www.rfc-editor.org/rfc/rfc7521#section-4.2
 */
import {
  type CryptoKey,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { ALGORITHMS, type Algorithm } from '../core/types.ts';
import type { Clock } from '../ports.ts';
import { isClientId, isLoopbackJwksUri } from './client-validation.ts';
import type { Client, ClientJwks, ClientStore } from './types.ts';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Algorithms accepted on client assertions (and advertised in the metadata). */
export const ASSERTION_ALGORITHMS: readonly Algorithm[] = ALGORITHMS;
/** Longest an assertion may still be valid for: bounds how long a jti must be remembered. */
export const MAX_ASSERTION_LIFETIME_MS = 60 * 60_000;
const MAX_JTI_LENGTH = 256;
const REMOTE_JWKS_LIMIT = 1_000;

/** Why an assertion was refused (for logs only; the response is always the same invalid_client). */
export class AssertionRejected extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'AssertionRejected';
  }
}

export interface ClientAssertionOptions {
  readonly clients: Pick<ClientStore, 'get' | 'useJti'>;
  /** The accepted `aud` values (assertion-audience.ts): each is accepted by one region only. */
  readonly audiences: readonly string[];
  readonly clockSkewMs: number;
  readonly clock: Clock;
  /** Fetch client keys from a loopback jwks_uri: the local stack only, never in Lambda (design §11). */
  readonly allowLoopbackJwksUri?: boolean;
}

let dummyKeys: Promise<Record<string, CryptoKey>> | undefined;
/** Throwaway public keys, one per key type, generated once per process. */
function dummyKeySet(): Promise<Record<string, CryptoKey>> {
  dummyKeys ??= Promise.all([
    generateKeyPair('RS256'),
    generateKeyPair('ES256'),
    generateKeyPair('ES384'),
  ]).then(([rsa, p256, p384]) => ({
    RS256: rsa.publicKey,
    PS256: rsa.publicKey,
    ES256: p256.publicKey,
    ES384: p384.publicKey,
  }));
  return dummyKeys;
}

const reject = (reason: string): never => {
  throw new AssertionRejected(reason);
};

export class ClientAssertionVerifier {
  readonly #opts: ClientAssertionOptions;
  readonly #local = new WeakMap<ClientJwks, JWTVerifyGetKey>();
  readonly #remote = new Map<string, JWTVerifyGetKey>();

  constructor(opts: ClientAssertionOptions) {
    this.#opts = opts;
  }

  warmUp(): Promise<void> {
    return dummyKeySet().then(() => undefined);
  }

  /**
   * The authenticated client. @throws AssertionRejected (→ invalid_client); store errors pass through.
   */
  async verify(assertion: string, clientIdParam: string | undefined): Promise<Client> {
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(assertion).alg;
      iss = decodeJwt(assertion).iss;
    } catch (err) {
      throw new AssertionRejected('not a JWT', { cause: err });
    }
    if (!(ASSERTION_ALGORITHMS as readonly unknown[]).includes(alg)) reject(`alg ${String(alg)} not allowed`);
    if (!isClientId(iss)) reject('iss is not a client id');
    const clientId = iss as string;
    if (clientIdParam !== undefined && clientIdParam !== clientId) reject('client_id differs from iss');

    const client = await this.#opts.clients.get(clientId);
    const keys = client ? this.#keysOf(client) : undefined;
    const dummy = await dummyKeySet();
    // Exactly one signature check on every path: when the client is unknown, has no usable keys, or
    // none of its keys matches the header's kid/alg, the check runs against a dummy key (and fails).
    // Otherwise an unknown client and a known client with an unknown kid would differ in time, and
    // client ids could be enumerated.
    let usedDummy = false;
    const getKey: JWTVerifyGetKey = async (header, token) => {
      if (keys) {
        try {
          return await keys(header, token);
        } catch {
          // no matching key, several matching keys, or an unreachable jwks_uri: fall through.
        }
      }
      usedDummy = true;
      return dummy[header.alg] ?? reject('no dummy key');
    };
    const now = this.#opts.clock();
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(assertion, getKey, {
        algorithms: [...ASSERTION_ALGORITHMS],
        issuer: clientId,
        subject: clientId,
        audience: [...this.#opts.audiences],
        requiredClaims: ['exp', 'jti'],
        clockTolerance: Math.floor(this.#opts.clockSkewMs / 1000),
        currentDate: new Date(now),
      }));
    } catch (err) {
      // jose's codes (ERR_JWT_EXPIRED, ERR_JWS_SIGNATURE_VERIFICATION_FAILED, …) help the operator's log.
      const code = (err as { code?: unknown }).code;
      const why = !client
        ? 'unknown client'
        : usedDummy
          ? 'no matching client key'
          : String(code ?? 'invalid');
      throw new AssertionRejected(`signature or claims invalid: ${why}`, { cause: err });
    }
    // A dummy key's private half was never kept, so this cannot happen; checked all the same.
    if (usedDummy) return reject('verified against a dummy key');
    if (!client || !keys) return reject('unknown client or no registered keys');
    if (client.status !== 'active') reject('client disabled');
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) reject('aud has more than one value');
    const exp = (payload.exp as number) * 1000;
    if (exp - now > MAX_ASSERTION_LIFETIME_MS + this.#opts.clockSkewMs) reject('exp too far in the future');
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) reject('jti malformed');
    const fresh = await this.#opts.clients.useJti(clientId, jti as string, exp + this.#opts.clockSkewMs);
    if (!fresh) reject('jti replayed');
    return client;
  }

  #keysOf(client: Client): JWTVerifyGetKey | undefined {
    if (client.jwks) {
      let keys = this.#local.get(client.jwks);
      if (!keys) {
        keys = createLocalJWKSet(client.jwks);
        this.#local.set(client.jwks, keys);
      }
      return keys;
    }
    if (client.jwksUri) {
      // A record written around `clients create` must not make the endpoint fetch from its own machine.
      if (!this.#opts.allowLoopbackJwksUri && isLoopbackJwksUri(client.jwksUri)) return undefined;
      let keys = this.#remote.get(client.jwksUri);
      if (!keys) {
        if (this.#remote.size >= REMOTE_JWKS_LIMIT) this.#remote.clear();
        // jose refetches on an unknown kid (at most once per cooldown) and otherwise caches 10 min.
        keys = createRemoteJWKSet(new URL(client.jwksUri), { timeoutDuration: 3_000 });
        this.#remote.set(client.jwksUri, keys);
      }
      return keys;
    }
    return undefined;
  }
}
