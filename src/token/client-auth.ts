/**
 * Client authentication at the token endpoint (RFC 6749 §2.3): exactly one of
 *
 * - `client_secret_basic`: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`
 *   (§2.3.1: the id and secret are form-urlencoded before base64, so both are decoded after it);
 * - `client_secret_post`: `client_id` and `client_secret` in the body;
 * - `private_key_jwt`: `client_assertion_type` + `client_assertion` (client-assertion.ts).
 *
 * Two secret methods at once are `invalid_request` (RFC 6749 §5.2: "utilizes more than one mechanism
 * for authenticating the client"); an assertion combined with anything else is `invalid_client`, as
 * RFC 7521 §4.2.1 specifies for assertion-based authentication. No authentication, an Authorization
 * scheme other than Basic, an unknown or disabled client, a wrong secret and a bad assertion are all
 * the same `invalid_client` 401: the response says nothing about whether the client exists.
 *
 * Every 401 carries `WWW-Authenticate: Basic realm="<issuer>"`: RFC 6749 §5.2 requires it when Basic
 * was used, and RFC 9110 §15.5.2 requires a challenge on every 401. The header is the same for every
 * failure, so it does not tell one cause from another either.
 */
import type { Log } from '../ports.ts';
import {
  AssertionRejected,
  CLIENT_ASSERTION_TYPE,
  type ClientAssertionVerifier,
} from './client-assertion.ts';
import { isClientId } from './client-validation.ts';
import { CLIENT_AUTH_FAILED, OAuthError } from './errors.ts';
import type { TokenParams } from './params.ts';
import type { SecretVerifier } from './secret-verifier.ts';
import type { Client, ClientStore } from './types.ts';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];

/** Longest client secret we hash: ours are 43 characters; this only bounds the work per request. */
const MAX_SECRET_LENGTH = 512;

export interface ClientAuthDeps {
  readonly clients: Pick<ClientStore, 'get' | 'useJti'>;
  readonly secrets: SecretVerifier;
  readonly assertions: ClientAssertionVerifier;
  readonly realm: string;
  readonly log: Log;
}

export interface AuthenticatedClient {
  readonly client: Client;
  readonly method: ClientAuthMethod;
}

interface Credentials {
  readonly method: 'client_secret_basic' | 'client_secret_post';
  readonly clientId: string;
  readonly secret: string;
}

/** RFC 6749 Appendix B form decoding (`+` is a space); undefined when the escapes are malformed. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export class ClientAuthenticator {
  readonly #deps: ClientAuthDeps;
  readonly #failed: OAuthError;

  constructor(deps: ClientAuthDeps) {
    this.#deps = deps;
    this.#failed = new OAuthError('invalid_client', CLIENT_AUTH_FAILED, {
      headers: { 'WWW-Authenticate': `Basic realm="${deps.realm.replace(/["\\]/g, '')}"` },
    });
  }

  /** @throws OAuthError invalid_request / invalid_client */
  async authenticate(authorization: string | undefined, params: TokenParams): Promise<AuthenticatedClient> {
    const v = params.values;
    const usesAssertion = v.has('client_assertion') || v.has('client_assertion_type');
    const secretMethods = Number(authorization !== undefined) + Number(v.has('client_secret'));
    if (usesAssertion) {
      if (secretMethods > 0) return this.#fail('assertion combined with another method');
      return this.#assertion(params);
    }
    if (secretMethods > 1) {
      throw new OAuthError('invalid_request', 'use exactly one client authentication method');
    }
    const credentials = authorization !== undefined ? this.#basic(authorization, params) : this.#post(params);
    return this.#secret(credentials);
  }

  #basic(authorization: string, params: TokenParams): Credentials | undefined {
    const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
    if (!m) return undefined;
    const decoded = Buffer.from(String(m[1]), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const clientId = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (clientId === undefined || secret === undefined) return undefined;
    const bodyId = params.values.get('client_id');
    if (bodyId !== undefined && bodyId !== clientId) {
      throw new OAuthError('invalid_request', 'client_id differs from the authenticated client');
    }
    return { method: 'client_secret_basic', clientId, secret };
  }

  #post(params: TokenParams): Credentials | undefined {
    const clientId = params.values.get('client_id');
    const secret = params.values.get('client_secret');
    if (secret !== undefined && clientId === undefined) {
      throw new OAuthError('invalid_request', 'client_secret requires client_id');
    }
    return clientId !== undefined && secret !== undefined
      ? { method: 'client_secret_post', clientId, secret }
      : undefined;
  }

  async #secret(credentials: Credentials | undefined): Promise<AuthenticatedClient> {
    // No credentials at all, or unreadable Basic credentials: still do a verification's worth of work.
    const clientId = credentials?.clientId ?? '';
    const secret = (credentials?.secret ?? '').slice(0, MAX_SECRET_LENGTH);
    const client = credentials && isClientId(clientId) ? await this.#deps.clients.get(clientId) : undefined;
    const ok = await this.#deps.secrets.verify(clientId, secret, client?.secretHash);
    if (!credentials || !client || !ok || client.status !== 'active') {
      return this.#fail(credentials ? 'wrong credentials, unknown or disabled client' : 'no credentials');
    }
    return { client, method: credentials.method };
  }

  async #assertion(params: TokenParams): Promise<AuthenticatedClient> {
    const type = params.values.get('client_assertion_type');
    const assertion = params.values.get('client_assertion');
    if (type === undefined || assertion === undefined) {
      throw new OAuthError('invalid_request', 'client_assertion and client_assertion_type are both required');
    }
    if (type !== CLIENT_ASSERTION_TYPE) return this.#fail('unsupported client_assertion_type');
    try {
      const client = await this.#deps.assertions.verify(assertion, params.values.get('client_id'));
      return { client, method: 'private_key_jwt' };
    } catch (err) {
      if (err instanceof AssertionRejected) return this.#fail(`client assertion: ${err.message}`);
      throw err;
    }
  }

  #fail(reason: string): never {
    // The reason is for the operator's log only; the caller gets the one invalid_client response.
    this.#deps.log.info('token: client authentication failed', { reason });
    throw this.#failed;
  }
}
