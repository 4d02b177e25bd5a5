// The public door of the datapath module: the only code in xlb that knows the XDP program's map
// layouts. The control plane imports from here.
export { LbDatapath, maglevRequest } from './datapath.js';
export {
  type DatapathService,
  type DatapathBackend,
  type DatapathConfig,
  type DatapathCounters,
  type BackendSetResult,
  type BackendSetOptions,
  type FlowTuple,
  type FlowEntry,
  type Placement,
  type XdpVerdict,
  type MapInfo,
} from './types.js';
export {
  type LoadOptions,
  type ResolvedLoadOptions,
  MIN_MTU,
  MAX_MTU,
  MAX_SERVICES,
  MAX_BACKENDS,
  DEFAULT_ICMP_TOO_BIG_RATE,
  DEFAULT_ICMP_TOO_BIG_BURST,
  MAX_ICMP_TOO_BIG,
  DEFAULT_SYN_TAKEOVER_IDLE_MS,
  MAX_SYN_TAKEOVER_IDLE_MS,
  resolveRecorderOption,
} from './options.js';
export {
  type Counter,
  type GlobalCounters,
  type StatGroup,
  STAT_NAMES,
  LAYOUT_VERSION,
  LB_STRUCTS,
  MAPS,
  mapSizes,
  pinNameOf,
  type MapName,
  type RecorderMapName,
  REC_MAP_NAMES,
} from './layout.js';
export * from './recorder-layout.js';
export { flowHash, maglevSlot } from './flowhash.js';
export { tableMemoryBytes } from './tables.js';
export { recorderSupport, probeRecorderSupport, RECORDER_HELPERS, type RecorderSupport } from './recorder-probe.js';
