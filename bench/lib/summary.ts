/** The summary table of `npm run bench`: one line per metric, ours vs the baseline, and the verdict. */
import { formatTable } from './table.ts';

/** ERROR: the measurement itself failed (counted as a crash). */
export type Verdict = 'PASS' | 'FAIL' | 'info' | 'ERROR';

export interface SummaryRow {
  readonly benchmark: string;
  readonly metric: string;
  readonly ours: string;
  readonly baseline: string;
  /** As the target defines it (e.g. ours ÷ baseline req/s; signer ÷ crypto time per signature). */
  readonly ratio: string;
  readonly target: string;
  readonly verdict: Verdict;
}

export const verdict = (pass: boolean): Verdict => (pass ? 'PASS' : 'FAIL');

export function formatSummary(rows: readonly SummaryRow[]): string {
  return formatTable(
    ['benchmark', 'metric', 'ours', 'baseline', 'ratio', 'target', 'result'],
    rows.map((r) => [r.benchmark, r.metric, r.ours, r.baseline, r.ratio, r.target, r.verdict]),
    2,
  );
}
