/**
 * S3 replaces an object atomically, and the local stack's stand-ins must too: the embedded S3 (s3rver
 * with s3rver-atomic.mjs) and the regional JWKS route over it (an EdgeServer with no cache, as API
 * Gateway's S3 integration has none). A reader races a writer that rewrites the JWKS in place, for many
 * rounds; on the old code about one read in a few hundred was torn (half a body, or `ETag: ""` with
 * whatever part of the body was on disk) and the regional route served it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3.ts';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { EdgeServer } from '../../src/local/edge-server.ts';
import { s3rverClient, startS3rver } from '../support/s3rver.ts';

const BUCKET = 'jwks-race';
/** An observation window, bounded in reads and in time (a slow machine races fewer rounds, never fails for it). */
const READS = 3000;
const WINDOW_MS = 10_000;
const jwksOf = (n: number) =>
  JSON.stringify({
    keys: Array.from({ length: n }, (_, i) => ({ kty: 'EC', kid: `k${i}`, x: 'x'.repeat(40 + i * 7) })),
  });

/** A JWKS whose size changes on every write (1 to 40 keys), rewritten until `stop()`. */
function startWriter(store: S3ObjectStore): { stop(): Promise<number> } {
  let writing = true;
  let writes = 0;
  const done = (async () => {
    for (let i = 0; writing; i++) {
      await store.put({
        key: OBJECT_KEYS.JWKS,
        body: new TextEncoder().encode(jwksOf(1 + (i % 40))),
        contentType: 'application/json',
        cacheControl: 'public, max-age=1',
      });
      writes++;
    }
  })();
  return {
    async stop() {
      writing = false;
      await done;
      return writes;
    },
  };
}

/** Read until the window closes; each read's problem (if any) is collected. */
async function race(read: () => Promise<string | undefined>): Promise<{ reads: number; bad: string[] }> {
  const bad: string[] = [];
  let reads = 0;
  for (const end = Date.now() + WINDOW_MS; reads < READS && Date.now() < end; reads++) {
    const problem = await read();
    if (problem !== undefined) bad.push(problem);
  }
  return { reads, bad };
}

function jwksProblem(text: string): string | undefined {
  try {
    const doc = JSON.parse(text) as { keys?: unknown };
    return Array.isArray(doc.keys) && doc.keys.length > 0 ? undefined : `no keys: ${text.slice(0, 60)}`;
  } catch (err) {
    return `${(err as Error).message}: ${text.slice(0, 60)}`;
  }
}

describe('reads racing the publisher on the embedded S3', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let store: S3ObjectStore;
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [BUCKET] });
    store = new S3ObjectStore({ client: s3rverClient(s3.endpoint), bucket: BUCKET });
    await startWriter(store).stop();
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('returns every object whole under its own ETag when a GET lands during a PUT', async () => {
    const writer = startWriter(store);
    const { reads, bad } = await race(async () => {
      const object = await store.get(OBJECT_KEYS.JWKS);
      if (!object) return 'no object';
      const md5 = createHash('md5').update(object.body).digest('hex');
      if (object.etag !== `"${md5}"`) return `ETag ${object.etag} for a body whose MD5 is ${md5}`;
      return jwksProblem(new TextDecoder().decode(object.body));
    });
    const writes = await writer.stop();
    // The reads really raced writes.
    expect(reads).toBeGreaterThan(50);
    expect(writes).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  }, 60_000);

  it('serves a whole JWKS on every read of a regional route (no cache) while the object is rewritten', async () => {
    const edge = new EdgeServer({ store, port: 0, maxTtlMs: 0, defaultTtlMs: 0 });
    await edge.start();
    const writer = startWriter(store);
    try {
      const { reads, bad } = await race(async () => {
        const res = await fetch(`${edge.url}${PATHS.JWKS}`);
        const text = await res.text();
        return res.status === 200 ? jwksProblem(text) : `status ${res.status}`;
      });
      expect(reads).toBeGreaterThan(50);
      expect(bad).toEqual([]);
    } finally {
      await writer.stop();
      await edge.stop();
    }
  }, 60_000);
});
