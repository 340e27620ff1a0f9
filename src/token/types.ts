/**
 * The token service's model: OAuth 2.0 clients of the client credentials grant and the port that
 * stores them (design §4: client items live in the registry table, the secret only as a hash).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 */
import type { JSONWebKeySet } from 'jose';
import type { ChangeContext } from '../core/types.ts';

export const CLIENT_STATUSES = ['active', 'disabled'] as const;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

/** A client's public keys for `private_key_jwt` (RFC 7517 JWK Set): public RSA/EC keys only. */
export type ClientJwks = JSONWebKeySet;

export interface Client {
  readonly clientId: string;
  /**
   * PHC-style scrypt hash of the client secret (`$scrypt$ln=…,r=…,p=…$<salt>$<hash>`), never the
   * secret. Absent for a client that authenticates with `private_key_jwt` only.
   */
  readonly secretHash?: string;
  /** Scopes the client may request; a request without `scope` gets all of them. */
  readonly scopes: readonly string[];
  /** Audiences (`resource` / `audience` values) the client may get tokens for; the first is the default. */
  readonly audiences: readonly string[];
  readonly status: ClientStatus;
  /** Registered public keys for `private_key_jwt` (RFC 7523 §2.2). */
  readonly jwks?: ClientJwks;
  /** Or where to fetch them (https; http only on a loopback host, for the local stack). */
  readonly jwksUri?: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms of the last status change. */
  readonly updatedAt?: number;
  readonly changedBy: string;
  readonly reason: string;
}

/** Where clients live: DynamoDbClientStore in the registry table (design §4). */
export interface ClientStore {
  /** The client, or undefined when there is none with this id. */
  get(clientId: string): Promise<Client | undefined>;
  /** Create only: a client with this id already existing is a ConflictError. */
  put(client: Client): Promise<void>;
  /** Every client (all pages), ordered by clientId. */
  list(): Promise<Client[]>;
  /** Set the status; ClientNotFoundError when there is no such client. Returns the updated client. */
  setStatus(clientId: string, status: ClientStatus, change: ChangeContext): Promise<Client>;
  /**
   * Record a client assertion's `jti` (RFC 7523 §3 item 7): true the first time it is seen, false when
   * it was already used and has not expired. `expiresAt` (epoch ms) is when the record may be dropped
   * (the assertion's `exp` plus the tolerated clock skew).
   */
  useJti(clientId: string, jti: string, expiresAt: number): Promise<boolean>;
}

/** A token request as any transport hands it over: header names lower-case. */
export interface TokenHttpRequest {
  readonly method: string;
  /** Lower-case names; a header sent more than once may arrive as an array. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Uint8Array | string;
}

export interface TokenHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponseBody {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope?: string;
}
