// The public door of the TypeScript client for xlbd's gRPC API.
export { XlbClient, DEFAULT_TIMEOUT_MS, type ConnectOptions } from './client.js';
export { XlbApiError } from './errors.js';
export { transportFor, type TlsOptions, type TransportOptions } from './credentials.js';
export { DEFAULT_SERVER, SERVER_ENV, ClientConfigError, parseServerAddress, type ServerTarget } from './target.js';
export { RecorderApiClient, type RecordingCall, type RecordingCallbacks } from './recorder.js';
