// BPF ring buffer consumption on the event loop (drained in C, delivered in batches).
import type { BpfMap } from './map.js';
import { handleOf, handles, native } from './native.js';

export interface RingRecords extends Iterable<Buffer> {
  readonly count: number;
  /** all records back to back */
  readonly data: Buffer;
  /** record i is data[offsets[i], offsets[i+1]) */
  readonly offsets: Uint32Array;
  /** record i (a view into data, valid as long as you keep the batch) */
  get(i: number): Buffer;
}

class RingBatch implements RingRecords {
  constructor(readonly data: Buffer, readonly offsets: Uint32Array, readonly count: number) {}

  get(i: number): Buffer {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`record ${i} out of range [0, ${this.count})`);
    return this.data.subarray(this.offsets[i], this.offsets[i + 1]);
  }

  *[Symbol.iterator](): Iterator<Buffer> {
    for (let i = 0; i < this.count; i++) yield this.data.subarray(this.offsets[i], this.offsets[i + 1]);
  }
}

export interface RingBufferOptions {
  /** per-CPU array, key u32 0, value u64: records the BPF side failed to reserve/output */
  lostCounter?: BpfMap;
  /** most records per onBatch call (default 16384) */
  maxBatch?: number;
}

/**
 * Consumes a BPF ring buffer on the event loop: libuv polls the ring's epoll fd, C drains it and
 * calls onBatch once per batch. An open consumer keeps the process alive (see unref()).
 */
export class RingBufferConsumer {
  readonly #lostCounter: BpfMap | undefined;
  #closed = false;

  constructor(map: BpfMap, onBatch: (records: RingRecords) => void, o: RingBufferOptions = {}) {
    if (typeof onBatch !== 'function') throw new TypeError('onBatch must be a function');
    if (o.lostCounter && (!o.lostCounter.isPerCpu || o.lostCounter.valueSize !== 8 || o.lostCounter.keySize !== 4)) {
      throw new TypeError(`lostCounter: map "${o.lostCounter.name}" must be a per-CPU array with u32 keys and u64 values`);
    }
    this.#lostCounter = o.lostCounter;
    const h = native.ringNew(handleOf(map), (data, offsets, count) => onBatch(new RingBatch(data, offsets, count)),
      o.maxBatch ?? null);
    handles.set(this, h);
  }

  /** records delivered to onBatch so far */
  get delivered(): number {
    return native.ringStats(handleOf(this)).delivered;
  }

  /** onBatch calls so far */
  get batches(): number {
    return native.ringStats(handleOf(this)).batches;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Records the kernel side could not deliver (sum of lostCounter over CPUs; 0 without one). */
  lost(): number {
    if (!this.#lostCounter) return 0;
    const perCpu = this.#lostCounter.lookupPerCpu(Buffer.alloc(4));
    return (perCpu ?? []).reduce((sum, v) => sum + Number(v.readBigUInt64LE(0)), 0);
  }

  /** Consumes what is in the ring now, synchronously (batches go to onBatch); returns the count. */
  drain(): number {
    return native.ringDrain(handleOf(this));
  }

  /** Lets the process exit while the consumer is open. */
  unref(): this {
    native.ringRef(handleOf(this), false);
    return this;
  }

  ref(): this {
    native.ringRef(handleOf(this), true);
    return this;
  }

  /** Stops polling and frees the ring mapping. Idempotent; callable from inside onBatch. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.ringClose(handleOf(this));
  }
}
