/**
 * "Ready" means what a user can rely on: the edge serves a JWKS that contains the ACTIVE key (so a
 * token signed now verifies), not merely that the servers are listening.
 */
import { PATHS } from '../constants.ts';
import { JwksError } from '../errors.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function servedKids(url: string): Promise<string[]> {
  try {
    const res = await fetch(`${url}${PATHS.JWKS}`, { headers: { 'Cache-Control': 'no-cache' } });
    if (!res.ok) return [];
    const body = (await res.json()) as { keys?: Array<{ kid?: string }> };
    return (body.keys ?? []).flatMap((k) => (k.kid ? [k.kid] : []));
  } catch {
    return [];
  }
}

/**
 * Resolves once the JWKS served at every one of `urls` (the edge, and with several regions each
 * region's own endpoint) contains every kid `settledKids` names — the ACTIVE key and its standby — so
 * the first document a user fetches anywhere is the settled one. Throws after `timeoutMs`.
 */
export async function waitUntilReady(
  urls: readonly string[],
  settledKids: () => Promise<string[] | undefined>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = urls[0];
  while (Date.now() < deadline) {
    const expected = await settledKids().catch(() => undefined);
    if (expected) {
      pending = undefined;
      for (const url of urls) {
        const served = await servedKids(url);
        if (!expected.every((kid) => served.includes(kid))) {
          pending = url;
          break;
        }
      }
      if (pending === undefined) return;
    }
    await sleep(100);
  }
  throw new JwksError(
    'UPSTREAM',
    `no ACTIVE key was published at ${pending}${PATHS.JWKS} within ${timeoutMs} ms`,
  );
}
