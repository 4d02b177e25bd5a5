// JSON for scripts. Counters are uint64: they are written as exact JSON numbers (from bigint),
// never rounded through a double, so `jq` sees the kernel's value.

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/** Like JSON.stringify(value, null, indent), plus bigint as a bare number; undefined members are left out. */
export function toJson(value: JsonValue, indent = 2): string {
  return write(value, indent, '');
}

function write(v: JsonValue | undefined, indent: number, pad: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  const inner = pad + ' '.repeat(indent);
  const nl = indent > 0 ? '\n' : '';
  const sep = indent > 0 ? ': ' : ':';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${nl}${v.map((x) => inner + write(x, indent, inner)).join(`,${nl}`)}${nl}${pad}]`;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  return `{${nl}${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}${sep}${write(x, indent, inner)}`).join(`,${nl}`)}${nl}${pad}}`;
}
