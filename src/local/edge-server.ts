/**
 * The local stand-in for CloudFront (and the API Gateway JWKS path) on node:http (design §5, §7).
 * It serves the JWKS and the discovery documents from the ObjectStore the way the edge serves them from
 * S3 — same bytes and headers, GET and HEAD, 304 on If-None-Match, CORS, caching by the object's
 * Cache-Control — and `cdn.invalidate` purges that cache like a CloudFront invalidation. More routes
 * (the token endpoint) are mounted with `route()`. It never redirects, and a malformed request gets a
 * 4xx without taking the server down.
 *
 * Loopback only (design §11): it listens on 127.0.0.1, answers 421 to a request whose Host is not a
 * loopback name (a page that rebinds its own DNS name to 127.0.0.1 must not read or post here as
 * same-origin), and grants CORS only on the public documents — the token endpoint and the
 * invalidation route send no CORS headers, as on AWS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { OBJECT_KEYS, PATHS } from '../constants.ts';
import { InvalidationError, JwksError } from '../errors.ts';
import { type Cdn, type Clock, type Log, type ObjectStore, silentLog } from '../ports.ts';
import { EdgeCache } from './edge-cache.ts';
import {
  COMMON_HEADERS,
  hitBody,
  hitHeaders,
  PUBLIC_DOCUMENT_HEADERS,
  rawClientErrorResponse,
  sendJson,
  sendObject,
} from './edge-responses.ts';
import { isLoopbackHost } from './loopback.ts';
import { intactOrThrow } from './origin-integrity.ts';

const COMMON_HEADER_ENTRIES = Object.entries(COMMON_HEADERS);
const PUBLIC_HEADER_ENTRIES = Object.entries(PUBLIC_DOCUMENT_HEADERS);

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** What the edge reads its documents from: a bucket, or an origin group of buckets (origin-group.ts). */
export type EdgeOrigin = Pick<ObjectStore, 'get'>;

export interface EdgeServerOptions {
  readonly store: EdgeOrigin;
  /** Loopback by default: the local stack never listens on other interfaces. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly log?: Log;
  /** Largest request head accepted, in bytes (node's default is 16 KiB); larger gets 431. */
  readonly maxHeaderSize?: number;
  /** Time source for cache ages (tests freeze it). */
  readonly clock?: Clock;
  /** CloudFront cache policy bounds: the max TTL (the policy's `cdnMaxTtl`) and the default TTL. */
  readonly maxTtlMs?: number;
  readonly defaultTtlMs?: number;
}

/** The documents the edge serves from the store: URL path → object key (no leading slash). */
const OBJECT_PATHS: ReadonlyMap<string, string> = new Map([
  [PATHS.JWKS, OBJECT_KEYS.JWKS],
  [PATHS.OAUTH_METADATA, OBJECT_KEYS.OAUTH_METADATA],
  [PATHS.OPENID_CONFIGURATION, OBJECT_KEYS.OPENID_CONFIGURATION],
]);

/**
 * Whether the request names a host other than this machine's loopback (DNS rebinding, or a request
 * meant for someone else): its Host header, and the host of an absolute-form target when there is one.
 */
function misdirected(req: IncomingMessage): boolean {
  if (!isLoopbackHost(req.headers.host)) return true;
  const target = req.url;
  if (target === undefined || target.startsWith('/')) return false;
  return !URL.canParse(target) || !isLoopbackHost(new URL(target).host);
}

/** `/segment/segment…` with no query, fragment, percent-escape, dot-segment or empty segment. */
const PLAIN_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$/;

/**
 * The pathname of the request target, dot-segments resolved: origin-form (`/path?q`), or absolute-form
 * (`http://host/path`), which RFC 9112 §3.2.2 says a server must accept too. Anything else is undefined.
 */
function pathnameOf(target: string | undefined): string | undefined {
  // Fast path for the common case, a plain origin-form path: nothing to decode or resolve.
  if (target !== undefined && PLAIN_PATH.test(target)) return target;
  try {
    if (target?.startsWith('/')) return new URL(`http://edge.invalid${target}`).pathname;
    if (target && /^https?:\/\//i.test(target)) return new URL(target).pathname;
  } catch {
    // An unparsable absolute-form target: a bad request.
  }
  return undefined;
}

/**
 * If-None-Match or If-Modified-Since among the raw headers (reading `req.headers` would build the
 * whole header object for the hot path).
 */
function hasPrecondition(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if ((name.length === 13 || name.length === 17) && /^if-(none-match|modified-since)$/i.test(name)) {
      return true;
    }
  }
  return false;
}

export class EdgeServer {
  readonly cdn: Cdn;
  readonly #store: EdgeOrigin;
  readonly #host: string;
  readonly #port: number;
  readonly #log: Log;
  readonly #cache: EdgeCache;
  readonly #clock: Clock;
  readonly #server: Server;
  readonly #routes = new Map<string, Map<string, RouteHandler>>();
  #url: string | undefined;
  /** The port first bound: a restart (a simulated region coming back) listens on it again. */
  #boundPort: number | undefined;

  constructor(opts: EdgeServerOptions) {
    this.#store = opts.store;
    this.#host = opts.host ?? '127.0.0.1';
    this.#port = opts.port;
    this.#log = opts.log ?? silentLog;
    this.#clock = opts.clock ?? Date.now;
    this.#cache = new EdgeCache({
      clock: this.#clock,
      log: this.#log,
      ...(opts.maxTtlMs !== undefined && { maxTtlMs: opts.maxTtlMs }),
      ...(opts.defaultTtlMs !== undefined && { defaultTtlMs: opts.defaultTtlMs }),
    });
    this.cdn = {
      invalidate: async (paths, callerReference) => {
        // CloudFront refuses paths without a leading slash; so does the local edge, so bugs show here.
        const bad = paths.find((p) => !p.startsWith('/'));
        if (bad !== undefined) throw new InvalidationError(`invalidation path must start with "/": ${bad}`);
        const purged = this.#cache.purge(paths);
        this.#log.info('edge: invalidated', { paths: [...paths], callerReference, purged });
      },
    };
    for (const [path, key] of OBJECT_PATHS) {
      const serve: RouteHandler = (req, res) => this.#serveObject(req, res, path, key);
      this.route('GET', path, serve).route('HEAD', path, serve);
    }
    this.#server = createServer(
      opts.maxHeaderSize !== undefined ? { maxHeaderSize: opts.maxHeaderSize } : {},
      (req, res) => {
        if (!this.#serveFreshHit(req, res)) void this.#handle(req, res);
      },
    );
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
      this.#clientError(err, socket),
    );
  }

  /** Mount a handler (e.g. `POST /oauth2/token`). A GET handler also answers HEAD unless one is given. */
  route(method: string, path: string, handler: RouteHandler): this {
    const methods = this.#routes.get(path) ?? new Map<string, RouteHandler>();
    methods.set(method.toUpperCase(), handler);
    this.#routes.set(path, methods);
    return this;
  }

  /** The base URL once started (`http://127.0.0.1:<port>`). */
  get url(): string | undefined {
    return this.#url;
  }

  start(): Promise<{ url: string }> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new JwksError(
                'ADDRESS_IN_USE',
                `${this.#host}:${this.#boundPort ?? this.#port} is already in use`,
                {
                  cause: err,
                },
              )
            : err,
        );
      };
      this.#server.once('error', onError);
      this.#server.listen(this.#boundPort ?? this.#port, this.#host, () => {
        this.#server.off('error', onError);
        const { port } = this.#server.address() as { port: number };
        this.#boundPort = port;
        const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
        this.#url = `http://${host}:${port}`;
        resolve({ url: this.#url });
      });
    });
  }

  /**
   * Stop listening and drop open connections (keep-alive clients would otherwise hold it open).
   * `start()` listens again on the same port.
   */
  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #allowed(methods: ReadonlyMap<string, RouteHandler>): string[] {
    const names = [...methods.keys()];
    if (methods.has('GET') && !methods.has('HEAD')) names.push('HEAD');
    return names;
  }

  /**
   * The hot path (every verifier's JWKS fetch): a GET or HEAD of a served document, by its plain path,
   * with no precondition, while the cached copy is fresh — answered synchronously with the header list
   * built once per copy (`hitHeaders`). The same answer `#handle` gives; false leaves it to `#handle`.
   * Checks every request must pass belong before this: a misdirected Host goes to `#handle` for its 421.
   */
  #serveFreshHit(req: IncomingMessage, res: ServerResponse): boolean {
    if (misdirected(req)) return false;
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const path = req.url;
    if (path === undefined || !OBJECT_PATHS.has(path) || hasPrecondition(req.rawHeaders)) return false;
    const now = this.#clock();
    const copy = this.#cache.fresh(path, now);
    if (copy === undefined) return false;
    res.writeHead(200, hitHeaders(copy.object, now - copy.storedAt) as string[]);
    res.end(method === 'HEAD' ? undefined : hitBody(copy.object));
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of COMMON_HEADER_ENTRIES) res.setHeader(name, value);
    try {
      if (misdirected(req)) return sendJson(req, res, 421, { error: 'misdirected_request' });
      const path = pathnameOf(req.url);
      if (path === undefined) return sendJson(req, res, 400, { error: 'bad_request' });
      const methods = this.#routes.get(path);
      if (!methods) return sendJson(req, res, 404, { error: 'not_found' });
      const isPublic = OBJECT_PATHS.has(path);
      if (isPublic) for (const [name, value] of PUBLIC_HEADER_ENTRIES) res.setHeader(name, value);
      const method = req.method ?? '';
      const handler = methods.get(method) ?? (method === 'HEAD' ? methods.get('GET') : undefined);
      const allow = this.#allowed(methods).join(', ');
      if (handler) return await handler(req, res);
      if (method === 'OPTIONS' && isPublic) return this.#preflight(req, res, allow);
      return sendJson(req, res, 405, { error: 'method_not_allowed' }, { Allow: allow });
    } catch (err) {
      this.#log.error('edge: request failed', { method: req.method, url: req.url, error: err });
      if (res.headersSent) res.destroy();
      else sendJson(req, res, 500, { error: 'internal_error' });
    }
  }

  /** CORS preflight on a public document (Fetch standard §3.2.2): any origin, its methods, the headers asked for. */
  #preflight(req: IncomingMessage, res: ServerResponse, allow: string): void {
    const requested = req.headers['access-control-request-headers'];
    res.writeHead(204, {
      Allow: allow,
      'Access-Control-Allow-Methods': allow,
      'Access-Control-Allow-Headers': requested ?? 'If-None-Match, If-Modified-Since',
      'Access-Control-Max-Age': '86400',
      'Content-Length': '0',
    });
    res.end();
  }

  async #serveObject(req: IncomingMessage, res: ServerResponse, path: string, key: string): Promise<void> {
    let result: Awaited<ReturnType<EdgeCache['lookup']>>;
    try {
      result = await this.#cache.lookup(path, async () => intactOrThrow(await this.#store.get(key)));
    } catch (err) {
      // The origin failed every attempt and the edge never had a good copy: what CloudFront answers then.
      this.#log.error('edge: origin read failed', { path, error: err });
      return sendJson(req, res, 502, { error: 'bad_gateway' });
    }
    if (!result) return sendJson(req, res, 404, { error: 'not_found' });
    sendObject(req, res, result);
  }

  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.#log.warn('edge: malformed request', { code: err.code });
    // ECONNRESET: the client is gone. Otherwise answer once, if the socket can still take it.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(rawClientErrorResponse(err.code));
  }
}
