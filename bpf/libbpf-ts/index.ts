// libbpf-ts: typed access to BPF objects, maps, programs, links, XDP/tc attachment and ring
// buffers through the native addon (build/Release/libbpf_ts.node, C over libbpf 1.1).
//
// This file is the only door to the addon: nothing else in xlb sees fds, errno or raw handles.
// Keys and values are raw little-endian Buffers exactly as the kernel stores them.
// Every kernel failure throws BpfError (.code = errno name such as 'ENOENT', message naming the
// object and operation); wrong argument types or sizes throw TypeError/RangeError before anything
// is changed. See README.md next to this file for the full API.
//
// The implementation is split by area like the C side (ts/: object, map, program, link, attach,
// ringbuf; ts/native.ts holds the addon and the handle registry); this file is the only door.
export { BpfError } from './ts/errors.js';
export { addonPath } from './ts/native.js';
export { BpfObject } from './ts/object.js';
export { BpfMap, MapFlags, MapMapping, type MapCreateOptions, type MapType, type UpdateFlag } from './ts/map.js';
export { BpfProgram, TestRunFlags, type TestRunLoopOptions, type TestRunLoopResult, type TestRunOptions, type TestRunResult } from './ts/program.js';
export { BpfLink } from './ts/link.js';
export {
  ifNameToIndex,
  tcAttach,
  tcDestroyClsact,
  tcDetach,
  tcQuery,
  withNetns,
  xdpAttach,
  xdpDetach,
  xdpQuery,
  type TcDirection,
  type TcHookOptions,
  type XdpMode,
  type XdpQueryResult,
} from './ts/attach.js';
export { RingBufferConsumer, type RingBufferOptions, type RingRecords } from './ts/ringbuf.js';
export { DirLock } from './ts/dir-lock.js';
export { ProbeOutcome, SocketProber, encodeProbeTemplate, type SocketProbeKind, type SocketProbeTemplate } from './ts/prober.js';
export {
  CaptureRing,
  allocatorKeepFreed,
  type CaptureChunk,
  type CaptureLimit,
  type CaptureRecordLayout,
  type CaptureRingOptions,
  type CaptureRingStats,
} from './ts/capture-ring.js';
export {
  be16,
  be32,
  bytes,
  cNameOf,
  pad,
  struct,
  u16,
  u32,
  u64,
  u8,
  type FieldLayout,
  type FieldType,
  type Struct,
  type StructValue,
  type ValueOf,
} from './ts/struct.js';
