/**
 * Operator commands on clients, called by the CLI (`jwks clients create|list|disable`).
 *
 * `createClient` generates the secret, stores only its scrypt hash, and returns the secret ONCE: it
 * cannot be shown again (a lost secret means a new client). A client registered with `jwks`/`jwksUri`
 * authenticates with `private_key_jwt` and gets no secret unless `withSecret: true` is asked for, so
 * the stronger method is not silently weakened by a parallel shared secret.
 */
import type { ChangeContext } from '../core/types.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { assertValidClient, isLoopbackJwksUri } from './client-validation.ts';
import { generateSecret, hashSecret } from './secrets.ts';
import type { Client, ClientJwks, ClientStore } from './types.ts';

export interface CreateClientInput {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  readonly jwks?: ClientJwks;
  readonly jwksUri?: string;
  /** Generate a secret too. Default: only when neither jwks nor jwksUri is given. */
  readonly withSecret?: boolean;
}

/** A client as listed: everything but the hash (which is useless to an operator). */
export type ClientSummary = Omit<Client, 'secretHash'> & {
  readonly authMethods: readonly string[];
};

export function summarize(client: Client): ClientSummary {
  const { secretHash, ...rest } = client;
  const authMethods = [
    ...(secretHash ? ['client_secret_basic', 'client_secret_post'] : []),
    ...(client.jwks || client.jwksUri ? ['private_key_jwt'] : []),
  ];
  return { ...rest, authMethods };
}

/**
 * Create a client. A `jwksUri` on a loopback address needs `allowLoopbackJwksUri` (the local stack's
 * CLI context sets it; a deployed stack never does). @returns the stored client and, when one was generated, its secret (shown once).
 * @throws InvalidArgumentError for bad input, ConflictError when the id is taken.
 */
export async function createClient(
  store: Pick<ClientStore, 'put'>,
  input: CreateClientInput,
  change: ChangeContext,
  opts: { clock?: Clock; allowLoopbackJwksUri?: boolean } = {},
): Promise<{ client: Client; secret?: string }> {
  const hasKeys = input.jwks !== undefined || input.jwksUri !== undefined;
  if (input.jwksUri !== undefined && !opts.allowLoopbackJwksUri && isLoopbackJwksUri(input.jwksUri)) {
    throw new InvalidArgumentError(
      'client: a jwksUri on a loopback address is accepted by the local stack only',
    );
  }
  const withSecret = input.withSecret ?? !hasKeys;
  if (!withSecret && !hasKeys) throw new InvalidArgumentError('a client needs a secret, jwks or jwksUri');
  if (input.scopes.length === 0) throw new InvalidArgumentError('a client needs at least one scope');
  const secret = withSecret ? generateSecret() : undefined;
  const client = assertValidClient({
    clientId: input.clientId,
    ...(secret === undefined ? {} : { secretHash: await hashSecret(secret) }),
    scopes: [...input.scopes],
    audiences: [...input.audiences],
    status: 'active',
    ...(input.jwks === undefined ? {} : { jwks: input.jwks }),
    ...(input.jwksUri === undefined ? {} : { jwksUri: input.jwksUri }),
    createdAt: (opts.clock ?? Date.now)(),
    changedBy: change.changedBy,
    reason: change.reason,
  });
  await store.put(client);
  return secret === undefined ? { client } : { client, secret };
}

export async function listClients(store: Pick<ClientStore, 'list'>): Promise<ClientSummary[]> {
  return (await store.list()).map(summarize);
}

/** Disable a client: its next token request fails within the endpoint's client cache TTL. */
export async function disableClient(
  store: Pick<ClientStore, 'setStatus'>,
  clientId: string,
  change: ChangeContext,
): Promise<ClientSummary> {
  return summarize(await store.setStatus(clientId, 'disabled', change));
}
