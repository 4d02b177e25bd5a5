// Byte layouts of the decap program's maps (bpf/decap/structs.h). The only TS code that knows
// them; change both files together.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIp, parseIp } from '../model/index.js';

const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

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

/** decap_addrs key: IPv6 as is, IPv4 as ::ffff:a.b.c.d. Throws naming the bad address. */
export function encodeAddrKey(address: string): Buffer {
  const zoneless = address.split('%')[0]!;
  if (!isIPv4(zoneless) && !isIPv6(zoneless)) throw new Error(`decap: "${address}" is not an IPv4 or IPv6 address`);
  const { family, bytes } = parseIp(zoneless, 'address');
  return family === 6 ? Buffer.from(bytes) : Buffer.concat([V4_MAPPED_PREFIX, bytes]);
}

export function decodeAddrKey(key: Buffer): string {
  return formatIp(key.subarray(0, V4_MAPPED_PREFIX.length).equals(V4_MAPPED_PREFIX) ? key.subarray(12) : key);
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
