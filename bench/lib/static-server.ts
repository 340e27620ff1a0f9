/**
 * Child-process entry: the least a node:http server can do to serve a JWKS — the bytes read from stdin,
 * held in memory, written with Content-Type and Content-Length on every GET. Not a competitor: the
 * reference row that shows how many requests/s node:http itself allows on this machine under the same
 * load, i.e. the ceiling any node:http JWKS server (ours and oidc-provider alike) is measured against.
 * Prints `listening <base-url>`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { exitWithParent } from './child-server.ts';

const body = await buffer(process.stdin);
const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  res.end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
exitWithParent(() => server.close(() => process.exit(0)));
process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
