/** Plain-text tables for the benchmark output: text columns left-aligned, numbers right-aligned. */

export type Cell = string | number | undefined;

/** A number with a fixed count of decimals; '—' for undefined or NaN. */
export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `leftColumns`: how many leading (text) columns are left-aligned; the rest are numbers. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  leftColumns = 1,
): string {
  const text = rows.map((row) => header.map((_, i) => String(row[i] ?? '')));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
