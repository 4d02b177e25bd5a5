// The public door of xlbd's gRPC server.
export { startApiServer, LOAD_BALANCER_SERVICE, RECORDER_SERVICE, type ApiServer, type ApiServerOptions } from './server.js';
export type { LoadBalancerControl } from './control.js';
export { ListenError, credentialsFor, prepareUnixSocket } from './listen.js';
export { toServiceError } from './errors.js';
export { statsToProto, statusToProto } from './load-balancer.js';
export { RECORDER_UNIMPLEMENTED } from './recorder.js';
