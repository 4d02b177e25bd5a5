// The raw addon and what every other file of the binding shares: the native function table,
// the handle registry that keeps fds out of the public surface, and argument helpers. Private to
// bpf/libbpf-ts: nothing outside this folder imports it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TcDirection, XdpMode, XdpQueryResult } from './attach.js';
import { BpfError } from './errors.js';

/** Opaque native handle: a wrapped fd (map/program/link), bpf_object or ring consumer. */
export interface Handle {
  readonly __nativeHandle: unique symbol;
}

export interface NativeMapInfo {
  name: string; kernelName: string; type: string; typeId: number; id: number; keySize: number;
  valueSize: number; maxEntries: number; flags: number; perCpu: boolean; valueStride: number;
}
interface NativeProgInfo { name: string; kernelName: string; type: string; typeId: number; id: number; tag: string }
interface NativeLinkInfo { id: number; type: string; progId: number; ifindex?: number }
export type Kind = 'map' | 'prog' | 'link';

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
  mapSumPerCpu(m: Handle, keys: Uint32Array, fields: number): Float64Array;
  mapSetInnerBatch(m: Handle, keys: Buffer, inners: Handle[]): number;
  mapMmap(m: Handle): ArrayBuffer;
  mapUnmap(mapping: ArrayBuffer): void;
  mapMemlock(m: Handle): number;

  progTestRun(p: Handle, data: Buffer | null, dataOutSize: number | null, ctx: Buffer | null,
    ctxOutSize: number | null, repeat: number, flags: number, cpu: number | null):
    { retval: number; durationNs: number; data?: Buffer; ctx?: Buffer };
  progTestRunLoop(p: Handle, data: Buffer, count: number, expectRetval: number, mutateOffset: number, mutateStart: number, cpu: number):
    { durations: Uint32Array; mismatches: number; firstRetval: number };
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

  captureNew(m: Handle, cb: (buf: Buffer | null, length: number, limit: number) => void, o: NativeCaptureOptions): Handle;
  captureDrain(c: Handle, flush: boolean): number;
  capturePause(c: Handle, paused: boolean): void;
  captureRecycle(c: Handle, buf: Buffer): boolean;
  captureSetOffset(c: Handle, wallOffsetNs: bigint): void;
  captureStats(c: Handle): NativeCaptureStats;
  captureClose(c: Handle): void;
  captureRef(c: Handle, ref: boolean): void;
  allocatorKeepFreed(mmapThreshold: number, trimThreshold: number): boolean;
  dirLock(path: string): number;
  proberNew(cb: (results: Int32Array) => void): Handle;
  proberSubmit(p: Handle, ids: Uint32Array, localPorts: Uint16Array, templates: readonly Buffer[]): number;
  proberRef(p: Handle, ref: boolean): void;
  proberStats(p: Handle): { delivered: number; batches: number };
  proberClose(p: Handle): void;
  dirUnlock(fd: number): void;
}

export interface NativeCaptureOptions {
  format: number; recordingId: number; headerSize: number; offTstamp: number; offId: number; offLen: number;
  offCaplen: number; offPoint: number; chunkBytes: number; headroom: number; maxPackets: number; maxBytes: number;
  wallOffsetNs: bigint; flushMs: number;
}
export interface NativeCaptureStats {
  consumed: number; captured: number; capturedBytes: number; discarded: number; foreign: number; bad: number;
  chunks: number; limit: number; paused: boolean; closed: boolean; pending: number;
}

export const addonPath = fileURLToPath(new URL('../build/Release/libbpf_ts.node', import.meta.url));

function loadAddon(): Native {
  try {
    return createRequire(import.meta.url)(addonPath) as Native;
  } catch (e) {
    throw new Error(`libbpf-ts: cannot load the native addon at ${addonPath} (run \`npm run build\`): ${(e as Error).message}`);
  }
}

export const native = loadAddon();
native.setErrorClass(BpfError);

// Handles of the public objects, kept out of their public surface.
export const handles = new WeakMap<object, Handle>();
export function handleOf(o: object): Handle {
  const h = handles.get(o);
  if (!h) throw new TypeError('libbpf-ts: object has no native handle');
  return h;
}

export function requireBuffer(v: unknown, what: string): asserts v is Buffer {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer`);
}

export function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A zero-copy Buffer view of any typed array or DataView (for packed batch data). */
export function packedBytes(v: unknown, what: string): Buffer {
  if (!ArrayBuffer.isView(v)) throw new TypeError(`${what} must be a Buffer, typed array or DataView`);
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Little-endian two's-complement encoding of an integer into `size` bytes, range-checked. */
export function encodeInteger(value: number | bigint | boolean, size: number, what: string): Buffer {
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
