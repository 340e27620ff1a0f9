/**
 * Child-process entry: `oidc-provider` (the certified Node.js OpenID provider) serving a JWKS of the
 * keys it reads from stdin (`{"keys":[<private JWKs>]}` — a pipe, so they never appear in argv, the
 * environment or a file), on 127.0.0.1 on a free port. Prints one line, `listening <base-url>`, and
 * runs until SIGTERM/SIGINT or until its parent is gone.
 *
 * It runs in its own process (like `npm start`), so the load generator in the benchmark process
 * competes with neither server for an event loop.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { exitWithParent } from './child-server.ts';

// No types ship with oidc-provider; a non-literal specifier keeps tsc from looking for them.
const specifier: string = 'oidc-provider';
const { default: Provider } = (await import(specifier)) as {
  default: new (issuer: string, config: Record<string, unknown>) => { callback(): RequestListener };
};

const jwks = JSON.parse(await text(process.stdin)) as { keys: Record<string, unknown>[] };
const server = createServer({ keepAliveTimeout: 60_000 });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const provider = new Provider(base, {
  jwks,
  // Fixed, random cookie keys and no dev interactions: its production configuration, so it does not
  // spend time on development-mode warnings.
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: false } },
});
server.on('request', provider.callback());

exitWithParent(() => server.close(() => process.exit(0)));
process.stdout.write(`listening ${base}\n`);
