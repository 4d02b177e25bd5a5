// Byte layouts of the decap program's maps (bpf/decap/structs.h), declared once with libbpf-ts's
// struct codec. The only TS code that knows them; a test compares each struct with the BTF of
// xlb_decap.o.
import { isIPv4, isIPv6 } from 'node:net';
import { bytes, pad, struct, u32, u64, u8, type Struct } from '../../bpf/libbpf-ts/index.js';
import { formatIp, parseIp, parsePrefix, ValidationError } from '../model/index.js';

const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** decap_addrs key: one local address (IPv4 stored IPv4-mapped). */
export const DecapAddrKey = struct('decap_addr_key', { addr: bytes(16) });
/** decap_addrs value: reserved for per-address options; userspace writes flags 1. */
export const DecapAddrVal = struct('decap_addr_val', { flags: u32 });
/** decap_stats value, per CPU. bytes = outer packet length as received. */
export const DecapCounter = struct('decap_counter', { packets: u64, bytes: u64 });
/** decap_sources key (LPM trie): prefixlen = 8 (the family byte) + the CIDR's length. */
export const DecapSourceKey = struct('decap_source_key', { prefixlen: u32, family: u8, addr: bytes(16), pad: pad(3) });
/** decap_sources value: reserved; userspace writes flags 1. */
export const DecapSourceVal = struct('decap_source_val', { flags: u32 });

/** Every struct declared here: the BTF layout test checks each one. */
export const DECAP_STRUCTS: readonly Struct<unknown>[] = [DecapAddrKey, DecapAddrVal, DecapCounter, DecapSourceKey, DecapSourceVal];

/** decap_stats indexes, in enum decap_stat order. */
export const DECAP_COUNTER_NAMES = [
  'ipip',        // IPv4 in IPv4
  'ip6ip6',      // IPv6 in IPv6
  'ip4in6',      // IPv4 in IPv6
  'ip6in4',      // IPv6 in IPv4
  'notLocal',    // tunnel packet whose outer destination is not ours: dropped
  'malformed',   // bad outer/inner header or outer fragment: dropped
  'failed',      // a resize helper failed: dropped
  'sourceDenied',  // outer source not in the allow-list: dropped
  'innerTunnel',   // inner packet is itself a tunnel (or hides behind IPv6 extension headers): dropped
  'innerNotLocal', // inner destination is not this host's (the host would forward it): dropped
] as const;
export type DecapCounterName = (typeof DECAP_COUNTER_NAMES)[number];
export type DecapCounters = Record<DecapCounterName, { packets: number; bytes: number }>;

/** decap_addrs key: IPv6 as is, IPv4 as ::ffff:a.b.c.d. Throws naming the bad address. */
export function encodeAddrKey(address: string): Buffer {
  const zoneless = address.split('%')[0]!;
  if (!isIPv4(zoneless) && !isIPv6(zoneless)) throw new Error(`decap: "${address}" is not an IPv4 or IPv6 address`);
  const { family, bytes: raw } = parseIp(zoneless, 'address');
  return DecapAddrKey.encode({ addr: family === 6 ? Buffer.from(raw) : Buffer.concat([V4_MAPPED_PREFIX, raw]) });
}

export function decodeAddrKey(key: Buffer): string {
  const { addr } = DecapAddrKey.decode(key);
  return formatIp(addr.subarray(0, V4_MAPPED_PREFIX.length).equals(V4_MAPPED_PREFIX) ? addr.subarray(12) : addr);
}

/** The two decap_sources entries that accept every outer source. */
export const ANY_SOURCE = ['0.0.0.0/0', '::/0'] as const;

/** decap_sources key of a CIDR (a bare address means /32 or /128). Throws naming the bad one. */
export function encodeSourceKey(cidr: string): Buffer {
  let prefix;
  try {
    prefix = parsePrefix(cidr, 'allow-source', { allowBare: true });
  } catch (e) {
    if (e instanceof ValidationError) throw new Error(`decap: ${e.message}`);
    throw e;
  }
  const addr = Buffer.alloc(16);
  addr.set(prefix.address.bytes, 0);
  return DecapSourceKey.encode({ prefixlen: 8 + prefix.prefixLength, family: prefix.address.family, addr });
}

/** The CIDR a decap_sources key stands for, canonical ("10.2.0.0/16", "fd00:2::/32"). */
export function decodeSourceKey(key: Buffer): string {
  const k = DecapSourceKey.decode(key);
  const len = k.prefixlen - 8;
  return `${formatIp(k.family === 4 ? k.addr.subarray(0, 4) : k.addr)}/${len}`;
}

export function counterKey(index: number): Buffer {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(index, 0);
  return k;
}

/** One decap_stats slot summed over CPUs, as numbers. */
export function sumCounter(perCpu: readonly Buffer[]): { packets: number; bytes: number } {
  const c = DecapCounter.sum(perCpu);
  return { packets: Number(c.packets), bytes: Number(c.bytes) };
}

export function zeroCounters(): DecapCounters {
  return Object.fromEntries(DECAP_COUNTER_NAMES.map((n) => [n, { packets: 0, bytes: 0 }])) as DecapCounters;
}
