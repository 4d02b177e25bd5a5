// Small conversions from decoded proto messages to what the CLI prints.

/** 'PROTOCOL_TCP' → 'tcp', 'XDP_MODE_NATIVE' → 'native'; an unknown enum number stays visible as a number. */
export function enumName(value: string | number | undefined | null, prefix: string): string {
  if (typeof value === 'number') return String(value);
  if (!value) return '';
  return (value.startsWith(prefix) ? value.slice(prefix.length) : value).toLowerCase();
}

/** uint64 fields arrive as decimal strings (longs: String); bigint keeps them exact. */
export function u64(value: string | number | undefined | null): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  return BigInt(value);
}

/** Groups of three digits for tables: 1234567 → "1,234,567" (exact, unlike unit suffixes). */
export function count(value: bigint | number): string {
  return value.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A rate for people: 1234567 → "1.23M", 999 → "999". */
export function rate(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let v = value;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? String(Math.round(v)) : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}${units[u]}`;
}

/** 3725 s → "1h02m05s". */
export function duration(seconds: bigint | number): string {
  let s = Number(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h${two(m)}m`;
  if (h > 0) return `${h}h${two(m)}m${two(s)}s`;
  if (m > 0) return `${m}m${two(s)}s`;
  return `${s}s`;
}

/** camelCase → snake_case, for names that come from TypeScript objects (decap counters). */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
