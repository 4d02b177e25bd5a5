// Plain aligned columns for people, ipvsadm-style: no borders, two spaces between columns,
// numbers right-aligned, trailing blanks trimmed.

export type Align = 'left' | 'right';

export interface Column {
  align?: Align;
}

/** Renders rows of cells; `columns[i].align` applies to column i (default left). */
export function renderTable(rows: readonly (readonly string[])[], columns: readonly Column[] = []): string {
  const width: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (width[i] = Math.max(width[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (columns[i]?.align === 'right' ? cell.padStart(width[i]!) : cell.padEnd(width[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** "key  value" lines with the keys aligned. */
export function renderPairs(pairs: readonly (readonly [string, string])[]): string {
  return renderTable(pairs.map(([k, v]) => [k, v]));
}
