/**
 * What `REGIONS=2 npm start` adds around the regional stacks (ADR 0008): each region's names and
 * directories, the regional servers' ports, and the edge's token route that fails over to the first
 * region that is up.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import { EdgeServer, type RouteHandler } from '../../src/local/edge-server.ts';
import { failoverTokenRoute, regionLayout, startRegionalServers } from '../../src/local/multi-region.ts';
import { RegionSwitchboard } from '../../src/local/region-control.ts';
import { silentLog } from '../../src/ports.ts';
import { MemoryObjectStore } from '../support/memory.ts';

const SINGLE = { tableName: 'jwks-registry', bucket: 'jwks-publisher' };

describe('regionLayout', () => {
  it('keeps the historic names and directories when there is one region', () => {
    expect(regionLayout('/data', ['us-east-1'], SINGLE)).toEqual([
      {
        region: 'us-east-1',
        tableName: 'jwks-registry',
        bucket: 'jwks-publisher',
        keysDir: '/data/keys',
        checkpointDir: '/data/checkpoints',
      },
    ]);
  });

  it('suffixes names and nests directories per region, in REGIONS order, when there are several', () => {
    expect(regionLayout('/data', ['eu-west-1', 'us-east-1'], SINGLE)).toEqual([
      {
        region: 'eu-west-1',
        tableName: 'jwks-registry-eu-west-1',
        bucket: 'jwks-publisher-eu-west-1',
        keysDir: '/data/regions/eu-west-1/keys',
        checkpointDir: '/data/regions/eu-west-1/checkpoints',
      },
      {
        region: 'us-east-1',
        tableName: 'jwks-registry-us-east-1',
        bucket: 'jwks-publisher-us-east-1',
        keysDir: '/data/regions/us-east-1/keys',
        checkpointDir: '/data/regions/us-east-1/checkpoints',
      },
    ]);
  });
});

describe('startRegionalServers', () => {
  const started: EdgeServer[] = [];
  let blocker: Server | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    blocker = undefined;
  });

  const layout = regionLayout('/data', ['us-east-1', 'eu-west-1'], SINGLE);
  const stores = [new MemoryObjectStore(), new MemoryObjectStore()];

  it('starts one server per region on distinct free ports when PORT=0', async () => {
    const servers = await startRegionalServers({ layout, stores, edgePort: 0, log: silentLog });
    started.push(...servers);
    expect(servers).toHaveLength(2);
    const urls = servers.map((s) => s.url);
    expect(urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(urls).size).toBe(2);
  });

  it('fails with ADDRESS_IN_USE and stops the servers it started when a regional port is taken', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    // PORT+1 is free (the first region), PORT+2 is taken (the second).
    const edgePort = taken - 2;
    await expect(startRegionalServers({ layout, stores, edgePort, log: silentLog })).rejects.toMatchObject({
      code: 'ADDRESS_IN_USE',
    });
    // The first region's server let its port go.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(edgePort + 1, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
  });
});

describe('failoverTokenRoute', () => {
  const A = 'us-east-1';
  const B = 'eu-west-1';
  let edge: EdgeServer | undefined;
  afterEach(async () => {
    await edge?.stop();
  });

  /** An edge whose /oauth2/token goes through the failover route; each region answers its name. */
  async function edgeWith(board: RegionSwitchboard): Promise<string> {
    const answer =
      (region: string): RouteHandler =>
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ region }));
      };
    const route = failoverTokenRoute(
      board,
      new Map([
        [A, answer(A)],
        [B, answer(B)],
      ]),
    );
    edge = new EdgeServer({ store: new MemoryObjectStore(), port: 0 });
    edge.route('POST', '/oauth2/token', route);
    return `${(await edge.start()).url}/oauth2/token`;
  }

  const board = () =>
    new RegionSwitchboard({
      regions: [A, B],
      lagMs: 0,
      policy: parsePolicy({}, { multiRegion: true }).policy,
      onChange: async () => {},
    });

  it('sends the request to the first region when every region is up', async () => {
    const url = await edgeWith(board());
    expect(await (await fetch(url, { method: 'POST' })).json()).toEqual({ region: A });
  });

  it('sends the request to the next region when the first is down', async () => {
    const b = board();
    const url = await edgeWith(b);
    await b.set(A, false);
    expect(await (await fetch(url, { method: 'POST' })).json()).toEqual({ region: B });
    await b.set(A, true);
    expect(await (await fetch(url, { method: 'POST' })).json()).toEqual({ region: A });
  });

  it('answers 503 temporarily_unavailable when every region is down', async () => {
    const b = board();
    const url = await edgeWith(b);
    await b.set(A, false);
    await b.set(B, false);
    const res = await fetch(url, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });
});
