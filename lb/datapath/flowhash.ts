// The datapath's flow hash, reproduced in userspace (bpf/lb/maglev.h flow_hash): MurmurHash3
// x86_32 with the load-time seed over the words of the 40-byte flow key that can be non-zero —
// IPv6: all ten (src, dst, sport|dport, proto|family); IPv4: src[0], dst[0], sport|dport,
// proto|family — or, for client-persistence services, over the client's address alone (4 bytes for
// IPv4, 16 for IPv6). Lets the control plane and tests say exactly which Maglev slot — hence which
// backend — a new flow gets on every node sharing the seed.
import { murmur3_32 } from '../maglev/index.js';
import { FlowKey, type FlowKeyValue } from './layout.js';

/** The bytes flow_hash() feeds to MurmurHash3 for this flow. */
export function flowHashInput(flow: FlowKeyValue, clientPersistence: boolean): Buffer {
  const key = FlowKey.encode(flow);
  if (flow.family === 4) {
    if (clientPersistence) return key.subarray(0, 4);
    return Buffer.concat([key.subarray(0, 4), key.subarray(16, 20), key.subarray(32, 40)]);
  }
  return clientPersistence ? key.subarray(0, 16) : key;
}

export function flowHash(flow: FlowKeyValue, seed: number, clientPersistence: boolean): number {
  return murmur3_32(flowHashInput(flow, clientPersistence), seed >>> 0);
}

/**
 * Slot of a table of `tableSize` slots that a flow hash selects: floor(hash × size / 2^32), the
 * datapath's maglev_slot() (bpf/lb/maglev.h; multiply-shift, no divide). Exact in doubles: the
 * product is below 2^32 × 2^17 < 2^53 and the division is by a power of two.
 */
export function maglevSlot(hash: number, tableSize: number): number {
  return Math.floor(((hash >>> 0) * tableSize) / 0x1_0000_0000);
}
