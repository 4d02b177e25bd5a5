// libbpf-ts: typed access to BPF objects, maps, programs, links, XDP/tc attachment and ring
// buffers through the native addon (build/Release/libbpf_ts.node, C over libbpf 1.1).
//
// This file is the only door to the addon: nothing else in xlb sees fds, errno or raw handles.
// Keys and values are raw little-endian Buffers exactly as the kernel stores them.
// Every kernel failure throws BpfError (.code = errno name such as 'ENOENT', message naming the
// object and operation); wrong argument types or sizes throw TypeError/RangeError before anything
// is changed. See README.md next to this file for the full API.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/* ---- errors ---------------------------------------------------------------------------------- */

export class BpfError extends Error {
  /** errno name, e.g. 'EACCES', 'ENOENT', 'E2BIG' */
  readonly code: string;
  readonly errno: number;
  /** the kernel verifier's log when a program failed to load */
  readonly verifierLog?: string;

  constructor(message: string, code: string, errno: number, verifierLog?: string) {
    super(message);
    this.name = 'BpfError';
    this.code = code;
    this.errno = errno;
    if (verifierLog !== undefined) this.verifierLog = verifierLog;
  }
}

/* ---- the raw addon (private) ----------------------------------------------------------------- */

/** Opaque native handle: a wrapped fd (map/program/link), bpf_object or ring consumer. */
interface Handle {
  readonly __nativeHandle: unique symbol;
}

interface NativeMapInfo {
  name: string; kernelName: string; type: string; typeId: number; id: number; keySize: number;
  valueSize: number; maxEntries: number; flags: number; perCpu: boolean; valueStride: number;
}
interface NativeProgInfo { name: string; kernelName: string; type: string; typeId: number; id: number; tag: string }
interface NativeLinkInfo { id: number; type: string; progId: number; ifindex?: number }
type Kind = 'map' | 'prog' | 'link';

interface Native {
  setErrorClass(ctor: typeof BpfError): void;
  fdClose(h: Handle): void;
  mapInfo(h: Handle): NativeMapInfo;
  progInfo(h: Handle): NativeProgInfo;
  linkInfo(h: Handle): NativeLinkInfo;
  pin(h: Handle, path: string): void;
  unpin(path: string): void;
  openPinned(path: string, kind: Kind): Handle;
  fromId(kind: Kind, id: number): Handle;
  possibleCpus(): number;

  objOpen(path: string): Handle;
  objConstInfo(o: Handle, name: string): { section: string; offset: number; size: number };
  objSetConst(o: Handle, name: string, value: Buffer): void;
  objSetMaxEntries(o: Handle, map: string, n: number, inner: boolean): void;
  objReuseMap(o: Handle, map: string, existing: Handle): void;
  objSetAutoload(o: Handle, prog: string, on: boolean): void;
  objLoad(o: Handle): void;
  objProgramNames(o: Handle): string[];
  objMapNames(o: Handle): string[];
  objProgram(o: Handle, name: string): Handle;
  objMap(o: Handle, name: string): Handle;
  objClose(o: Handle): void;

  mapCreate(type: string, keySize: number, valueSize: number, maxEntries: number, name: string | null,
    flags: number | null, inner: Handle | null): Handle;
  mapLookup(m: Handle, key: Buffer | null): Buffer | undefined;
  mapUpdate(m: Handle, key: Buffer | null, value: Buffer, flags: number): void;
  mapSetInner(m: Handle, key: Buffer, inner: Handle): void;
  mapDelete(m: Handle, key: Buffer | null): boolean;
  mapNextKey(m: Handle, key: Buffer | null): Buffer | undefined;
  mapFreeze(m: Handle): void;
  mapLookupBatch(m: Handle): { count: number; keys: Buffer; values: Buffer; batched: boolean };
  mapUpdateBatch(m: Handle, keys: Buffer, values: Buffer, count: number, flags: number): number;
  mapDeleteBatch(m: Handle, keys: Buffer, count: number): number;

  progTestRun(p: Handle, data: Buffer | null, dataOutSize: number | null, ctx: Buffer | null,
    ctxOutSize: number | null, repeat: number, flags: number, cpu: number | null):
    { retval: number; durationNs: number; data?: Buffer; ctx?: Buffer };
  linkCreateXdp(p: Handle, ifindex: number, flags: number | null): Handle;
  linkUpdate(l: Handle, p: Handle, expected: Handle | null): void;
  linkDetach(l: Handle): void;

  xdpAttach(ifindex: number, p: Handle, mode: XdpMode, replaceProgId: number | null, noReplace: boolean): void;
  xdpDetach(ifindex: number, mode: XdpMode, expectedProgId: number | null): void;
  xdpQuery(ifindex: number): XdpQueryResult;
  tcAttach(ifindex: number, dir: TcDirection, handle: number | null, priority: number | null, p: Handle): number;
  tcDetach(ifindex: number, dir: TcDirection, handle: number | null, priority: number | null): void;
  tcQuery(ifindex: number, dir: TcDirection, handle: number | null, priority: number | null): number;
  tcHookDestroy(ifindex: number): boolean;
  ifNameToIndex(name: string): number;
  withNetns<T>(path: string, fn: () => T): T;

  ringNew(m: Handle, cb: (data: Buffer, offsets: Uint32Array, count: number) => void, maxBatch: number | null): Handle;
  ringDrain(r: Handle): number;
  ringClose(r: Handle): void;
  ringStats(r: Handle): { delivered: number; batches: number; closed: boolean };
  ringRef(r: Handle, ref: boolean): void;
}

export const addonPath = fileURLToPath(new URL('./build/Release/libbpf_ts.node', import.meta.url));

function loadAddon(): Native {
  try {
    return createRequire(import.meta.url)(addonPath) as Native;
  } catch (e) {
    throw new Error(`libbpf-ts: cannot load the native addon at ${addonPath} (run \`npm run build\`): ${(e as Error).message}`);
  }
}

const native = loadAddon();
native.setErrorClass(BpfError);

// Handles of the public objects, kept out of their public surface.
const handles = new WeakMap<object, Handle>();
function handleOf(o: KernelObject | BpfObject | RingBufferConsumer): Handle {
  const h = handles.get(o);
  if (!h) throw new TypeError('libbpf-ts: object has no native handle');
  return h;
}

function requireBuffer(v: unknown, what: string): asserts v is Buffer {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer`);
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A zero-copy Buffer view of any typed array or DataView (for packed batch data). */
function packedBytes(v: unknown, what: string): Buffer {
  if (!ArrayBuffer.isView(v)) throw new TypeError(`${what} must be a Buffer, typed array or DataView`);
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Little-endian two's-complement encoding of an integer into `size` bytes, range-checked. */
function encodeInteger(value: number | bigint | boolean, size: number, what: string): Buffer {
  if (typeof value === 'boolean') value = value ? 1 : 0;
  if (typeof value === 'number' && !Number.isInteger(value)) throw new TypeError(`${what}: ${value} is not an integer`);
  if (![1, 2, 4, 8].includes(size)) {
    throw new TypeError(`${what}: a ${size}-byte variable needs a Buffer value, not a number`);
  }
  const big = BigInt(value);
  const bits = BigInt(size * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n;
  if (big < min || big > max) throw new RangeError(`${what}: ${value} does not fit in ${size} bytes`);
  const unsigned = BigInt.asUintN(size * 8, big);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = Number((unsigned >> BigInt(8 * i)) & 0xffn);
  return buf;
}

/* ---- BPF objects ----------------------------------------------------------------------------- */

/** A BPF ELF object: open → configure (constants, map sizes, reused maps) → load → use. */
export class BpfObject {
  readonly path: string;
  #closed = false;
  #programs = new Map<string, BpfProgram>();
  #maps = new Map<string, BpfMap>();

  private constructor(h: Handle, path: string) {
    handles.set(this, h);
    this.path = path;
  }

  static open(path: string): BpfObject {
    return new BpfObject(native.objOpen(path), path);
  }

  /**
   * Sets a global variable before load: a `const volatile` in .rodata (a load-time constant the
   * verifier sees as fixed), or a .data/.bss variable's initial value. Found by name through BTF.
   * Numbers/bigints/booleans are written little-endian with the variable's size; a Buffer must
   * have exactly that size.
   */
  setConst(name: string, value: Buffer | Uint8Array | number | bigint | boolean): void {
    const h = handleOf(this);
    if (value instanceof Uint8Array) {
      native.objSetConst(h, name, asBuffer(value));
      return;
    }
    if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') {
      throw new TypeError(`setConst "${name}": value must be a Buffer, number, bigint or boolean`);
    }
    const { size } = native.objConstInfo(h, name);
    native.objSetConst(h, name, encodeInteger(value, size, `setConst "${name}"`));
  }

  /** Size (bytes), section and offset of a global variable, e.g. to build a Buffer value. */
  constInfo(name: string): { section: string; offset: number; size: number } {
    return native.objConstInfo(handleOf(this), name);
  }

  setMapMaxEntries(map: string, n: number): void {
    native.objSetMaxEntries(handleOf(this), map, n, false);
  }

  /** Makes `map` use an existing kernel map (e.g. a pinned one) instead of creating a new one. */
  reuseMap(map: string, existing: BpfMap): void {
    native.objReuseMap(handleOf(this), map, handleOf(existing));
  }

  /** Excludes (false) or includes a program from loading. */
  setAutoload(program: string, on: boolean): void {
    native.objSetAutoload(handleOf(this), program, on);
  }

  /** Loads maps and programs into the kernel; BpfError with .verifierLog if the verifier refuses. */
  load(): void {
    native.objLoad(handleOf(this));
  }

  /** A loaded program by its C function name. Closed with the object. */
  program(name: string): BpfProgram {
    let p = this.#programs.get(name);
    if (!p || p.closed) {
      p = new BpfProgram(native.objProgram(handleOf(this), name));
      this.#programs.set(name, p);
    }
    return p;
  }

  /** A loaded map by name (also the datasec maps, e.g. '.bss' or '<obj>.bss'). Closed with the object. */
  map(name: string): BpfMap {
    let m = this.#maps.get(name);
    if (!m || m.closed) {
      m = new BpfMap(native.objMap(handleOf(this), name));
      this.#maps.set(name, m);
    }
    return m;
  }

  programNames(): string[] {
    return native.objProgramNames(handleOf(this));
  }

  mapNames(): string[] {
    return native.objMapNames(handleOf(this));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Releases the object and every program/map handle obtained from it. Idempotent. Pins and
   * netlink attachments stay in the kernel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#programs.values()) p.close();
    for (const m of this.#maps.values()) m.close();
    this.#programs.clear();
    this.#maps.clear();
    native.objClose(handleOf(this));
  }
}

/* ---- maps ------------------------------------------------------------------------------------ */

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

/* ---- pinnable kernel objects (maps, programs, links) ------------------------------------------ */

/** What maps, programs and links share: one owned fd, bpffs pins, explicit idempotent release. */
abstract class KernelObject {
  #closed = false;

  protected constructor(h: Handle) {
    handles.set(this, h);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Pins at a bpffs path (its directory must exist). */
  pin(path: string): void {
    native.pin(handleOf(this), path);
  }

  /** Removes a bpffs pin (refuses paths outside bpffs). */
  unpin(path: string): void {
    native.unpin(path);
  }

  /** Releases this handle's fd. Idempotent. The kernel object lives on while pinned, attached or
   * held elsewhere (a link's attachment ends only when no pin or fd holds it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.fdClose(handleOf(this));
  }
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

  /** Deletes the given keys; absent keys are skipped. Returns how many were deleted. */
  deleteBatch(keys: readonly (Buffer | Uint8Array)[]): number {
    return native.mapDeleteBatch(handleOf(this), this.#packKeys(keys), keys.length);
  }

  /** Makes the map read-only for user space from now on (BPF programs can still write). */
  freeze(): void {
    native.mapFreeze(handleOf(this));
  }
}

/* ---- programs -------------------------------------------------------------------------------- */

export interface TestRunOptions {
  /** packet (or other program input); omit for program types without data */
  data?: Buffer | Uint8Array;
  /** room for the output packet; default data.length + 4096 (headroom/tailroom growth) */
  dataOutSize?: number;
  ctx?: Buffer | Uint8Array;
  /** default ctx.length when ctx is given */
  ctxOutSize?: number;
  repeat?: number;
  /** BPF_F_TEST_* flags, e.g. TestRunFlags.XDP_LIVE_FRAMES */
  flags?: number;
  cpu?: number;
}

export interface TestRunResult {
  retval: number;
  /** the packet as the program left it (after the last repetition) */
  data: Buffer;
  ctx?: Buffer;
  /** average per repetition */
  durationNs: number;
}

export const TestRunFlags = { RUN_ON_CPU: 1 << 0, XDP_LIVE_FRAMES: 1 << 1 } as const;

export class BpfProgram extends KernelObject {
  readonly name: string;
  readonly id: number;
  readonly type: string;
  readonly tag: string;

  /** @internal Use BpfObject.program, BpfProgram.openPinned or BpfProgram.fromId. */
  constructor(h: Handle) {
    super(h);
    const i = native.progInfo(h);
    this.name = i.name;
    this.id = i.id;
    this.type = i.type;
    this.tag = i.tag;
  }

  static openPinned(path: string): BpfProgram {
    return new BpfProgram(native.openPinned(path, 'prog'));
  }

  static fromId(id: number): BpfProgram {
    return new BpfProgram(native.fromId('prog', id));
  }

  /** BPF_PROG_TEST_RUN. Note: with repeat > 1 each run sees the packet as the previous one left it. */
  testRun(o: TestRunOptions): TestRunResult {
    if (typeof o !== 'object' || o === null) throw new TypeError('testRun: options object required');
    if (o.data !== undefined) requireBuffer(o.data, 'data');
    if (o.ctx !== undefined) requireBuffer(o.ctx, 'ctx');
    const data = o.data === undefined ? null : asBuffer(o.data);
    const ctx = o.ctx === undefined ? null : asBuffer(o.ctx);
    const dataOut = data ? (o.dataOutSize ?? data.length + 4096) : null;
    const ctxOut = ctx ? (o.ctxOutSize ?? ctx.length) : (o.ctxOutSize ?? null);
    const r = native.progTestRun(handleOf(this), data, dataOut, ctx, ctxOut, o.repeat ?? 1, o.flags ?? 0, o.cpu ?? null);
    const result: TestRunResult = { retval: r.retval, data: r.data ?? Buffer.alloc(0), durationNs: r.durationNs };
    if (r.ctx) result.ctx = r.ctx;
    return result;
  }
}

/* ---- links ----------------------------------------------------------------------------------- */

export class BpfLink extends KernelObject {
  readonly id: number;
  readonly type: string;

  private constructor(h: Handle) {
    super(h);
    const i = native.linkInfo(h);
    this.id = i.id;
    this.type = i.type;
  }

  /** Attaches XDP through a bpf_link: lives while the link fd or a pin of it exists, and cannot be
   * replaced through netlink by another tool (EBUSY) — use update() to swap programs. */
  static attachXdp(ifindex: number, prog: BpfProgram, o: { mode: XdpMode }): BpfLink {
    const flags = o?.mode === 'generic' ? XDP_FLAGS_SKB_MODE : o?.mode === 'native' ? XDP_FLAGS_DRV_MODE : undefined;
    if (flags === undefined) throw new TypeError(`mode must be 'native' or 'generic', got ${String(o?.mode)}`);
    return new BpfLink(native.linkCreateXdp(handleOf(prog), ifindex, flags));
  }

  static openPinned(path: string): BpfLink {
    return new BpfLink(native.openPinned(path, 'link'));
  }

  static fromId(id: number): BpfLink {
    return new BpfLink(native.fromId('link', id));
  }

  /** Current program id and (XDP links) interface. */
  info(): { progId: number; ifindex?: number } {
    const i = native.linkInfo(handleOf(this));
    return i.ifindex === undefined ? { progId: i.progId } : { progId: i.progId, ifindex: i.ifindex };
  }

  /** Atomically replaces the program; with `expected`, only if that program is the current one. */
  update(prog: BpfProgram, o?: { expected?: BpfProgram }): void {
    native.linkUpdate(handleOf(this), handleOf(prog), o?.expected ? handleOf(o.expected) : null);
  }

  /** Detaches now, even if pins or other fds of the link exist. */
  detach(): void {
    native.linkDetach(handleOf(this));
  }
}

/* ---- XDP and tc attachment (netlink) --------------------------------------------------------- */

export type XdpMode = 'native' | 'generic';
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;

export interface XdpQueryResult {
  /** the attached program (0 if none) */
  progId: number;
  mode: XdpMode | 'offload' | 'multi' | 'none';
  nativeProgId: number;
  genericProgId: number;
  offloadProgId: number;
}

/**
 * Attaches through netlink; the attachment outlives the process (no pin needed).
 * replaceProgId: replace only if that program is the one attached (XDP_FLAGS_REPLACE) — otherwise
 * BpfError EEXIST and the current program stays. noReplace: fail (EBUSY) if any program is attached.
 */
export function xdpAttach(ifindex: number, prog: BpfProgram, o: { mode: XdpMode; replaceProgId?: number; noReplace?: boolean }): void {
  native.xdpAttach(ifindex, handleOf(prog), o?.mode, o?.replaceProgId ?? null, o?.noReplace ?? false);
}

/** Detaches the program of `mode`; with expectedProgId only if that program is attached (EEXIST otherwise). */
export function xdpDetach(ifindex: number, o: { mode: XdpMode; expectedProgId?: number }): void {
  native.xdpDetach(ifindex, o?.mode, o?.expectedProgId ?? null);
}

export function xdpQuery(ifindex: number): XdpQueryResult {
  return native.xdpQuery(ifindex);
}

export type TcDirection = 'ingress' | 'egress';
export interface TcHookOptions {
  direction: TcDirection;
  /** filter handle, default 1 */
  handle?: number;
  /** filter priority, default 1 */
  priority?: number;
}

/** Attaches a tc (sched_cls, direct-action) program; creates the clsact qdisc if missing and
 * replaces any filter at the same handle/priority. Returns the attached program id. */
export function tcAttach(ifindex: number, prog: BpfProgram, o: TcHookOptions): number {
  return native.tcAttach(ifindex, o?.direction, o?.handle ?? null, o?.priority ?? null, handleOf(prog));
}

export function tcDetach(ifindex: number, o: TcHookOptions): void {
  native.tcDetach(ifindex, o?.direction, o?.handle ?? null, o?.priority ?? null);
}

export function tcQuery(ifindex: number, o: TcHookOptions): { progId: number } | undefined {
  const id = native.tcQuery(ifindex, o?.direction, o?.handle ?? null, o?.priority ?? null);
  return id ? { progId: id } : undefined;
}

/** Removes the clsact qdisc (and all tc filters on it). Returns false if there was none. */
export function tcDestroyClsact(ifindex: number): boolean {
  return native.tcHookDestroy(ifindex);
}

/** ifindex of an interface in the current network namespace; BpfError ENODEV naming it if absent. */
export function ifNameToIndex(name: string): number {
  return native.ifNameToIndex(name);
}

/**
 * Runs a synchronous `fn` inside a network namespace (setns on the JS thread, then back, also when
 * fn throws). nsPath is a path such as '/run/netns/lab-x' or '/proc/<pid>/ns/net'; a bare name
 * means /run/netns/<name>. Everything fn does synchronously (ifNameToIndex, xdpAttach, tcAttach,
 * creating sockets) happens in that namespace; a Promise-returning fn is rejected with TypeError.
 */
export function withNetns<T>(nsPath: string, fn: () => T): T {
  const path = typeof nsPath === 'string' && !nsPath.includes('/') ? `/run/netns/${nsPath}` : nsPath;
  return native.withNetns(path, fn);
}

/* ---- ring buffer consumer -------------------------------------------------------------------- */

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
