// The datapath's flow hash, reproduced in userspace (bpf/lb/hash.h, maglev.h flow_hash): the flow
// key's 64-bit little-endian words — IPv6 all five; IPv4 two, (src[0] << 32 | dst[0]) and the
// word at byte 32 (dport, proto, family, sport) — the first XOR the load-time seed, each times K1
// or K2 (alternating), summed mod 2^64. Client-persistence services hash the client address alone
// (IPv4: src[0]; IPv6: its two words). flowHash (one more xor-shift and multiply) places the flow
// in Maglev (maglevSlot) and varies its outer source and IPv6 flow label; the flow table takes its
// bucket from the 64-bit hash's top bits and its tag from bits 16–47. Lets the control plane and tests say exactly which Maglev slot — hence
// which backend — a new flow gets on every node sharing the seed.
import { FlowKey, type FlowKeyValue } from './layout.js';

const K1 = 0x9e3779b97f4a7c15n;
const K2 = 0xc2b2ae3d27d4eb4fn;
const M64 = (1n << 64n) - 1n;

function mulHash(words: bigint[], seed: number): bigint {
  let h = 0n;
  words.forEach((w, i) => {
    h += (i === 0 ? w ^ BigInt(seed >>> 0) : w) * (i % 2 ? K2 : K1);
  });
  return h & M64;
}

/** The 64-bit flow hash of a flow-table key (a FlowKey encoding). */
export function flowHash64(key: Buffer, seed: number, clientPersistence: boolean): bigint {
  if (key[35] === 4) {
    const src = BigInt(key.readUInt32LE(0));
    if (clientPersistence) return mulHash([src], seed);
    return mulHash([(src << 32n) | BigInt(key.readUInt32LE(16)), key.readBigUInt64LE(32)], seed);
  }
  const words = [0, 8, 16, 24, 32].map((at) => key.readBigUInt64LE(at));
  return mulHash(clientPersistence ? words.slice(0, 2) : words, seed);
}

/** The 32-bit hash that places a flow and varies its outer source and flow label (flow_hash32):
 *  the 64-bit hash h, (h ^ (h >> 32)) × K2, top 32 bits. */
export function flowHash(flow: FlowKeyValue, seed: number, clientPersistence: boolean): number {
  const h = flowHash64(FlowKey.encode(flow), seed, clientPersistence);
  return Number((((h ^ (h >> 32n)) * K2) & M64) >> 32n);
}

/**
 * Slot of a table of `tableSize` slots that a flow hash selects: floor(hash × size / 2^32), the
 * datapath's maglev_slot() (bpf/lb/maglev.h; multiply-shift, no divide). Exact in doubles: the
 * product is below 2^32 × 2^17 < 2^53 and the division is by a power of two.
 */
export function maglevSlot(hash: number, tableSize: number): number {
  return Math.floor(((hash >>> 0) * tableSize) / 0x1_0000_0000);
}

/** Where a flow-table key lives: its bucket (the hash's top log2(buckets) bits) and tag (bits 16–47, | 1). */
export function flowBucketHash(key: Buffer, seed: number, buckets: number): { bucket: number; tag: number } {
  const h = flowHash64(key, seed, false);
  return { bucket: Number(h >> BigInt(64 - Math.log2(buckets))), tag: Number(((h >> 16n) & 0xffffffffn) | 1n) >>> 0 };
}
