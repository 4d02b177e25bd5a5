// Byte layouts of the decap program's maps (bpf/lib/decap_structs.h). The only TS code that knows
// them; change both files together.
import { isIPv4, isIPv6 } from 'node:net';

/** decap_stats indexes, in enum decap_stat order. */
export const DECAP_COUNTER_NAMES = [
  'ipip',        // IPv4 in IPv4
  'ip6ip6',      // IPv6 in IPv6
  'ip4in6',      // IPv4 in IPv6
  'ip6in4',      // IPv6 in IPv4
  'notLocal',    // tunnel packet whose outer destination is not ours: dropped
  'malformed',   // bad outer/inner header or outer fragment: dropped
  'failed',      // a resize helper failed: dropped
] as const;
export type DecapCounterName = (typeof DECAP_COUNTER_NAMES)[number];
export type DecapCounters = Record<DecapCounterName, { packets: number; bytes: number }>;

export const ADDR_KEY_SIZE = 16;
export const ADDR_VALUE_SIZE = 4;
export const COUNTER_VALUE_SIZE = 16;

function parseIPv6(text: string): Buffer {
  const out = Buffer.alloc(16);
  let s = text;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes the last two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const groups = rest === undefined
    ? headGroups
    : [...headGroups, ...Array(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** decap_addrs key: IPv6 as is, IPv4 as ::ffff:a.b.c.d. Throws naming the bad address. */
export function encodeAddrKey(address: string): Buffer {
  const zoneless = address.split('%')[0]!;
  if (isIPv4(zoneless)) return parseIPv6(`::ffff:${zoneless}`);
  if (isIPv6(zoneless)) return parseIPv6(zoneless);
  throw new Error(`decap: "${address}" is not an IPv4 or IPv6 address`);
}

export function decodeAddrKey(key: Buffer): string {
  if (key.subarray(0, 10).every((b) => b === 0) && key[10] === 0xff && key[11] === 0xff) {
    return `${key[12]}.${key[13]}.${key[14]}.${key[15]}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => key.readUInt16BE(i * 2));
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

export function encodeAddrValue(): Buffer {
  const v = Buffer.alloc(ADDR_VALUE_SIZE);
  v.writeUInt32LE(1, 0);
  return v;
}

export function counterKey(index: number): Buffer {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(index, 0);
  return k;
}

/** Sums one decap_counter over all CPUs. */
export function sumPerCpuCounter(perCpu: Buffer[]): { packets: number; bytes: number } {
  let packets = 0n;
  let bytes = 0n;
  for (const v of perCpu) {
    packets += v.readBigUInt64LE(0);
    bytes += v.readBigUInt64LE(8);
  }
  return { packets: Number(packets), bytes: Number(bytes) };
}

export function zeroCounters(): DecapCounters {
  return Object.fromEntries(DECAP_COUNTER_NAMES.map((n) => [n, { packets: 0, bytes: 0 }])) as DecapCounters;
}
