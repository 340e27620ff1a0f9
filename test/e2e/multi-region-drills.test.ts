/**
 * Issue #12's drills, simulated on one machine (ADR 0008): two regions, each with its own registry
 * table on DynamoDB Local, replicated both ways through the tables' streams (src/local/replicator.ts:
 * asynchronous, configurable lag, held back while a region is down), its own publisher and bucket,
 * rotate function and signer; one edge with origin failover (the primary region's bucket, else the
 * other's, as a CloudFront origin group). Multi-Region keys share material: one vault.
 *
 * Throughout every drill each token is checked when issued and again on every tick until it expires:
 * with jose against the JWKS every live region serves at that moment, and by jose's remote JWK set and
 * jwks-rsa + jsonwebtoken through the edge over HTTP, caching it for its max-age. The promise: zero
 * failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbHeartbeats } from '../../src/adapters/aws/dynamodb-heartbeats.ts';
import { DynamoDbRegistry } from '../../src/adapters/aws/dynamodb-registry.ts';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import { METRIC_DIMENSIONS, METRICS, OBJECT_KEYS } from '../../src/constants.ts';
import { parsePolicy } from '../../src/core/policy.ts';
import type { RegionConfig } from '../../src/core/regions.ts';
import { createRotateHandler, type MetricsSink } from '../../src/handlers/rotate-handler.ts';
import { replicatorConsumers } from '../../src/local/replicator.ts';
import { StreamPoller } from '../../src/local/stream-poller.ts';
import { publishJwks } from '../../src/publisher.ts';
import { Signer } from '../../src/signer.ts';
import {
  type DynamoDbLocal,
  localDynamoDbClient,
  localStreamsClient,
  startDynamoDbLocal,
  uniqueTableName,
} from '../support/dynamodb-local.ts';
import { MemoryCdn, MemoryKeyVault, MemoryObjectStore } from '../support/memory.ts';
import { joseVerifier, jwksRsaVerifier, type Verifier } from './verifiers.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const REGIONS = [A, B];
const ISSUER = 'https://issuer.example';
const policy = parsePolicy(
  {
    algorithm: 'ES256',
    rotationPeriod: '12s',
    prepublishLead: '4s',
    jwksMaxAge: '1s',
    cdnMaxTtl: '1s',
    maxTokenTtl: '5s',
    clockSkew: '1s',
    signerCacheTtl: '500ms',
    maxReplicationLag: '3s',
    retention: '10s',
  },
  { multiRegion: true },
).policy;
const operator = { arn: 'arn:aws:sts::123456789012:assumed-role/ops/alice' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Region {
  readonly name: string;
  readonly table: string;
  readonly registry: DynamoDbRegistry;
  readonly store: MemoryObjectStore;
  up: boolean;
  poller?: StreamPoller;
  readonly rotate: ReturnType<typeof createRotateHandler>;
  readonly signer: Signer;
}

let ddb: DynamoDbLocal;
let client: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let dir: string;
const vault = new MemoryKeyVault();
let lagMs = 200;
/** Regions whose incoming replication is held back (both regions up: a stalled replica, not an outage). */
const held = new Set<string>();
const regions = new Map<string, Region>();

/**
 * What each region's rotate function last reported as `ReplicaHeartbeatAgeSeconds`, by
 * `<observer> <- <source>`: the value the heartbeat alarm reads.
 */
const heartbeatAges = new Map<string, number>();
function metricsOf(observer: string): MetricsSink {
  return {
    addMetric() {},
    publishStoredMetrics() {},
    singleMetric() {
      const dimensions = new Map<string, string>();
      return {
        addDimension: (name, value) => dimensions.set(name, value),
        addMetric: (name, _unit, value) => {
          if (name !== METRICS.REPLICA_HEARTBEAT_AGE) return;
          heartbeatAges.set(`${observer} <- ${dimensions.get(METRIC_DIMENSIONS.SOURCE_REGION)}`, value);
        },
      };
    },
  };
}
const region = (name: string) => regions.get(name) as Region;

/** Stream handlers (publish, replicate) running now, by the region whose table or bucket they write. */
const inFlight = new Map<string, number>();
function tracked<E, R>(target: string, handler: (event: E) => Promise<R>): (event: E) => Promise<R> {
  return async (event) => {
    inFlight.set(target, (inFlight.get(target) ?? 0) + 1);
    try {
      return await handler(event);
    } finally {
      inFlight.set(target, (inFlight.get(target) ?? 0) - 1);
    }
  };
}

/** Until no handler that writes `name`'s table or bucket is running (work begun before it went down). */
async function settled(name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((inFlight.get(name) ?? 0) > 0) {
    if (Date.now() > deadline) throw new Error(`work in flight to ${name} never settled`);
    await sleep(20);
  }
}

/** Tokens issued so far: re-verified on every tick until they expire. */
const live: { token: string; exp: number; from: string; kid: string }[] = [];
const failures: string[] = [];
const refusals: { from: string; code: string; at: number }[] = [];
let issued = 0;
let verified = 0;

/**
 * What verifiers can be served: each live region's bucket. The edge's origin group answers from the
 * primary's bucket and fails over to the other's per request, and each region's API serves its own, so
 * a token must verify against every one of them.
 */
function servedJwksSets(): { region: string; jwks: { keys: { kid: string }[] } }[] {
  return REGIONS.flatMap((name) => {
    const r = region(name);
    const body = r.up ? r.store.text(OBJECT_KEYS.JWKS) : undefined;
    return body ? [{ region: name, jwks: JSON.parse(body) }] : [];
  });
}

/**
 * The edge over HTTP, as verifiers reach it: the origin group's first live region with a JWKS answers,
 * with the max-age the publisher sets. Two verifiers nobody here wrote cache it for that max-age.
 */
let edge: Server;
let remote: Verifier[] = [];
const remoteVerified = new Map<string, number>();
function startEdge(): Promise<string> {
  edge = createServer((req, res) => {
    const body = REGIONS.map((n) => region(n))
      .find((r) => r.up && r.store.text(OBJECT_KEYS.JWKS))
      ?.store.text(OBJECT_KEYS.JWKS);
    if (req.url !== `/${OBJECT_KEYS.JWKS}` || !body) {
      res.writeHead(body ? 404 : 503).end();
      return;
    }
    const maxAge = Math.floor(policy.jwksMaxAge / 1000);
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': `public, max-age=${maxAge}` })
      .end(body);
  });
  return new Promise((resolve) =>
    edge.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(edge.address() as AddressInfo).port}/${OBJECT_KEYS.JWKS}`),
    ),
  );
}

async function verifyAll(): Promise<void> {
  // One instant for the whole round: a token judged valid now is verified as of now, however long the
  // round takes on a loaded machine (jose currentDate, jsonwebtoken clockTimestamp).
  const now = Date.now();
  const valid = live.filter((t) => t.exp * 1000 > now);
  const served = servedJwksSets();
  if (served.length === 0 && valid.length > 0)
    failures.push(`no origin serves the JWKS while tokens are valid`);
  for (const { region: origin, jwks } of served) {
    const keys = createLocalJWKSet(jwks as never);
    for (const t of valid) {
      try {
        await jwtVerify(t.token, keys, { issuer: ISSUER, audience: 'api', currentDate: new Date(now) });
        verified += 1;
      } catch (err) {
        failures.push(`token from ${t.from} (${t.kid}) against ${origin}'s JWKS: ${(err as Error).message}`);
      }
    }
  }
  for (const v of remote) {
    for (const t of valid) {
      try {
        await v.verify(t.token, now);
        verified += 1;
        remoteVerified.set(v.name, (remoteVerified.get(v.name) ?? 0) + 1);
      } catch (err) {
        failures.push(
          `token from ${t.from} (${t.kid}) with ${v.name} through the edge: ${(err as Error).message}`,
        );
      }
    }
  }
}

async function issue(name: string): Promise<void> {
  const r = region(name);
  if (!r.up) return;
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: ISSUER, aud: 'api', sub: 'svc', iat, exp: iat + 5 };
  try {
    const { token, kid } = await r.signer.sign(claims);
    live.push({ token, exp: claims.exp, from: name, kid });
    issued += 1;
  } catch (err) {
    // Refusals are answers (a 5xx from that region's token endpoint), never a token that fails to verify:
    // no ACTIVE key yet (bootstrap), or a region back from an outage whose replica still names a key the
    // primary has disabled meanwhile (it signs again once it has caught up).
    const code = (err as { code?: string }).code;
    if (code !== 'NO_ACTIVE_KEY' && code !== 'KEY_UNUSABLE') throw err;
    refusals.push({ from: name, code, at: Date.now() });
  }
}

/** One tick of the world: each live region reconciles (B watches) and issues; everything is verified. */
async function tick(): Promise<void> {
  for (const name of REGIONS) if (region(name).up) await region(name).rotate();
  for (const name of REGIONS) await issue(name);
  await verifyAll();
}

async function run(ms: number, until?: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await tick();
    if (until && (await until())) return;
    await sleep(250);
  }
}

const stateOf = async (name: string) => (await region(name).registry.read()).state;

beforeAll(async () => {
  MemoryKeyVault.warmPool(['ES256'], 12);
  ddb = await startDynamoDbLocal();
  client = localDynamoDbClient(ddb.endpoint);
  streams = localStreamsClient(ddb.endpoint);
  dir = mkdtempSync(join(tmpdir(), 'jwks-drills-'));
  const jwksUrl = await startEdge();
  remote = [joseVerifier(jwksUrl, policy.jwksMaxAge), jwksRsaVerifier(jwksUrl, policy.jwksMaxAge)];
  const arns = new Map<string, string>();
  for (const name of REGIONS) {
    const table = uniqueTableName(`registry-${name}`);
    arns.set(name, (await createRegistryTable(client, table)).streamArn);
    const registry = new DynamoDbRegistry({ client, tableName: table });
    const store = new MemoryObjectStore();
    const config: RegionConfig = { region: name, regions: REGIONS };
    regions.set(name, {
      name,
      table,
      registry,
      store,
      up: true,
      rotate: createRotateHandler({
        registry,
        vault,
        store,
        policy,
        regions: config,
        bootstrapWaitMs: 0,
        heartbeats: new DynamoDbHeartbeats({ client, tableName: table }),
        metrics: metricsOf(name),
      }),
      signer: new Signer({ registry, vault, cacheTtlMs: policy.signerCacheTtl }),
    });
  }
  for (const name of REGIONS) {
    const r = region(name);
    const other = region(REGIONS.find((n) => n !== name) as string);
    const cdn = new MemoryCdn();
    r.poller = new StreamPoller({
      client: streams,
      streamArn: arns.get(name) as string,
      checkpointDir: join(dir, name),
      pollIntervalMs: 50,
      idlePollMaxMs: 150,
      retryBaseMs: 100,
      retryMaxMs: 500,
      consumers: [
        {
          name: 'publish',
          handler: tracked(name, async () => {
            if (!r.up) throw new Error(`${name} is down`);
            await publishJwks(
              {
                registry: r.registry,
                store: r.store,
                cdn,
                policy,
                vault,
                regions: { region: name, regions: REGIONS },
              },
              Date.now(),
            );
          }),
        },
        ...replicatorConsumers({
          name: `replicate-to-${other.name}`,
          target: client,
          targetTable: other.table,
          lagMs: () => lagMs,
          reachable: () => r.up && other.up && !held.has(other.name),
        }).map((c) => ({ ...c, handler: tracked(other.name, c.handler) })),
      ],
    });
    r.poller.start();
  }
  // Bootstrap: the first key is created in A, replicated, published in both regions, then activated.
  await run(20_000, async () => (await stateOf(B)).activeKid !== undefined);
}, 60_000);

afterAll(async () => {
  for (const r of regions.values()) await r.poller?.stop();
  client?.destroy();
  streams?.destroy();
  await ddb?.stop();
  await new Promise((r) => edge?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('multi-region drills (simulated global table, two regions)', () => {
  it('bootstraps with both regions serving the same bytes and signing with the same key', async () => {
    // Rendering is deterministic: once B's replica has caught up, its bucket holds A's exact bytes.
    await run(
      10_000,
      async () => region(B).store.text(OBJECT_KEYS.JWKS) === region(A).store.text(OBJECT_KEYS.JWKS),
    );
    expect(region(B).store.text(OBJECT_KEYS.JWKS)).toBe(region(A).store.text(OBJECT_KEYS.JWKS));
    expect((await stateOf(B)).activeKid).toBe((await stateOf(A)).activeKid);
    expect(failures).toEqual([]);
  });

  it('drill 4: replication to B stalls with both regions up; B sees A’s heartbeat age pass the threshold, and it drops once healed', async () => {
    // The alarm's rule at the drill's scale: older than the replication lag allows, with a run between.
    const threshold = policy.maxReplicationLag / 1000;
    const age = (observer: string, source: string) => heartbeatAges.get(`${observer} <- ${source}`);
    await run(10_000, async () => (age(B, A) ?? Infinity) < threshold);
    expect(age(B, A)).toBeLessThan(threshold);

    held.add(B);
    await run(20_000, async () => (age(B, A) ?? 0) > threshold);
    expect(age(B, A)).toBeGreaterThan(threshold);
    // Replication the other way is fine, and A sees it.
    expect(age(A, B)).toBeLessThan(threshold);

    held.delete(B);
    await run(20_000, async () => (age(B, A) ?? Infinity) < threshold);
    expect(age(B, A)).toBeLessThan(threshold);
    expect(failures).toEqual([]);
  }, 60_000);

  it('drill 1: kill region B; tokens from A keep verifying, no key activates that B has not served; B comes back and catches up', async () => {
    const before = live.length;
    region(B).up = false;
    // Work in flight when B went down may still land in B's table; after that, B's table is what B served.
    await settled(B);
    const servedByB = async (keyRef: string | undefined) =>
      ((await region(B).registry.read()).publications ?? []).some(
        (p) => p.region === B && p.keyRef === keyRef,
      );
    const activations: { kid?: string; servedByB: boolean }[] = [];
    let last = (await stateOf(A)).activeKeyRef;
    // Two rotation periods and the lead: long enough for A to create a standby B never saw and for its
    // period to end; A must not activate it.
    await run(2 * policy.rotationPeriod + policy.prepublishLead + 1_000, async () => {
      const s = await stateOf(A);
      if (s.activeKeyRef !== last) {
        activations.push({ kid: s.activeKid, servedByB: await servedByB(s.activeKeyRef) });
        last = s.activeKeyRef;
      }
      return false;
    });
    expect(activations.filter((a) => !a.servedByB)).toEqual([]);
    expect(live.slice(before).filter((t) => t.from === A).length).toBeGreaterThan(5);

    region(B).up = true;
    await run(20_000, async () => {
      const [a, b] = [await stateOf(A), await stateOf(B)];
      return (
        a.registryVersion === b.registryVersion &&
        region(A).store.text(OBJECT_KEYS.JWKS) === region(B).store.text(OBJECT_KEYS.JWKS)
      );
    });
    expect((await stateOf(B)).registryVersion).toBe((await stateOf(A)).registryVersion);
    expect(region(B).store.text(OBJECT_KEYS.JWKS)).toBe(region(A).store.text(OBJECT_KEYS.JWKS));
    expect(failures).toEqual([]);
  }, 120_000);

  it('drill 3: replication lag at its maximum never drops a retired key while a lagging region’s token is valid', async () => {
    // The replicator adds lagMs to the stream read and the write (≤ 150 ms and ~100 ms idle, more on a
    // loaded machine): 1 s of headroom keeps the total within the policy's maximum replication lag.
    lagMs = policy.maxReplicationLag - 1_000;
    // Signers of a region that just caught up (drill 1) may hold their STATE view a moment longer.
    await run(policy.signerCacheTtl + 500);
    const started = Date.now();
    const first = (await stateOf(A)).activeKid;
    // Through at least one rotation: B learns of each retirement up to 2 s late and keeps signing.
    await run(40_000, async () => {
      const retired = (await region(A).registry.read()).keys.find((k) => k.kid === first);
      return retired?.status === 'EXPIRED';
    });
    const tokensFromB = live.filter((t) => t.from === B && t.kid === first);
    expect(tokensFromB.length).toBeGreaterThan(0);
    expect((await stateOf(A)).activeKid).not.toBe(first);
    lagMs = 200;
    expect(failures).toEqual([]);
    // A retired key is disabled only after signerCacheTtl + maxReplicationLag: the lagging region never
    // found its ACTIVE key disabled under it.
    expect(refusals.filter((r) => r.at >= started && r.code === 'KEY_UNUSABLE')).toEqual([]);
  }, 90_000);

  it('drill 2: kill the primary mid-rotation; the edge fails over, B signs, no key activates; promote-region B resumes rotation', async () => {
    // Mid-rotation: a standby that A has published but that is not ACTIVE yet.
    await run(20_000, async () => {
      const s = await region(A).registry.read();
      return (
        s.keys.some((k) => k.keyRef === s.state.pendingKeyRef && k.status === 'PENDING') &&
        s.publications !== undefined
      );
    });
    const activeBefore = (await stateOf(B)).activeKid;
    region(A).up = false;
    const fromBBefore = live.filter((t) => t.from === B).length;
    await run(policy.rotationPeriod + 2_000);
    // B watches: nothing activated, the edge served B's bucket, B's tokens verified.
    expect((await stateOf(B)).activeKid).toBe(activeBefore);
    expect(live.filter((t) => t.from === B).length).toBeGreaterThan(fromBBefore);
    expect(failures).toEqual([]);

    const promoted = await region(B).rotate({
      action: 'promote-region',
      region: B,
      exclude: [A],
      reason: 'drill',
      operator,
    });
    expect(promoted).toMatchObject({
      ok: true,
      outcome: { result: { region: B, epoch: 1, servingRegions: [B] } },
    });
    await run(20_000, async () => (await stateOf(B)).activeKid !== activeBefore);
    const after = await region(B).registry.read();
    expect(after.state).toMatchObject({ primaryRegion: B, epoch: 1 });
    expect(after.state.activeKid).not.toBe(activeBefore);
    // Activated only after B had served it for the lead.
    const active = after.keys.find((k) => k.kid === after.state.activeKid);
    const mark = after.publications?.find((p) => p.region === B && p.keyRef === active?.keyRef);
    expect((mark?.publishedAt ?? Infinity) + policy.prepublishLead).toBeLessThanOrEqual(
      active?.activatedAt ?? 0,
    );
    expect(failures).toEqual([]);
    expect(verified).toBeGreaterThan(issued);
    // Both caching verifiers took part all along, through the edge's failover too.
    for (const v of remote) expect(remoteVerified.get(v.name) ?? 0).toBeGreaterThan(issued / 2);
  }, 90_000);
});
