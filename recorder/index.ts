// The public door of the packet recorder (docs/recorder.md).
export { Recorder, MAX_DURATION_MS, MAX_KEPT_ERRORS, validateRingBytes, type RecorderOptions, type RecordingRequest } from './recorder.js';
export { RecordingSession, CHUNK_HEADROOM, withHeadroom, type EndReason, type Points, type RecordingSink, type RecordingStats } from './session.js';
export { parseFilter, parseFilters, ruleToSpec, FilterSyntaxError } from './filter.js';
export {
  validateFilter,
  validateFilters,
  validateSnaplen,
  formatRule,
  MAX_FILTERS_PER_RECORDING,
  MIN_SNAPLEN,
  MAX_SNAPLEN,
  type CaptureProto,
  type CaptureRule,
  type FilterSpec,
} from './rules.js';
export { pcapWriter, pcapngWriter, captureWriter, PCAP_MAGIC_NS, LINKTYPE_ETHERNET, type CaptureFormat, type CapturedPacket, type CaptureWriter } from './pcap.js';
export { BootClock, measureOffset, type ClockOffset } from './clock.js';
export { RecorderTables, type RecorderMaps } from './tables.js';
export { REC_MAX_RULES, REC_MAX_RECORDINGS, REC_MAX_SNAPLEN } from '../lb/datapath/index.js';
