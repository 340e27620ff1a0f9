/**
 * `jwks audit` against an in-memory audit bucket filled by the real AuditLog from stream records of
 * two keys' lives (one retires and expires on schedule, the other is revoked by an operator).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AUDIT_BUCKET_OUTPUT, parseSince } from '../../src/cli/commands/audit.ts';
import { localContext } from '../../src/cli/local-context.ts';
import { type KeyChange, lifecycleEventOf } from '../../src/core/events.ts';
import type { KeyRecord } from '../../src/core/types.ts';
import type { AuditVerification } from '../../src/events/audit-chain.ts';
import { AuditLog } from '../../src/events/audit-log.ts';
import { keyChangeFromRecord } from '../../src/events/stream-change.ts';
import { writeStackInfo } from '../../src/local/data-dir.ts';
import { historyRecords, keyHistory, keyStreamRecord } from '../events/stream-fixtures.ts';
import { DAY, HOUR, T0 } from '../support/fixtures.ts';
import { MemoryObjectStore } from '../support/memory.ts';
import { json, type MemoryStack, memoryStack, type RunResult, run } from './harness.ts';

const JWKS_URI = 'http://127.0.0.1:0/.well-known/jwks.json';
const SCHEDULE = { changedBy: 'schedule', reason: 'scheduled reconciliation' };
const OPERATOR = { changedBy: 'cli:alice', reason: 'key compromised' };

/** key-a: created, published, activated, retired, disabled, expired — all by the schedule. */
const lifeA = (): KeyRecord[] => keyHistory('key-a').map((r) => ({ ...r, ...SCHEDULE }));

/** key-b, a day later: created and published by the schedule, then revoked by an operator. */
function lifeB(): KeyRecord[] {
  const start = T0 + DAY;
  const pending = keyHistory('key-b', start)
    .slice(0, 3)
    .map((r) => ({ ...r, ...SCHEDULE }));
  const last = pending.at(-1) as KeyRecord;
  return [...pending, { ...last, ...OPERATOR, status: 'REVOKED', revokedAt: start + 9_000, version: 4 }];
}

const changes = (life: KeyRecord[], start: number): KeyChange[] =>
  historyRecords(life, start).map((r) => keyChangeFromRecord(r) as KeyChange);

interface Listed {
  records: Array<{
    objectKey: string;
    keyRef: string;
    kid: string | null;
    event: { type: string; changedBy: string; reason: string } | null;
    changedBy: string;
    reason: string;
    approximateCreationTime: string;
    registryVersion: number | null;
  }>;
  unreadable: string[];
}

describe('jwks audit', () => {
  let stack: MemoryStack;
  let auditStore: MemoryObjectStore;
  let keys: string[];
  const kidOf = (keyRef: 'key-a' | 'key-b') =>
    ((keyRef === 'key-a' ? lifeA() : lifeB())[1] as KeyRecord).kid as string;

  /** Runs against a context that carries the audit bucket, as the local context does. */
  const audit = (args: string[]): Promise<RunResult> =>
    run(['audit', ...args], stack, { loadContext: async () => ({ ...stack.ctx, auditStore }) });

  beforeEach(async () => {
    stack = memoryStack();
    auditStore = new MemoryObjectStore();
    const log = new AuditLog({ store: auditStore });
    const a = changes(lifeA(), T0);
    const b = changes(lifeB(), T0 + DAY);
    // Interleaved, as one stream carries both keys.
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      for (const c of [a[i], b[i]]) if (c) await log.append(c, lifecycleEventOf(c, JWKS_URI));
    }
    keys = await auditStore.list('audit/');
  });

  describe('listing', () => {
    it('lists every record in time order with who changed what and why when given --json', async () => {
      const r = await audit(['--json']);
      expect(r.code, r.stderr).toBe(0);
      const { records, unreadable } = json<Listed>(r);
      expect(unreadable).toEqual([]);
      expect(records.map((x) => x.objectKey).sort()).toEqual(keys);
      const times = records.map((x) => Date.parse(x.approximateCreationTime));
      expect(times).toEqual([...times].sort((x, y) => x - y));
      const ofA = records.filter((x) => x.keyRef === 'key-a');
      expect(ofA.map((x) => x.event?.type ?? null)).toEqual([
        null, // CREATING is not announced
        'key.pending',
        null, // publishedAt mark
        'key.activated',
        'key.retired',
        null, // disabledAt mark
        'key.expired',
      ]);
      expect(new Set(ofA.map((x) => x.changedBy))).toEqual(new Set(['schedule']));
      const revoked = records.find((x) => x.event?.type === 'key.revoked');
      expect(revoked).toMatchObject({ kid: kidOf('key-b'), ...OPERATOR, event: OPERATOR });
    });

    it('orders records of the same stream second by registry commit, across keys', async () => {
      auditStore = new MemoryObjectStore();
      const log = new AuditLog({ store: auditStore });
      const [c, d] = [keyHistory('key-c'), keyHistory('key-d')];
      // Commits c1, d1, c2, d2 (registry versions 1–4), all within one second of the stream.
      const written: Array<[KeyRecord[], number]> = [
        [c, 0],
        [d, 0],
        [c, 1],
        [d, 1],
      ];
      for (const [rv, [life, i]] of written.entries()) {
        const old = life[i - 1];
        const change = keyChangeFromRecord(
          keyStreamRecord({
            ...(old && { old }),
            new: life[i] as KeyRecord,
            registryVersion: rv + 1,
            at: T0,
          }),
        ) as KeyChange;
        await log.append(change, lifecycleEventOf(change, JWKS_URI));
      }
      const { records } = json<Listed>(await audit(['--json']));
      expect(records.map((x) => [x.keyRef, x.registryVersion])).toEqual([
        ['key-c', 1],
        ['key-d', 2],
        ['key-c', 3],
        ['key-d', 4],
      ]);
    });

    it('prints a table of time, kid, event, status change, changedBy and reason', async () => {
      const r = await audit([]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^TIME\s+KID\s+EVENT\s+STATUS\s+CHANGED BY\s+REASON$/);
      expect(lines).toHaveLength(keys.length + 1);
      const revoke = lines.find((l) => l.includes('key.revoked'));
      expect(revoke).toContain(kidOf('key-b'));
      expect(revoke).toContain('PENDING -> REVOKED');
      expect(revoke).toMatch(/cli:alice\s+key compromised$/);
    });

    it("selects one key's whole chain, from before it had a kid, when given --kid", async () => {
      const r = await audit(['--kid', kidOf('key-a'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const { records } = json<Listed>(r);
      expect(records.map((x) => x.objectKey)).toEqual(keys.filter((k) => k.startsWith('audit/key-a/')));
      expect(records[0]?.kid).toBeNull();
    });

    it('exits 1 with KEY_NOT_FOUND when no record carries the --kid', async () => {
      const r = await audit(['--kid', 'no-such-kid', '--json']);
      expect(r.code).toBe(1);
      expect(json<{ error: { code: string } }>(r).error.code).toBe('KEY_NOT_FOUND');
    });

    it('keeps only records from --since on, given as a duration ago or an ISO date', async () => {
      stack.now = T0 + DAY + HOUR;
      const ago = json<Listed>(await audit(['--since', '1h', '--json'])).records;
      const iso = json<Listed>(await audit(['--since', '2030-01-02', '--json'])).records;
      const expected = keys.filter((k) => k.startsWith('audit/key-b/'));
      expect(ago.map((x) => x.objectKey).sort()).toEqual(expected);
      expect(iso.map((x) => x.objectKey).sort()).toEqual(expected);
    });

    it('exits 2 when --since is neither a date nor a duration', async () => {
      expect((await audit(['--since', 'yesterday'])).code).toBe(2);
    });

    it('warns about, and lists apart, objects that are not audit records', async () => {
      const bad = keys[0] as string;
      await auditStore.put({
        key: bad,
        body: new TextEncoder().encode('{}'),
        contentType: 'application/json',
      });
      const r = await audit(['--json']);
      expect(r.code).toBe(0);
      expect(json<Listed>(r).unreadable).toEqual([bad]);
      expect(r.stderr).toContain('--verify');
    });
  });

  describe('--verify', () => {
    const verification = (r: RunResult) => json<AuditVerification & { code?: string }>(r);

    it('exits 0 and reports every chain intact when nothing was touched', async () => {
      const r = await audit(['--verify', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(verification(r)).toEqual({ ok: true, chains: 2, records: keys.length, firstBreak: null });
    });

    it('exits 1 with AUDIT_CHAIN_BROKEN and MISSING after the gap when a record was removed', async () => {
      const chainA = keys.filter((k) => k.startsWith('audit/key-a/'));
      auditStore.delete(chainA[3] as string);
      const r = await audit(['--verify', '--json']);
      expect(r.code).toBe(1);
      expect(verification(r)).toMatchObject({
        ok: false,
        code: 'AUDIT_CHAIN_BROKEN',
        firstBreak: { kind: 'MISSING', keyRef: 'key-a', objectKey: chainA[4] },
      });
    });

    it('exits 1 with AUDIT_CHAIN_BROKEN and ALTERED at the record when one was edited', async () => {
      const target = keys.filter((k) => k.startsWith('audit/key-b/')).at(-1) as string;
      const edited = auditStore.text(target)?.replace('key compromised', 'routine cleanup') as string;
      await auditStore.put({
        key: target,
        body: new TextEncoder().encode(edited),
        contentType: 'application/json',
      });
      const r = await audit(['--verify', '--json']);
      expect(r.code).toBe(1);
      expect(verification(r)).toMatchObject({
        ok: false,
        code: 'AUDIT_CHAIN_BROKEN',
        firstBreak: { kind: 'ALTERED', keyRef: 'key-b', objectKey: target },
      });
    });

    it('says where the chain broke in the human output', async () => {
      auditStore.delete(keys.filter((k) => k.startsWith('audit/key-a/'))[2] as string);
      const r = await audit(['--verify']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/BROKEN \[AUDIT_CHAIN_BROKEN\]: MISSING at audit\/key-a\//);
    });

    it("checks only the chosen key's chain when given --kid", async () => {
      auditStore.delete(keys.filter((k) => k.startsWith('audit/key-b/'))[1] as string);
      const r = await audit(['--verify', '--kid', kidOf('key-a'), '--json']);
      expect(r.code, r.stdout).toBe(0);
      expect(verification(r)).toMatchObject({ ok: true, chains: 1 });
    });

    it('exits 2 without reading anything when --since is given too (it would cut the chains)', async () => {
      const r = await audit(['--verify', '--since', '1h']);
      expect(r.code).toBe(2);
      expect(stack.loads).toEqual([]);
    });
  });

  it('exits 1 with MISSING_CONFIG when the local context names no audit bucket', async () => {
    const r = await run(['audit', '--json'], stack);
    expect(r.code).toBe(1);
    expect(json<{ error: { code: string } }>(r).error.code).toBe('MISSING_CONFIG');
  });

  it('is listed in the help', async () => {
    expect((await run(['--help'])).stdout).toMatch(/\n\s+audit\s/);
  });
});

describe('jwks audit --stack (a deployed context without an audit store)', () => {
  // Mocked here only: the mocks patch every client of the class, and the localContext tests below need a real one.
  let cfn: AwsClientStub<CloudFormationClient>;
  let s3: AwsClientStub<S3Client>;
  let objects: Map<string, Uint8Array>;

  beforeAll(() => {
    cfn = mockClient(CloudFormationClient);
    s3 = mockClient(S3Client);
  });
  afterAll(() => {
    cfn.restore();
    s3.restore();
  });

  beforeEach(async () => {
    cfn.reset();
    s3.reset();
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const store = new MemoryObjectStore();
    const log = new AuditLog({ store });
    for (const c of changes(lifeA(), T0)) await log.append(c, lifecycleEventOf(c, JWKS_URI));
    objects = new Map();
    for (const key of await store.list('audit/'))
      objects.set(key, (await store.get(key))?.body as Uint8Array);
    s3.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix: string }) => ({
      Contents: [...objects.keys()].filter((k) => k.startsWith(input.Prefix)).map((Key) => ({ Key })),
      IsTruncated: false,
    }));
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      const body = objects.get(input.Key) as Uint8Array;
      return {
        Body: { transformToByteArray: async () => body },
        ETag: '"e"',
        ContentType: 'application/json',
      };
    });
  });
  afterEach(() => vi.unstubAllEnvs());

  it("reads the bucket named by the stack's AuditBucketName output", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'jwks-prod' }).resolves({
      Stacks: [
        {
          StackName: 'jwks-prod',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: AUDIT_BUCKET_OUTPUT, OutputValue: 'jwks-audit-prod' }],
        },
      ],
    });
    const r = await run(['audit', '--verify', '--json', '--stack', 'jwks-prod'], memoryStack());
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ ok: true, chains: 1, records: objects.size });
    const buckets = new Set(s3.calls().map((c) => (c.args[0].input as { Bucket: string }).Bucket));
    expect(buckets).toEqual(new Set(['jwks-audit-prod']));
  });

  it('exits 1 with MISSING_CONFIG when the stack has no such output', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 's', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    const r = await run(['audit', '--json', '--stack', 's'], memoryStack());
    expect(r.code).toBe(1);
    expect(json<{ error: { code: string } }>(r).error.code).toBe('MISSING_CONFIG');
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('parseSince', () => {
  it('reads an ISO date or date-time as that instant', () => {
    expect(parseSince('2030-01-02', 0)).toBe(Date.UTC(2030, 0, 2));
    expect(parseSince('2030-01-02T03:04:05Z', 0)).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  });

  it('reads a duration as that long before now', () => {
    expect(parseSince('7d', T0)).toBe(T0 - 7 * DAY);
  });

  it('refuses anything else with INVALID_ARGUMENT', () => {
    for (const bad of ['', 'soon', '-1h', '2030-13-45']) {
      expect(() => parseSince(bad, T0), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe("localContext's audit store", () => {
  let server: Server;
  let base: string;
  let dir: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/xml' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'jwks-cli-audit-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const info = (auditBucket?: string) => ({
    pid: process.pid,
    url: base,
    region: 'us-east-1',
    dynamodbEndpoint: base,
    s3Endpoint: base,
    ...(auditBucket && { auditBucket }),
    tableName: 't',
    bucket: 'jwks-publisher',
    distributionId: 'LOCAL',
    deploymentName: 'local',
    keysDir: join(dir, 'keys'),
    policy: {},
  });

  it('lists the audit bucket that stack.json names, path-style on the s3rver endpoint', async () => {
    writeStackInfo(dir, info('jwks-audit'));
    seen.length = 0;
    const ctx = localContext(dir);
    await expect(ctx.auditStore.list('audit/')).rejects.toThrow();
    ctx.close();
    expect(seen[0]).toMatch(/^GET \/jwks-audit\/?\?(.*&)?list-type=2/);
    expect(seen[0]).toContain('prefix=audit%2F');
  });

  it('fails with MISSING_CONFIG when stack.json names no audit bucket, and only when asked for it', () => {
    writeStackInfo(dir, info());
    const ctx = localContext(dir);
    expect(ctx.jwksUrl).toBe(`${base}/.well-known/jwks.json`);
    expect(() => ctx.auditStore).toThrow(expect.objectContaining({ code: 'MISSING_CONFIG' }));
    ctx.close();
  });
});
