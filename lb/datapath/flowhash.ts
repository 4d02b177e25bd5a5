// The datapath's flow hash, reproduced in userspace (bpf/lb/maglev.h flow_hash): MurmurHash3
// x86_32 with the load-time seed over the 40 key bytes of a flow, or over the client's 16 address
// bytes for client-persistence services. Lets the control plane and tests say exactly which Maglev
// slot — hence which backend — a new flow gets on every node sharing the seed.
import { murmur3_32 } from '../maglev/index.js';
import { FlowKey, type FlowKeyValue } from './layout.js';

export function flowHash(flow: FlowKeyValue, seed: number, clientPersistence: boolean): number {
  if (clientPersistence) return murmur3_32(flow.src.subarray(0, 16), seed >>> 0);
  return murmur3_32(FlowKey.encode(flow), seed >>> 0);
}

/**
 * Slot of a table of `tableSize` slots that a flow hash selects: floor(hash × size / 2^32), the
 * datapath's maglev_slot() (bpf/lb/maglev.h; multiply-shift, no divide). Exact in doubles: the
 * product is below 2^32 × 2^17 < 2^53 and the division is by a power of two.
 */
export function maglevSlot(hash: number, tableSize: number): number {
  return Math.floor(((hash >>> 0) * tableSize) / 0x1_0000_0000);
}
