// Console output shared by the benchmarks: aligned text tables and number formatting.

/** A plain-text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`.trimEnd()).join('\n');
}

/** A number with thousands separators and fixed digits; '-' for null or not finite. */
export const formatNumber = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Bytes in KiB and MiB, one decimal. */
export const kib = (bytes: number): number => Math.round((bytes / 1024) * 10) / 10;
export const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
