/**
 * The switchboard of a multi-region local stack (ADR 0008, "On one machine"): which simulated regions
 * are up, and the simulated global table's replication delay. The drills and a user at a terminal
 * take a region down and bring it back through the edge:
 *
 *   GET  /_local/regions                  {"regions":[{"region":"us-east-1","up":true},…],"replicationLagMs":1000}
 *   POST /_local/regions/<region>         {"up": false}     the region is lost; {"up": true}: it returns
 *   POST /_local/replication              {"lag": "25s"}    (a duration, or milliseconds as a number)
 *
 * Local-only and not for browsers (design §11): the edge already refuses non-loopback Host names; this
 * also refuses any request that names an Origin or a cross-site fetch, and a POST that is not
 * `application/json` (which a page could only send cross-origin after a preflight the edge never grants).
 * No CORS headers: a page cannot read the status either.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDuration } from '../core/duration.ts';
import type { Policy } from '../core/types.ts';
import { type Log, silentLog } from '../ports.ts';
import type { RouteHandler } from './edge-server.ts';
import { replicationLagProblem } from './region-config.ts';
import { readSmallBody } from './request-body.ts';

export const REGIONS_CONTROL_PATH = '/_local/regions';
export const REPLICATION_CONTROL_PATH = '/_local/replication';
const MAX_BODY = 4 * 1024;

type Answer = { status: number; body: Record<string, unknown> };

function send(res: ServerResponse, { status, body }: Answer): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * A request a web page made: it names an Origin (every cross-origin POST and every CORS request does),
 * or a fetch site other than none/same-origin. Node's and curl's requests name neither (undici sends
 * only `Sec-Fetch-Mode`).
 */
const fromBrowser = (req: IncomingMessage): boolean => {
  const site = req.headers['sec-fetch-site'];
  return (
    req.headers.origin !== undefined || (site !== undefined && site !== 'none' && site !== 'same-origin')
  );
};

/**
 * The JSON object a POST carries, or the answer that refuses it. Tagged rather than told apart by
 * shape: a body with its own "status" and "body" members must not pass for an answer.
 */
async function readJson(
  req: IncomingMessage,
): Promise<{ json: Record<string, unknown> } | { refused: Answer }> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    return {
      refused: {
        status: 415,
        body: { error: 'unsupported_media_type', error_description: 'send application/json' },
      },
    };
  }
  const bytes = await readSmallBody(req, MAX_BODY);
  if (!bytes) return { refused: { status: 413, body: { error: 'payload_too_large' } } };
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { json: value as Record<string, unknown> };
    }
  } catch {
    // Answered below.
  }
  return {
    refused: {
      status: 400,
      body: { error: 'invalid_request', error_description: 'the body must be a JSON object' },
    },
  };
}

export class RegionSwitchboard {
  readonly regions: readonly string[];
  readonly #up = new Map<string, boolean>();
  readonly #policy: Policy;
  readonly #onChange: (region: string, up: boolean) => Promise<void>;
  readonly #log: Log;
  #lagMs: number;
  /** Changes run one at a time, so a server never starts while it is still stopping. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: {
    regions: readonly string[];
    lagMs: number;
    policy: Policy;
    /** Takes the region's servers down or brings them back. */
    onChange: (region: string, up: boolean) => Promise<void>;
    log?: Log;
  }) {
    this.regions = opts.regions;
    for (const r of opts.regions) this.#up.set(r, true);
    this.#lagMs = opts.lagMs;
    this.#policy = opts.policy;
    this.#onChange = opts.onChange;
    this.#log = opts.log ?? silentLog;
  }

  isUp(region: string): boolean {
    return this.#up.get(region) === true;
  }

  get lagMs(): number {
    return this.#lagMs;
  }

  status(): { regions: { region: string; up: boolean }[]; replicationLagMs: number } {
    return {
      regions: this.regions.map((region) => ({ region, up: this.isUp(region) })),
      replicationLagMs: this.#lagMs,
    };
  }

  /** Take `region` down or bring it back; resolves once its servers have followed. */
  set(region: string, up: boolean): Promise<void> {
    const change = this.#queue.then(async () => {
      if (this.isUp(region) === up) return;
      // Down: unreachable at once, then its servers stop. Up: servers first, then reachable.
      if (!up) this.#up.set(region, false);
      await this.#onChange(region, up);
      if (up) this.#up.set(region, true);
      this.#log.warn(up ? 'region is back (simulated)' : 'region is down (simulated)', { region });
    });
    this.#queue = change.catch(() => undefined);
    return change;
  }

  /** The edge routes: method, path, handler. */
  routes(): [string, string, RouteHandler][] {
    const guarded =
      (handle: (req: IncomingMessage) => Promise<Answer>): RouteHandler =>
      async (req, res) =>
        send(res, fromBrowser(req) ? { status: 403, body: { error: 'forbidden' } } : await handle(req));
    const routes: [string, string, RouteHandler][] = [
      ['GET', REGIONS_CONTROL_PATH, guarded(async () => ({ status: 200, body: this.status() }))],
      ['POST', REPLICATION_CONTROL_PATH, guarded((req) => this.#setLag(req))],
    ];
    for (const region of this.regions) {
      routes.push(['POST', `${REGIONS_CONTROL_PATH}/${region}`, guarded((req) => this.#setUp(region, req))]);
    }
    return routes;
  }

  async #setUp(region: string, req: IncomingMessage): Promise<Answer> {
    const read = await readJson(req);
    if ('refused' in read) return read.refused;
    const body = read.json;
    if (typeof body.up !== 'boolean') {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: '"up" must be true or false' },
      };
    }
    await this.set(region, body.up);
    return { status: 200, body: { region, up: this.isUp(region) } };
  }

  async #setLag(req: IncomingMessage): Promise<Answer> {
    const read = await readJson(req);
    if ('refused' in read) return read.refused;
    const body = read.json;
    let lagMs: number;
    try {
      if (typeof body.lag !== 'string' && typeof body.lag !== 'number') throw new Error('"lag" is missing');
      lagMs = parseDuration(body.lag);
    } catch (err) {
      return { status: 400, body: { error: 'invalid_request', error_description: (err as Error).message } };
    }
    const problem = replicationLagProblem(lagMs, this.#policy);
    if (problem)
      return { status: 400, body: { error: 'invalid_request', error_description: `"lag" ${problem}` } };
    this.#lagMs = lagMs;
    this.#log.warn('replication lag changed (simulated)', { lagMs });
    return { status: 200, body: { replicationLagMs: lagMs } };
  }
}
