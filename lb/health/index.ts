// The public door of health checking: probes, the per-backend state machine, the overlay that
// keeps down backends out of the datapath, the probe tunnel (tc egress) and last-seen persistence.
export {
  HealthMonitor,
  probePhaseMs,
  type HealthMonitorOptions,
  type HealthLogger,
  type HealthEvents,
  type TransitionEvent,
  type BackendHealthReport,
  type LastSeenEntry,
  type TunnelPort,
} from './monitor.js';
export { applyHealth, type OverlayResult } from './overlay.js';
export { observe, newRecord, type HealthStatus, type HealthRecord, type Transition } from './state.js';
export { prepareProbe, runProbe, runProbeInJs, type ProbeSpec, type ProbeResult } from './probes.js';
export { ProbePorts } from './ports.js';
export { ProbeTunnel, HEALTH_TC, type EncodedTarget, type ProbeRoute, type ProbeTunnelCounters, type ProbeTunnelOptions } from './tunnel.js';
export { HEALTH_STRUCTS, HEALTH_COUNTER_NAMES } from './layout.js';
export { loadLastSeen, saveLastSeen, LAST_SEEN_FORMAT } from './last-seen.js';
