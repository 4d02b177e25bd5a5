// The flow table (bpf/lb/maps.h `flows`, bpf/lb/flow.h) as the control plane sees it: the
// datapath's buckets mapped into this process, read to list and find entries and written to clear
// them. Reads race with the datapath's writes: an entry caught half written is skipped or shows
// mixed fields, as the datapath itself would see it.
import type { BpfMap, MapMapping } from '../../bpf/libbpf-ts/index.js';
import { flowBucketHash } from './flowhash.js';
import { FLOW_WAYS, FlowBucket, FlowEntry, FlowKey, type FlowEntryValue } from './layout.js';

export class FlowTable {
  readonly #mapping: MapMapping;
  readonly #bytes: Buffer;
  readonly buckets: number;

  constructor(
    map: BpfMap,
    readonly seed: number,
  ) {
    this.buckets = map.maxEntries;
    this.#mapping = map.mmap();
    this.#bytes = Buffer.from(this.#mapping.buffer, 0, this.buckets * FlowBucket.size);
  }

  /** Entries in use (tag ≠ 0). */
  *entries(): IterableIterator<FlowEntryValue> {
    for (let at = 0; at < this.#bytes.length; at += FlowEntry.size) {
      if (this.#tagAt(at) !== 0) yield FlowEntry.decode(this.#bytes, at);
    }
  }

  count(): number {
    let n = 0;
    for (let at = 0; at < this.#bytes.length; at += FlowEntry.size) if (this.#tagAt(at) !== 0) n++;
    return n;
  }

  /** The entry of a flow-table key (a FlowKey encoding), if the table holds one. */
  find(key: Buffer): FlowEntryValue | undefined {
    const h = flowBucketHash(key, this.seed, this.buckets);
    const tag = h.tag;
    const bucket = h.bucket * FlowBucket.size;
    for (let w = 0; w < FLOW_WAYS; w++) {
      const at = bucket + w * FlowEntry.size;
      if (this.#tagAt(at) === tag && this.#bytes.subarray(at, at + FlowKey.size).equals(key)) return FlowEntry.decode(this.#bytes, at);
    }
    return undefined;
  }

  /** Empties every way; returns how many were in use. */
  clear(): number {
    const n = this.count();
    this.#bytes.fill(0);
    return n;
  }

  close(): void {
    this.#mapping.unmap();
  }

  #tagAt(entryOffset: number): number {
    return this.#bytes.readUInt32LE(entryOffset + TAG_OFFSET);
  }
}

const TAG_OFFSET = FlowEntry.fields.find((f) => f.name === 'tag')!.offset;
