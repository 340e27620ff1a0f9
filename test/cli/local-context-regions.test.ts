/**
 * The CLI against `REGIONS=2 npm start` (ADR 0008): it acts in the region AWS_REGION names (its table,
 * bucket and the multi-region policy), else the home region, and refuses to open a context in a region
 * the stack's switchboard says is down. One loopback server stands in for DynamoDB Local, s3rver and
 * the edge's GET /_local/regions, and records what arrives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localContext, openLocalContext } from '../../src/cli/local-context.ts';
import { type StackInfo, writeStackInfo } from '../../src/local/data-dir.ts';
import { type DataDirLock, lockDataDir } from '../../src/local/data-dir-lock.ts';
import { REGIONS_CONTROL_PATH } from '../../src/local/region-control.ts';

const HOME = 'us-east-1';
const OTHER = 'eu-west-1';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly authorization: string;
}

let server: Server;
let base: string;
const dirs: string[] = [];
const locks: DataDirLock[] = [];
const seen: Seen[] = [];
/** What GET /_local/regions answers: a status code and the regions' states. */
let control: { status: number; up: Record<string, boolean> };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        authorization: String(req.headers.authorization ?? ''),
      });
      if (req.url === REGIONS_CONTROL_PATH) {
        const regions = Object.entries(control.up).map(([region, up]) => ({ region, up }));
        res.writeHead(control.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ regions, replicationLagMs: 1000 }));
        return;
      }
      if (req.headers['x-amz-target']) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"test"}');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/xml' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const lock of locks) await lock.release();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
  control = { status: 200, up: { [HOME]: true, [OTHER]: true } };
});

/** A data dir whose stack.json describes a running stack (this process) with these regions. */
function stackDir(regions: readonly string[] | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'jwks-cli-regions-'));
  dirs.push(dir);
  const info: StackInfo = {
    pid: process.pid,
    url: base,
    region: HOME,
    dynamodbEndpoint: base,
    s3Endpoint: base,
    tableName: regions ? `jwks-registry-${HOME}` : 'jwks-registry',
    bucket: regions ? `jwks-publisher-${HOME}` : 'jwks-publisher',
    distributionId: 'LOCALDIST',
    deploymentName: 'local-test',
    keysDir: join(dir, 'keys'),
    policy: { algorithm: 'ES256' },
    ...(regions && {
      regions: regions.map((region, i) => ({
        region,
        url: `http://127.0.0.1:${9000 + i}`,
        tableName: `jwks-registry-${region}`,
        bucket: `jwks-publisher-${region}`,
        keysDir: join(dir, 'regions', region, 'keys'),
      })),
    }),
  };
  writeStackInfo(dir, info);
  return dir;
}

/** stackDir, with this process holding the data dir's lock as the stack would (openLocalContext asks). */
async function runningStackDir(regions: readonly string[] | undefined): Promise<string> {
  const dir = stackDir(regions);
  locks.push(await lockDataDir(dir));
  return dir;
}

/** The table the context's registry reads (from the DynamoDB request it sends). */
async function tableRead(ctx: ReturnType<typeof localContext>): Promise<string | undefined> {
  await expect(ctx.registry.readState()).rejects.toThrow();
  const request = seen.find((s) => s.body.includes('TableName'));
  return request && (JSON.parse(request.body) as { TableName?: string }).TableName;
}

describe('localContext in a multi-region stack', () => {
  it("acts in the region AWS_REGION names: its table, signed for its region, when it is one of the stack's", async () => {
    const ctx = localContext(stackDir([HOME, OTHER]), Date.now, { AWS_REGION: OTHER });
    expect(ctx.regions).toEqual({ region: OTHER, regions: [HOME, OTHER] });
    expect(await tableRead(ctx)).toBe(`jwks-registry-${OTHER}`);
    ctx.close();
    expect(seen[0]?.authorization).toContain(`/${OTHER}/dynamodb/`);
  });

  it("uses that region's bucket when AWS_REGION names it", async () => {
    const ctx = localContext(stackDir([HOME, OTHER]), Date.now, { AWS_REGION: ` ${OTHER} ` });
    expect(await ctx.store.head('.well-known/jwks.json')).toBeNull();
    ctx.close();
    expect(seen[0]).toMatchObject({ method: 'HEAD', url: `/jwks-publisher-${OTHER}/.well-known/jwks.json` });
  });

  it.each([
    ['unset', {}],
    ['a region the stack does not run', { AWS_REGION: 'ap-south-1' }],
  ])('acts in the home region when AWS_REGION is %s', async (_label, env) => {
    const ctx = localContext(stackDir([HOME, OTHER]), Date.now, env);
    expect(ctx.regions?.region).toBe(HOME);
    expect(await tableRead(ctx)).toBe(`jwks-registry-${HOME}`);
    ctx.close();
  });

  it('parses the policy with the multi-region rules and keeps the edge as issuer', () => {
    const ctx = localContext(stackDir([HOME, OTHER]), Date.now, { AWS_REGION: OTHER });
    expect(ctx.policy.maxReplicationLag).toBe(30_000);
    expect(ctx.issuer).toBe(base);
    expect(ctx.jwksUrl).toBe(`${base}/.well-known/jwks.json`);
    ctx.close();
  });

  it("gives status every region's table to read, whatever region it acts in, and never reads a region that is down", async () => {
    control.up[OTHER] = false;
    const ctx = localContext(stackDir([HOME, OTHER]), Date.now, { AWS_REGION: OTHER });
    expect(ctx.regionRegistries?.map((r) => r.region)).toEqual([HOME, OTHER]);
    const [home, other] = ctx.regionRegistries ?? [];
    await expect(other?.read()).rejects.toMatchObject({ code: 'UPSTREAM' });
    // The fake DynamoDB answers ResourceNotFound: the read reached the home region's own table.
    await expect(home?.read()).rejects.toThrow();
    ctx.close();
    const tables = seen
      .filter((s) => s.body.includes('TableName'))
      .map((s) => (JSON.parse(s.body) as { TableName?: string }).TableName);
    expect(tables).toEqual([`jwks-registry-${HOME}`]);
    // The switchboard was asked once for both regions.
    expect(seen.filter((s) => s.url === REGIONS_CONTROL_PATH)).toHaveLength(1);
  });

  it('ignores AWS_REGION and parses the single-region policy when the stack has one region', async () => {
    const ctx = localContext(stackDir(undefined), Date.now, { AWS_REGION: OTHER });
    expect(ctx.regions).toBeUndefined();
    expect(ctx.regionRegistries).toBeUndefined();
    expect(ctx.policy.maxReplicationLag).toBe(0);
    expect(await tableRead(ctx)).toBe('jwks-registry');
    ctx.close();
  });
});

describe('openLocalContext', () => {
  it('refuses with UPSTREAM when the stack says the acting region is down', async () => {
    control.up[OTHER] = false;
    await expect(
      openLocalContext(await runningStackDir([HOME, OTHER]), { AWS_REGION: OTHER }),
    ).rejects.toMatchObject({
      code: 'UPSTREAM',
    });
    expect(seen.map((s) => s.url)).toEqual([REGIONS_CONTROL_PATH]);
  });

  it('opens the context in a region that is up when another region is down', async () => {
    control.up[OTHER] = false;
    const ctx = await openLocalContext(await runningStackDir([HOME, OTHER]), {});
    expect(ctx.regions?.region).toBe(HOME);
    ctx.close();
  });

  it('opens the context when the status cannot be read, leaving the failure to the command', async () => {
    control = { status: 500, up: { [OTHER]: false } };
    const ctx = await openLocalContext(await runningStackDir([HOME, OTHER]), { AWS_REGION: OTHER });
    expect(ctx.regions?.region).toBe(OTHER);
    ctx.close();
  });

  it('does not ask the switchboard when the stack has one region', async () => {
    const ctx = await openLocalContext(await runningStackDir(undefined), { AWS_REGION: OTHER });
    expect(ctx.regions).toBeUndefined();
    ctx.close();
    expect(seen).toEqual([]);
  });
});
