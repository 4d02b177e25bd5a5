// Maps: create / open / look up / update, per-CPU values, batches and map-in-map swaps.
import { KernelObject } from './kernel-object.js';
import { asBuffer, handleOf, native, packedBytes, requireBuffer, type Handle } from './native.js';
import type { BpfProgram } from './program.js';

export type MapType =
  | 'hash' | 'array' | 'prog_array' | 'perf_event_array' | 'percpu_hash' | 'percpu_array' | 'stack_trace'
  | 'cgroup_array' | 'lru_hash' | 'lru_percpu_hash' | 'lpm_trie' | 'array_of_maps' | 'hash_of_maps'
  | 'devmap' | 'sockmap' | 'cpumap' | 'xskmap' | 'sockhash' | 'queue' | 'stack' | 'devmap_hash'
  | 'ringbuf' | 'bloom_filter' | 'user_ringbuf';

export type UpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: 0, noexist: 1, exist: 2 };

function updateFlag(f: UpdateFlag | undefined): number {
  if (f === undefined) return 0;
  const v = UPDATE_FLAGS[f];
  if (v === undefined) throw new TypeError(`flags must be 'any', 'noexist' or 'exist', got ${String(f)}`);
  return v;
}

/** Map creation flags (BPF_F_*) most often needed. */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  MMAPABLE: 1 << 10,
  INNER_MAP: 1 << 12,
} as const;

export interface MapCreateOptions {
  type: MapType;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name?: string;
  flags?: number;
  /** template for array_of_maps / hash_of_maps */
  innerMap?: BpfMap;
}

export class BpfMap extends KernelObject {
  readonly name: string;
  readonly type: MapType;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly id: number;
  readonly flags: number;
  readonly isPerCpu: boolean;
  #stride: number;

  /** @internal Use BpfMap.create/openPinned/fromId or BpfObject.map. */
  constructor(h: Handle) {
    super(h);
    const i = native.mapInfo(h);
    this.name = i.name;
    this.type = i.type as MapType;
    this.keySize = i.keySize;
    this.valueSize = i.valueSize;
    this.maxEntries = i.maxEntries;
    this.id = i.id;
    this.flags = i.flags;
    this.isPerCpu = i.perCpu;
    this.#stride = i.valueStride;
  }

  /** Number of possible CPUs: the length of every per-CPU value array. */
  static readonly possibleCpus: number = native.possibleCpus();

  static create(o: MapCreateOptions): BpfMap {
    if (typeof o !== 'object' || o === null) throw new TypeError('BpfMap.create: options object required');
    const inner = o.innerMap ? handleOf(o.innerMap) : null;
    return new BpfMap(native.mapCreate(o.type, o.keySize, o.valueSize, o.maxEntries, o.name ?? null, o.flags ?? 0, inner));
  }

  static openPinned(path: string): BpfMap {
    return new BpfMap(native.openPinned(path, 'map'));
  }

  static fromId(id: number): BpfMap {
    return new BpfMap(native.fromId('map', id));
  }

  #key(key: Buffer | Uint8Array | undefined | null, what = 'key'): Buffer | null {
    if (key === undefined || key === null) {
      if (this.keySize === 0) return null;
      throw new TypeError(`${what}: map "${this.name}" needs a ${this.keySize}-byte key`);
    }
    requireBuffer(key, what);
    return asBuffer(key);
  }

  #notPerCpu(op: string): void {
    if (this.isPerCpu) throw new TypeError(`map "${this.name}" is per-CPU: use ${op}PerCpu()`);
  }

  /** The value at `key`, or undefined if absent. Not for per-CPU maps (see lookupPerCpu). For
   * map-in-maps and program arrays the value is the inner object's id (u32). */
  lookup(key: Buffer | Uint8Array): Buffer | undefined {
    this.#notPerCpu('lookup');
    return native.mapLookup(handleOf(this), this.#key(key));
  }

  /** One valueSize Buffer per possible CPU (views into one allocation), or undefined if absent. */
  lookupPerCpu(key: Buffer | Uint8Array): Buffer[] | undefined {
    if (!this.isPerCpu) throw new TypeError(`map "${this.name}" is not per-CPU: use lookup()`);
    const raw = native.mapLookup(handleOf(this), this.#key(key));
    return raw && this.#splitPerCpu(raw);
  }

  #splitPerCpu(raw: Buffer): Buffer[] {
    const slot = this.#stride / BpfMap.possibleCpus;
    const out: Buffer[] = [];
    for (let cpu = 0; cpu < BpfMap.possibleCpus; cpu++) out.push(raw.subarray(cpu * slot, cpu * slot + this.valueSize));
    return out;
  }

  /** Packs a per-CPU value: an array (one valueSize Buffer per CPU) or one Buffer for all CPUs. */
  #packValue(value: Buffer | Uint8Array | readonly (Buffer | Uint8Array)[], what: string): Buffer {
    if (!this.isPerCpu) {
      requireBuffer(value, what);
      return asBuffer(value);
    }
    const cpus = BpfMap.possibleCpus;
    const slot = this.#stride / cpus;
    const perCpu = Array.isArray(value) ? value : Array<Buffer | Uint8Array>(cpus).fill(value as Buffer);
    if (perCpu.length !== cpus) {
      throw new TypeError(`${what}: per-CPU map "${this.name}" needs ${cpus} values (one per possible CPU), got ${perCpu.length}`);
    }
    const packed = Buffer.alloc(this.#stride);
    perCpu.forEach((v, cpu) => {
      requireBuffer(v, `${what}[${cpu}]`);
      if (v.length !== this.valueSize) {
        throw new TypeError(`${what}[${cpu}]: map "${this.name}" has ${this.valueSize}-byte values, got ${v.length} bytes`);
      }
      packed.set(v, cpu * slot);
    });
    return packed;
  }

  /** Per-CPU maps take one Buffer per CPU, or a single Buffer written to every CPU. */
  update(key: Buffer | Uint8Array, value: Buffer | Uint8Array | readonly (Buffer | Uint8Array)[], flags?: UpdateFlag): void {
    const k = this.#key(key);
    native.mapUpdate(handleOf(this), k, this.#packValue(value, 'value'), updateFlag(flags));
  }

  /** Map-in-map: atomically points `key` at `inner` (a program for program arrays). */
  setInner(key: Buffer | Uint8Array, inner: BpfMap | BpfProgram): void {
    native.mapSetInner(handleOf(this), this.#key(key) as Buffer, handleOf(inner));
  }

  /**
   * setInner for many keys in one BPF_MAP_UPDATE_BATCH: keys[i] → inners[i]. The kernel waits for
   * running programs (an RCU grace period, milliseconds on kernels before 6.19) once per call
   * instead of once per element. Each element is still swapped atomically. Element by element
   * where the kernel has no batch update for the map type; elements before a failing one stay set
   * (the message names the element). Argument errors (TypeError) change nothing.
   */
  setInnerBatch(keys: readonly (Buffer | Uint8Array)[], inners: readonly (BpfMap | BpfProgram)[]): void {
    if (!Array.isArray(inners) || inners.length !== keys.length) throw new TypeError(`inners must be an array as long as keys (${keys.length})`);
    if (keys.length === 0) return;
    native.mapSetInnerBatch(handleOf(this), this.#packKeys(keys), inners.map((m) => handleOf(m)));
  }

  /** true if the key existed and was deleted, false if it was absent. */
  delete(key: Buffer | Uint8Array): boolean {
    return native.mapDelete(handleOf(this), this.#key(key));
  }

  /** The key after `key` (the first key without one); undefined at the end. */
  nextKey(key?: Buffer | Uint8Array): Buffer | undefined {
    const k = key === undefined ? null : this.#key(key);
    return native.mapNextKey(handleOf(this), k);
  }

  *keys(): IterableIterator<Buffer> {
    for (let k = this.nextKey(); k !== undefined; k = this.nextKey(k)) yield k;
  }

  /** Whole map in as few syscalls as the kernel allows (element-wise where it has no batch ops). */
  lookupBatch(): { keys: Buffer[]; values: Buffer[] } {
    this.#notPerCpu('lookupBatch');
    const r = native.mapLookupBatch(handleOf(this));
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (let i = 0; i < r.count; i++) {
      keys.push(r.keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      values.push(r.values.subarray(i * this.#stride, (i + 1) * this.#stride));
    }
    return { keys, values };
  }

  /**
   * lookupBatch without a Buffer per element: keys and values packed (element i's value at
   * i * valueStride). For scanning a large, mostly empty array map (an adopt reads every slot).
   */
  lookupBatchPacked(): { count: number; keys: Buffer; values: Buffer; valueStride: number } {
    this.#notPerCpu('lookupBatchPacked');
    const r = native.mapLookupBatch(handleOf(this));
    return { count: r.count, keys: r.keys, values: r.values, valueStride: this.#stride };
  }

  /** lookupBatch for per-CPU maps: values[i][cpu]. */
  lookupBatchPerCpu(): { keys: Buffer[]; values: Buffer[][] } {
    if (!this.isPerCpu) throw new TypeError(`map "${this.name}" is not per-CPU: use lookupBatch()`);
    const r = native.mapLookupBatch(handleOf(this));
    const keys: Buffer[] = [];
    const values: Buffer[][] = [];
    for (let i = 0; i < r.count; i++) {
      keys.push(r.keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      values.push(this.#splitPerCpu(r.values.subarray(i * this.#stride, (i + 1) * this.#stride)));
    }
    return { keys, values };
  }

  #packKeys(keys: readonly (Buffer | Uint8Array)[]): Buffer {
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array of Buffers');
    const packed = Buffer.alloc(keys.length * this.keySize);
    keys.forEach((k, i) => {
      requireBuffer(k, `keys[${i}]`);
      if (k.length !== this.keySize) {
        throw new TypeError(`keys[${i}]: map "${this.name}" has ${this.keySize}-byte keys, got ${k.length} bytes`);
      }
      packed.set(k, i * this.keySize);
    });
    return packed;
  }

  /** Updates keys[i] → values[i]. If the kernel fails on element i, elements before i stay updated
   * (the error message names i). Per-CPU maps take values[i] as one Buffer per CPU (or one for all). */
  updateBatch(keys: readonly (Buffer | Uint8Array)[], values: readonly (Buffer | Uint8Array | readonly (Buffer | Uint8Array)[])[],
    flags?: UpdateFlag): void {
    const k = this.#packKeys(keys);
    if (!Array.isArray(values) || values.length !== keys.length) {
      throw new TypeError(`values must be an array as long as keys (${keys.length})`);
    }
    const v = Buffer.alloc(values.length * this.#stride);
    values.forEach((value, i) => {
      const packed = this.#packValue(value, `values[${i}]`);
      if (packed.length !== this.#stride) {
        throw new TypeError(`values[${i}]: map "${this.name}" has ${this.valueSize}-byte values, got ${packed.length} bytes`);
      }
      v.set(packed, i * this.#stride);
    });
    native.mapUpdateBatch(handleOf(this), k, v, keys.length, updateFlag(flags));
  }

  /**
   * updateBatch for data that is already packed: `keys` holds count × keySize bytes and `values`
   * count × valueSize bytes, back to back (any typed array or DataView: a Uint32Array of slot ids
   * is passed as is, in host byte order — the kernel's). Nothing is copied or allocated per
   * element, which is what makes filling a large array cheap. `count` defaults to
   * keys.byteLength / keySize; every length is checked before the kernel is called (TypeError naming
   * the argument, nothing changed). Not for per-CPU maps: their values have a per-CPU stride that
   * callers should not have to lay out by hand — use updateBatch. Always 'any' semantics: the
   * kernel's batch update refuses 'noexist'/'exist' (EINVAL). Kernel errors behave as in updateBatch
   * (elements before the failing one stay updated; the message names the element).
   */
  updateBatchPacked(keys: ArrayBufferView, values: ArrayBufferView, count?: number): void {
    if (this.isPerCpu) throw new TypeError(`map "${this.name}" is per-CPU: updateBatchPacked takes flat values, use updateBatch()`);
    const k = packedBytes(keys, 'keys');
    const v = packedBytes(values, 'values');
    const n = count ?? (this.keySize > 0 ? k.length / this.keySize : 0);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new TypeError(count === undefined
        ? `keys: ${k.length} bytes is not a whole number of ${this.keySize}-byte keys of map "${this.name}"`
        : `count: ${String(count)} is not an integer 0 … 4294967295`);
    }
    if (k.length !== n * this.keySize) {
      throw new TypeError(`keys: ${n} keys of map "${this.name}" need ${n * this.keySize} bytes, got ${k.length}`);
    }
    if (v.length !== n * this.valueSize) {
      throw new TypeError(`values: ${n} values of map "${this.name}" need ${n * this.valueSize} bytes, got ${v.length}`);
    }
    if (n > 0) native.mapUpdateBatch(handleOf(this), k, v, n, 0);
  }

  /**
   * Counters of a per-CPU map with u32 keys, summed over CPUs without a Buffer per CPU: for each
   * key, the first `fields` u64 members of its value (default: all of them) summed over every
   * possible CPU, as out[i * fields + f]. Array maps are read with batch lookups over runs of
   * nearby keys, so the cost follows the keys asked for, not the map's size. A key without an
   * element sums to 0. Sums are exact up to 2^53. RangeError (nothing read) for an array key
   * ≥ maxEntries.
   */
  sumPerCpu(keys: Uint32Array, fields = Math.floor(this.valueSize / 8)): Float64Array {
    if (!(keys instanceof Uint32Array)) throw new TypeError('keys must be a Uint32Array');
    return native.mapSumPerCpu(handleOf(this), keys, fields);
  }

  /** Deletes the given keys; absent keys are skipped. Returns how many were deleted. */
  deleteBatch(keys: readonly (Buffer | Uint8Array)[]): number {
    return native.mapDeleteBatch(handleOf(this), this.#packKeys(keys), keys.length);
  }

  /**
   * Maps the element area of an array created with MapFlags.MMAPABLE into this process: values
   * back to back, each in round_up(valueSize, 8) bytes, shared with every program that reads the
   * map. Reads and writes then need no syscall; an aligned 32-bit store (e.g. Atomics.store on a
   * Uint32Array over it) is what a concurrent program sees whole. The mapping outlives close() of
   * the map and lasts until unmap() (or garbage collection of every view of it).
   */
  mmap(): MapMapping {
    return new MapMapping(native.mapMmap(handleOf(this)));
  }

  /** Bytes the kernel charges for this map (its own figure: "memlock" in /proc/self/fdinfo). */
  memlockBytes(): number {
    return native.mapMemlock(handleOf(this));
  }

  /** Makes the map read-only for user space from now on (BPF programs can still write). */
  freeze(): void {
    native.mapFreeze(handleOf(this));
  }
}

/** A BPF_F_MMAPABLE array's element area in this process (BpfMap.mmap). */
export class MapMapping {
  #buffer: ArrayBuffer;

  /** @internal */
  constructor(buffer: ArrayBuffer) {
    this.#buffer = buffer;
  }

  /** The element area; byteLength 0 once unmapped. Views over it must not outlive unmap(). */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  get mapped(): boolean {
    return this.#buffer.byteLength > 0;
  }

  /** Unmaps now; every view of the buffer then has length 0. Idempotent. */
  unmap(): void {
    native.mapUnmap(this.#buffer);
  }
}
