// The public door of xlbd's gRPC server.
export { startApiServer, LOAD_BALANCER_SERVICE, RECORDER_SERVICE, type ApiServer, type ApiServerOptions } from './server.js';
export type {
  LoadBalancerControl,
  StatsReport,
  StatusReport,
  ServiceStatsReport,
  BackendStatsReport,
  InterfaceStatusReport,
  HealthView,
  BackendHealthView,
  ServiceHealthView,
  HealthStatusReport,
  BgpStatusReport,
  DrainReport,
} from './control.js';
export { ListenError, credentialsFor, prepareUnixSocket } from './listen.js';
export { toServiceError } from './errors.js';
export { statsToProto, statusToProto } from './load-balancer.js';
export { recorderHandlers, requestFromProto, DEFAULT_MAX_QUEUED_BYTES, MAX_CHUNK_BYTES, type RecorderServiceOptions } from './recorder.js';
