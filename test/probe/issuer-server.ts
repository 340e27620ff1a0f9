/**
 * A small issuer on node:http (127.0.0.1, a free port) for the probe's tests: discovery, a JWKS of two
 * real public keys with thumbprint kids, ETag/304 — each of which a test can break on purpose.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

export interface IssuerFaults {
  /** Served as the JWKS instead of the good one. */
  readonly jwksBody?: (goodKeys: Record<string, unknown>[]) => unknown;
  /** Headers of the JWKS answer (undefined values drop the header). */
  readonly jwksHeaders?: Record<string, string | undefined>;
  /** Answer 200 to If-None-Match instead of 304. */
  readonly no304?: boolean;
  /** Redirect the JWKS here (302) instead of serving it. */
  readonly redirectJwksTo?: string;
}

export interface IssuerServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function publicKeys(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    out.push({ ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg });
  }
  return out;
}

export async function startIssuer(faults: IssuerFaults = {}): Promise<IssuerServer> {
  const keys = await publicKeys();
  let url = '';
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    extra: Record<string, string | undefined>,
  ) => {
    const etag = '"v1"';
    const headers: Record<string, string> = {};
    const all: Record<string, string | undefined> = {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=300, stale-if-error=300',
      etag,
      'access-control-allow-origin': '*',
      ...extra,
    };
    for (const [k, v] of Object.entries(all)) if (v !== undefined) headers[k] = v;
    if (!faults.no304 && headers.etag !== undefined && req.headers['if-none-match'] === headers.etag) {
      res.writeHead(304, { etag: headers.etag });
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end(body);
  };
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      const doc = {
        issuer: url,
        jwks_uri: `${url}/.well-known/jwks.json`,
        token_endpoint: `${url}/oauth2/token`,
      };
      return send(req, res, JSON.stringify(doc), {});
    }
    if (req.url === '/.well-known/jwks.json') {
      if (faults.redirectJwksTo) {
        res.writeHead(302, { location: faults.redirectJwksTo });
        return res.end();
      }
      const body = faults.jwksBody ? faults.jwksBody(keys) : { keys };
      return send(req, res, JSON.stringify(body), faults.jwksHeaders ?? {});
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not_found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
