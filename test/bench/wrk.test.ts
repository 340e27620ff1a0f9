import { describe, expect, it } from 'vitest';
import { parseWrk } from '../../bench/lib/wrk.ts';

/** wrk 4.1's report with --latency, as the Debian package prints it. */
const REPORT = `Running 5s test @ http://127.0.0.1:41234/.well-known/jwks.json
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms  320.00us   9.80ms   91.00%
    Req/Sec    26.10k     1.20k   28.00k    80.00%
  Latency Distribution
     50%    1.15ms
     75%    1.30ms
     90%    1.50ms
     99%  850.00us
  130000 requests in 5.00s, 180.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 1000
Requests/sec:  26000.00
Transfer/sec:     36.00MB
`;

describe('parseWrk', () => {
  it('counts only 2xx/3xx answers per second, and reads percentiles in any unit', () => {
    const r = parseWrk(REPORT, 5_000);
    expect(r.requests).toBe(130_000);
    expect(r.non2xx).toBe(1_000);
    expect(r.socketErrors).toBe(3);
    expect(r.reqPerSec).toBe(25_800);
    expect(r.latencyMs.p50).toBeCloseTo(1.15);
    expect(r.latencyMs.p99).toBeCloseTo(0.85);
  });

  it('reports no errors when wrk printed no error lines', () => {
    const clean = REPORT.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    const r = parseWrk(clean, 5_000);
    expect([r.non2xx, r.socketErrors, r.reqPerSec]).toEqual([0, 0, 26_000]);
  });
});
