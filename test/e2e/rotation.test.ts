/**
 * Issue #3's headline promise: across automatic rotations, verifiers that honour the advertised
 * max-age never fail, every new kid is served for the prepublish lead before its first token, and
 * every retired kid stays served for the retention after its last one. Durations are compressed to
 * seconds; the policy rules still hold (lead ≥ 2 × max-age + CDN TTL, retention ≥ ttl + skew + cache).
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type StackProcess, startStack } from './stack-process.ts';
import { JwksPoller, joseVerifier, jwksRsaVerifier, type Verifier } from './verifiers.ts';

const S = 1000;
const POLICY = {
  JWKS_MAX_AGE: '1s',
  PREPUBLISH_LEAD: '3s',
  ROTATION_PERIOD: '6s',
  MAX_TOKEN_TTL: '2s',
  CLOCK_SKEW: '1s',
  SIGNER_CACHE_TTL: '1s',
  RETENTION: '5s',
};
const LEAD = 3 * S;
const RETENTION = 5 * S;
const MAX_AGE = 1 * S;
/** The poller sees the edge every POLL ms: a sighting can lag the publication by that much (and a fetch). */
const POLL = 100;
const TOLERANCE = POLL + 200;
const ROTATIONS = 3;

interface Signed {
  token: string;
  kid: string;
  /** When the CLI was started: the signature is no earlier (the conservative bound for the lead). */
  startedAt: number;
  /** When the CLI returned: the signature is no later (the conservative bound for retention). */
  at: number;
  exp: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('automatic rotation on the local stack, checked by real verifiers', () => {
  let stack: StackProcess;
  let poller: JwksPoller;
  const signed: Signed[] = [];
  const failures: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: POLICY });
    const jwksUrl = `${stack.url}/.well-known/jwks.json`;
    poller = new JwksPoller(jwksUrl, POLL);
    poller.start();
    const verifiers: Verifier[] = [joseVerifier(jwksUrl, MAX_AGE), jwksRsaVerifier(jwksUrl, MAX_AGE)];
    const verifyAll = async (s: Signed, when: string) => {
      for (const v of verifiers) {
        try {
          await v.verify(s.token);
        } catch (err) {
          failures.push(`${v.name} rejected a ${s.kid} token ${when}: ${(err as Error).message}`);
        }
      }
    };
    const later: Promise<void>[] = [];
    const deadline = Date.now() + 60 * S;
    while (new Set(signed.map((s) => s.kid)).size < ROTATIONS + 1 && Date.now() < deadline) {
      const startedAt = Date.now();
      const run = await cli(stack.dataDir, ['sign', '--json', '--ttl', '2s', '--claims', '{"sub":"e2e"}']);
      if (run.code !== 0) {
        failures.push(`sign failed (${run.code}): ${run.stderr}`);
        continue;
      }
      const { token } = JSON.parse(run.stdout) as { token: string };
      const exp = (decodeJwt(token).exp ?? 0) * S;
      const s: Signed = {
        token,
        kid: String(decodeProtectedHeader(token).kid),
        startedAt,
        at: Date.now(),
        exp,
      };
      signed.push(s);
      await verifyAll(s, 'right after signing');
      // And again just before it expires, after a rotation may have retired its key meanwhile.
      later.push(
        sleep(Math.max(0, exp - 800 - Date.now())).then(() => verifyAll(s, 'just before it expired')),
      );
    }
    await Promise.all(later);
    // Keep watching until every retired kid has had its retention.
    await sleep(RETENTION + 2 * S);
    await poller.stop();
  }, 180_000);

  afterAll(async () => {
    await poller?.stop();
    await stack?.stop();
  });

  it(`rotates at least ${ROTATIONS} times by itself`, () => {
    expect(new Set(signed.map((s) => s.kid)).size).toBeGreaterThanOrEqual(ROTATIONS + 1);
  });

  it('has zero failed verifications at jose and jwks-rsa', () => {
    expect(failures).toEqual([]);
    expect(signed.length).toBeGreaterThan(ROTATIONS * 2);
  });

  it('served every new kid for at least the prepublish lead before its first token', () => {
    const kids = [...new Set(signed.map((s) => s.kid))];
    // The first key of a deployment is the one exception (design §3): it had no predecessor.
    for (const kid of kids.slice(1)) {
      const firstToken = Math.min(...signed.filter((s) => s.kid === kid).map((s) => s.startedAt));
      const seen = poller.sightings.get(kid);
      expect(seen, kid).toBeDefined();
      expect(firstToken - (seen?.firstSeen ?? Number.POSITIVE_INFINITY), kid).toBeGreaterThanOrEqual(
        LEAD - TOLERANCE,
      );
    }
  });

  it('kept every retired kid served for at least the retention after its last token', () => {
    const kids = [...new Set(signed.map((s) => s.kid))];
    for (const kid of kids.slice(0, -1)) {
      const lastToken = Math.max(...signed.filter((s) => s.kid === kid).map((s) => s.at));
      const seen = poller.sightings.get(kid);
      expect(seen, kid).toBeDefined();
      expect((seen?.lastSeen ?? 0) - lastToken, kid).toBeGreaterThanOrEqual(RETENTION - TOLERANCE);
    }
  });

  it('eventually stops serving expired kids', () => {
    const kids = [...new Set(signed.map((s) => s.kid))];
    const first = poller.sightings.get(kids[0] ?? '');
    const last = Math.max(...[...poller.sightings.values()].map((s) => s.lastSeen));
    expect(first && first.lastSeen < last).toBe(true);
  });
});
