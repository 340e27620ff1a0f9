/**
 * The benchmarks' safety rail for load: a target must be a loopback address (a benchmark runs on a
 * developer's machine and must never load anything else). The load itself comes from wrk (wrk.ts).
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`load generator: refusing non-loopback target ${url}`);
}
