/**
 * The benchmarks' safety rail for load: a target must be a loopback address (a benchmark runs on a
 * developer's machine and must never load anything else). The rule is the local stack's own
 * (src/core/loopback.ts: localhost, *.localhost, 127.0.0.0/8, [::1]). The load comes from wrk (wrk.ts).
 */
import { isLoopbackHost } from '../../src/core/loopback.ts';

export function assertLoopback(url: string): void {
  if (!isLoopbackHost(new URL(url).host))
    throw new Error(`load generator: refusing non-loopback target ${url}`);
}
