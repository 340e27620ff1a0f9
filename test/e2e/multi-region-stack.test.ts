/**
 * Issue #12's drills against `REGIONS=2 npm start`, as a user runs it: two regional stacks (each with
 * its own registry table, bucket, vault copy, publisher, rotate function and token endpoint on its own
 * port), a replicator between the tables, and one edge with origin failover. Regions are taken down and
 * brought back through the stack's switchboard (`POST /_local/regions/<region>`), the replication lag
 * through `POST /_local/replication`, and the promotion is the CLI's `promote-region`.
 *
 * Throughout, every tick asks each live region's token endpoint and the edge's for a token, and checks
 * every token still valid: with jose against the JWKS each live region serves, and through the edge
 * with jose's remote JWK set and jwks-rsa + jsonwebtoken caching it for its max-age. Zero failures.
 */

import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import type { RegionInfo, StackInfo } from '../../src/local/data-dir.ts';
import { readStackInfo } from '../../src/local/data-dir.ts';
import { localDynamoDbClient } from '../support/dynamodb-local.ts';
import { cli, type StackProcess, startStack } from './stack-process.ts';
import { joseVerifier, jwksRsaVerifier, type Verifier } from './verifiers.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const S = 1000;
const POLICY = {
  ALGORITHM: 'ES256',
  ROTATION_PERIOD: '16s',
  PREPUBLISH_LEAD: '4s',
  JWKS_MAX_AGE: '1s',
  CDN_MAX_TTL: '1s',
  MAX_TOKEN_TTL: '5s',
  CLOCK_SKEW: '1s',
  SIGNER_CACHE_TTL: '1s',
  MAX_REPLICATION_LAG: '3s',
  RETENTION: '12s',
};
const ROTATION_PERIOD = 16 * S;
const LEAD = 4 * S;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: StackProcess;
let info: StackInfo;
let secret: string;
let remote: Verifier[] = [];
const up = new Map([
  [A, true],
  [B, true],
]);
const live: { token: string; exp: number; from: string; kid: string; at: number }[] = [];
const failures: string[] = [];
const refusals: string[] = [];
const issuedFrom = new Map<string, number>();
const withdrawnSeen = new Set<string>();
let verified = 0;

const region = (name: string) => info.regions?.find((r) => r.region === name) as RegionInfo;
const registryOf = (name: string) =>
  new DynamoDbRegistry({
    client: localDynamoDbClient(info.dynamodbEndpoint),
    tableName: region(name).tableName,
  });
const stateOf = async (name: string) => (await registryOf(name).read()).state;

async function control(path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function setUp(name: string, value: boolean): Promise<void> {
  const res = await control(`/_local/regions/${name}`, { up: value });
  expect(res.status).toBe(200);
  up.set(name, value);
}

/** Ask `base`'s token endpoint; a refusal must be an OAuth 503, never a token that fails to verify. */
async function issue(from: string, base: string): Promise<void> {
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  if (res.status === 200 && body.access_token) {
    const { kid = '' } = decodeProtectedHeader(body.access_token);
    const exp = (decodeJwt(body.access_token).exp ?? 0) * S;
    live.push({ token: body.access_token, exp, from, kid, at: Date.now() });
    issuedFrom.set(from, (issuedFrom.get(from) ?? 0) + 1);
  } else if (res.status === 503 && body.error === 'temporarily_unavailable') {
    refusals.push(`${from} at ${new Date().toISOString()}`);
  } else {
    failures.push(`token request to ${from}: ${res.status} ${JSON.stringify(body)}`);
  }
}

async function verifyAll(): Promise<void> {
  // One instant for the whole round: a token judged valid now is verified as of now, however long the
  // round's fetches take on a loaded machine (jose currentDate, jsonwebtoken clockTimestamp).
  const now = Date.now();
  const valid = live.filter((t) => t.exp > now);
  for (const name of [A, B]) {
    if (!up.get(name)) continue;
    const res = await fetch(`${region(name).url}/.well-known/jwks.json`);
    if (res.status === 404) {
      // A region outside the serving set withdraws its JWKS (the edge fails over): nothing to check.
      withdrawnSeen.add(name);
      continue;
    }
    const keys = createLocalJWKSet((await res.json()) as never);
    for (const t of valid) {
      try {
        await jwtVerify(t.token, keys, { issuer: stack.url, audience: 'api', currentDate: new Date(now) });
        verified += 1;
      } catch (err) {
        const { kid } = decodeProtectedHeader(t.token);
        failures.push(`token from ${t.from} (${kid}) against ${name}'s JWKS: ${(err as Error).message}`);
      }
    }
  }
  for (const v of remote) {
    for (const t of valid) {
      try {
        await v.verify(t.token, now);
        verified += 1;
      } catch (err) {
        failures.push(`token from ${t.from} with ${v.name} through the edge: ${(err as Error).message}`);
      }
    }
  }
}

/** The world for `ms` (or until `until`): every live region and the edge issue, everything is verified. */
async function run(ms: number, until?: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const name of [A, B]) if (up.get(name)) await issue(name, region(name).url);
    await issue('edge', stack.url);
    await verifyAll();
    if (until && (await until())) return;
    await sleep(400);
  }
}

beforeAll(async () => {
  stack = await startStack({ env: { REGIONS: `${A},${B}`, ...POLICY }, readyTimeoutMs: 120_000 });
  info = (await readStackInfo(stack.dataDir)) as StackInfo;
  const created = await cli(
    stack.dataDir,
    ['clients', 'create', 'svc', '--scope', 'read', '--audience', 'api', '--json'],
    {
      AWS_REGION: A,
    },
  );
  expect(created.code).toBe(0);
  secret = JSON.parse(created.stdout).client_secret;
  const jwksUrl = `${stack.url}/.well-known/jwks.json`;
  remote = [joseVerifier(jwksUrl, S), jwksRsaVerifier(jwksUrl, S)];
  // The client reaches B's table by replication: until then B answers invalid_client, as a replica
  // region does on AWS before the global table has replicated the client's item.
  const deadline = Date.now() + 15 * S;
  while (Date.now() < deadline && (issuedFrom.get(B) ?? 0) === 0) {
    await issue(B, region(B).url);
    await sleep(250);
  }
  failures.length = 0;
  await run(5 * S);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('REGIONS=2 npm start: two regional stacks behind one edge', () => {
  it('starts with both regions serving the same bytes, the same kids, and issuing tokens that verify', async () => {
    expect(info.regions?.map((r) => r.region)).toEqual([A, B]);
    const [a, b] = await Promise.all(
      [A, B].map((n) => fetch(`${region(n).url}/.well-known/jwks.json`).then((r) => r.text())),
    );
    expect(b).toBe(a);
    expect((await stateOf(B)).activeKid).toBe((await stateOf(A)).activeKid);
    expect(issuedFrom.get(B)).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });

  it('refuses a rotate in the region that is not the primary (NOT_PRIMARY), and a lag above maxReplicationLag', async () => {
    const refused = await cli(stack.dataDir, ['rotate', '--now'], { AWS_REGION: B });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('NOT_PRIMARY');
    const tooLate = await control('/_local/replication', { lag: '4s' });
    expect(tooLate.status).toBe(400);
    expect(((await tooLate.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('drill 1: region B down — A and the edge keep issuing tokens that verify; B comes back and catches up', async () => {
    await setUp(B, false);
    const fromA = issuedFrom.get(A) ?? 0;
    // B's endpoint is gone, as a lost region's is; the CLI will not act there either.
    await expect(fetch(`${region(B).url}/.well-known/jwks.json`)).rejects.toThrow();
    const down = await cli(stack.dataDir, ['status'], { AWS_REGION: B });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('UPSTREAM');
    const activeBefore = (await stateOf(A)).activeKid;
    await run(ROTATION_PERIOD + LEAD + 4 * S);
    expect(issuedFrom.get(A) ?? 0).toBeGreaterThan(fromA + 10);
    // A created its next standby meanwhile, but B never served it: it must not be ACTIVE.
    const a = await registryOf(A).read();
    const active = a.keys.find((k) => k.kid === a.state.activeKid);
    const servedByB = a.publications?.some((p) => p.region === B && p.keyRef === active?.keyRef);
    expect(a.state.activeKid === activeBefore || servedByB).toBe(true);

    await setUp(B, true);
    await run(30 * S, async () => {
      const [sa, sb] = await Promise.all([stateOf(A), stateOf(B)]);
      const [ja, jb] = await Promise.all(
        [A, B].map((n) => fetch(`${region(n).url}/.well-known/jwks.json`).then((r) => r.text())),
      );
      return sa.registryVersion === sb.registryVersion && ja === jb;
    });
    expect((await stateOf(B)).registryVersion).toBe((await stateOf(A)).registryVersion);
    expect(failures).toEqual([]);
  }, 120_000);

  it('drill 3: replication lag at its maximum never drops a key while a token it signed is valid', async () => {
    // 1 s under the policy's 3 s: the stream's own read delay comes on top of the replicator's.
    expect((await control('/_local/replication', { lag: '2s' })).status).toBe(200);
    const first = (await stateOf(A)).activeKid;
    await run(ROTATION_PERIOD + LEAD + 16 * S, async () => {
      const retired = (await registryOf(A).read()).keys.find((k) => k.kid === first);
      return retired?.status === 'EXPIRED';
    });
    expect((await stateOf(A)).activeKid).not.toBe(first);
    // The lagging region went on signing with the key A had already retired, and every such token
    // verified until it expired (failures stays empty) although the key has left the JWKS since.
    const retiredAt = (await registryOf(A).read()).keys.find((k) => k.kid === first)?.retiredAt ?? Infinity;
    expect(live.filter((t) => t.from === B && t.kid === first && t.at > retiredAt).length).toBeGreaterThan(0);
    expect((await control('/_local/replication', { lag: '200ms' })).status).toBe(200);
    expect(failures).toEqual([]);
  }, 120_000);

  it('drill 2: the primary A down mid-rotation — the edge serves B, B signs, nothing activates; promote-region B resumes rotation', async () => {
    let standbyRef: string | undefined;
    await run(30 * S, async () => {
      const s = await registryOf(A).read();
      const standby = s.keys.find((k) => k.keyRef === s.state.pendingKeyRef);
      standbyRef = standby?.keyRef;
      return standby?.status === 'PENDING' && standby.publishedAt !== undefined;
    });
    // The standby's publication has replicated to B (B knows it as published) before A goes down.
    await run(10 * S, async () => {
      const standby = (await registryOf(B).read()).keys.find((k) => k.keyRef === standbyRef);
      return standby?.publishedAt !== undefined;
    });
    const activeBefore = (await stateOf(B)).activeKid;
    await setUp(A, false);
    const fromEdge = issuedFrom.get('edge') ?? 0;
    const fromB = issuedFrom.get(B) ?? 0;
    await run(ROTATION_PERIOD + 2 * S);
    expect((await stateOf(B)).activeKid).toBe(activeBefore);
    expect(issuedFrom.get(B) ?? 0).toBeGreaterThan(fromB);
    // The edge's token route failed over to B, and its JWKS to B's bucket.
    expect(issuedFrom.get('edge') ?? 0).toBeGreaterThan(fromEdge);
    expect(failures).toEqual([]);

    const promoted = await cli(stack.dataDir, ['promote-region', B, '--exclude', A, '--json'], {
      AWS_REGION: B,
    });
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ region: B, epoch: 1, servingRegions: [B] });
    await run(ROTATION_PERIOD + LEAD + 4 * S, async () => (await stateOf(B)).activeKid !== activeBefore);
    const after = await registryOf(B).read();
    expect(after.state).toMatchObject({ primaryRegion: B, epoch: 1 });
    expect(after.state.activeKid).not.toBe(activeBefore);
    const active = after.keys.find((k) => k.kid === after.state.activeKid);
    const mark = after.publications?.find((p) => p.region === B && p.keyRef === active?.keyRef);
    expect((mark?.publishedAt ?? Number.POSITIVE_INFINITY) + LEAD).toBeLessThanOrEqual(
      active?.activatedAt ?? 0,
    );

    // A comes back as a watcher: it catches up and writes nothing of its own; outside the serving set it
    // withdraws its JWKS, so the edge keeps answering from B although A's bucket comes first.
    expect(withdrawnSeen.has(A)).toBe(false);
    await setUp(A, true);
    await run(30 * S, async () => (await stateOf(A)).registryVersion === (await stateOf(B)).registryVersion);
    expect(await stateOf(A)).toMatchObject({ primaryRegion: B, epoch: 1 });
    await run(10 * S, async () => withdrawnSeen.has(A));
    expect(withdrawnSeen.has(A)).toBe(true);

    // Re-admitted: its vault gets copies of the keys B made while it was out, then it serves them too.
    const readmitted = await cli(stack.dataDir, ['promote-region', B, '--json'], { AWS_REGION: B });
    expect(readmitted.code).toBe(0);
    expect(JSON.parse(readmitted.stdout)).toMatchObject({ region: B, epoch: 2, servingRegions: [A, B] });
    const jwksOf = (n: string) => fetch(`${region(n).url}/.well-known/jwks.json`).then((r) => r.text());
    await run(20 * S, async () => (await jwksOf(A)) === (await jwksOf(B)));
    expect(await jwksOf(A)).toBe(await jwksOf(B));
    expect(failures).toEqual([]);
    expect(verified).toBeGreaterThan(live.length);
  }, 180_000);
});
