/**
 * Starts `oidc-provider` in a child process (oidc-provider-server.ts) serving a JWKS of the given
 * private keys, and stops it. The keys travel over the child's stdin only.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type ChildServer, startChildServer } from './child-server.ts';
import type { PrivateJwk } from './vault-keys.ts';

export interface OidcProviderProcess extends ChildServer {
  readonly version: string;
}

export function oidcProviderVersion(): string {
  return (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;
}

/** oidc-provider with `jwks: { keys }`; its JWKS is at `${url}/jwks`. */
export async function startOidcProvider(keys: readonly PrivateJwk[]): Promise<OidcProviderProcess> {
  const server = await startChildServer(
    join(import.meta.dirname, 'oidc-provider-server.ts'),
    JSON.stringify({ keys }),
  );
  return { url: server.url, pid: server.pid, stop: () => server.stop(), version: oidcProviderVersion() };
}
