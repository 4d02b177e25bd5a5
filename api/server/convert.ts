// Translation between xlb.v1 messages (as @grpc/proto-loader decodes them with
// PROTO_LOADER_OPTIONS) and the model (lb/model): the wire stays in api/, the model knows nothing of
// it. Only enum translation and presence live here; every value check is lb/model's, so an API
// request and a YAML file are judged by the same rules.
// Output-only fields (id is not one of them, origin, datapath_id, kubernetes) are ignored on input,
// so a client may send back what it read.
import type { ApplyResponse } from '../generated/xlb/v1/ApplyResponse.js';
import type { Backend as PbBackend, Backend__Output as PbBackendIn } from '../generated/xlb/v1/Backend.js';
import type { BackendState as PbBackendState } from '../generated/xlb/v1/BackendState.js';
import type { Protocol as PbProtocol } from '../generated/xlb/v1/Protocol.js';
import type { Service as PbService, Service__Output as PbServiceIn } from '../generated/xlb/v1/Service.js';
import type { UpdateBackendRequest__Output } from '../generated/xlb/v1/UpdateBackendRequest.js';
import type { BackendHealth as PbBackendHealth } from '../generated/xlb/v1/BackendHealth.js';
import type { HealthCheck as PbHealthCheck, HealthCheck__Output as PbHealthCheckIn } from '../generated/xlb/v1/HealthCheck.js';
import type { HealthState as PbHealthState } from '../generated/xlb/v1/HealthState.js';
import type { ServiceHealth as PbServiceHealth } from '../generated/xlb/v1/ServiceHealth.js';
import type { BackendHealthView, HealthView, ServiceHealthView } from './control.js';
import {
  describeValue,
  invalid,
  isPlainObject,
  joinField,
  formatDuration,
  formatStatusRange,
  type Backend,
  type BackendInput,
  type HealthCheckInput,
  type HealthCheckSpec,
  type BackendState,
  type Protocol,
  type Service,
  type ServiceInput,
  type StateDiff,
  type UpdateBackendPatch,
} from '../../lb/model/index.js';

const PROTOCOL_FROM_PB: Readonly<Record<string, Protocol | undefined>> = {
  PROTOCOL_UNSPECIFIED: undefined,
  PROTOCOL_TCP: 'tcp',
  PROTOCOL_UDP: 'udp',
};
const PROTOCOL_TO_PB: Readonly<Record<Protocol, PbProtocol>> = { tcp: 'PROTOCOL_TCP', udp: 'PROTOCOL_UDP' };

const STATE_FROM_PB: Readonly<Record<string, BackendState | undefined>> = {
  BACKEND_STATE_UNSPECIFIED: undefined,
  BACKEND_STATE_ACTIVE: 'active',
  BACKEND_STATE_DRAINING: 'draining',
};
const STATE_TO_PB: Readonly<Record<BackendState, PbBackendState>> = {
  active: 'BACKEND_STATE_ACTIVE',
  draining: 'BACKEND_STATE_DRAINING',
};

// proto-loader hands unknown enum numbers through as numbers (see PROTO_LOADER_OPTIONS).
function enumValue<T>(table: Readonly<Record<string, T | undefined>>, value: unknown, field: string, what: string): T | undefined {
  if (typeof value === 'string' && value in table) return table[value];
  throw invalid(field, `unknown ${what} ${describeValue(value)}`);
}

export function protocolFromProto(value: unknown, field: string): Protocol | undefined {
  return enumValue(PROTOCOL_FROM_PB, value, field, 'protocol (expected PROTOCOL_TCP or PROTOCOL_UDP):');
}

export function backendStateFromProto(value: unknown, field: string): BackendState | undefined {
  return enumValue(STATE_FROM_PB, value, field, 'backend state (expected BACKEND_STATE_ACTIVE or BACKEND_STATE_DRAINING):');
}

export function backendInputFromProto(msg: PbBackendIn | null | undefined, field: string): BackendInput {
  if (!msg) throw invalid(field, 'is required');
  return {
    address: msg.address,
    weight: msg.optionalWeight === 'weight' || msg.weight !== undefined ? msg.weight : undefined,
    state: backendStateFromProto(msg.state, joinField(field, 'state')),
    name: msg.name === '' ? undefined : msg.name,
    checkAddress: msg.checkAddress === '' ? undefined : msg.checkAddress,
    checkPort: msg.checkPort === 0 ? undefined : msg.checkPort,
  };
}

/** HealthCheck → the model's input; empty strings and zeros mean "default". */
export function healthCheckInputFromProto(msg: PbHealthCheckIn | null | undefined): HealthCheckInput | undefined {
  if (!msg) return undefined;
  const text = (v: string | undefined) => (v === '' ? undefined : v);
  const num = (v: number | undefined) => (v === 0 ? undefined : v);
  return {
    kind: msg.kind,
    mode: text(msg.mode),
    interval: text(msg.interval),
    timeout: text(msg.timeout),
    rise: msg.optionalRise === 'rise' ? msg.rise : undefined,
    fall: msg.optionalFall === 'fall' ? msg.fall : undefined,
    port: num(msg.port),
    path: text(msg.path),
    host: text(msg.host),
    expectStatus: text(msg.expectStatus),
    payload: text(msg.payload),
    payloadHex: text(msg.payloadHex),
    failOpen: msg.optionalFailOpen === 'failOpen' ? msg.failOpen : undefined,
  };
}

export function healthCheckToProto(h: HealthCheckSpec): PbHealthCheck {
  const out: PbHealthCheck = {
    kind: h.kind,
    mode: h.mode,
    interval: formatDuration(h.intervalMs),
    timeout: formatDuration(h.timeoutMs),
    rise: h.rise,
    fall: h.fall,
    port: h.port ?? 0,
    path: h.path ?? '',
    host: h.host ?? '',
    expectStatus: h.expectStatus ? formatStatusRange(h.expectStatus) : '',
    payload: h.payload ?? '',
    payloadHex: h.payloadHex ?? '',
    failOpen: h.failOpen,
  };
  return out;
}

const HEALTH_TO_PB: Readonly<Record<BackendHealthView['status'], PbHealthState>> = {
  unknown: 'HEALTH_STATE_UNKNOWN',
  up: 'HEALTH_STATE_UP',
  down: 'HEALTH_STATE_DOWN',
};

export function backendHealthToProto(h: BackendHealthView | undefined): PbBackendHealth | null {
  if (!h) return null;
  return { state: HEALTH_TO_PB[h.status], sinceMs: h.sinceMs, lastError: h.lastError ?? '', lastCheckMs: h.lastCheckMs, probe: h.probe };
}

export function serviceHealthToProto(h: ServiceHealthView | undefined): PbServiceHealth | null {
  return h ? { allBackendsDown: h.allBackendsDown, failingOpen: h.failingOpen } : null;
}

export function serviceInputFromProto(msg: PbServiceIn | null | undefined, field: string): ServiceInput {
  if (!msg || !isPlainObject(msg)) throw invalid(field, 'is required');
  return {
    id: msg.id === '' ? undefined : msg.id,
    vip: msg.vip === '' ? undefined : msg.vip,
    port: msg.port,
    protocol: protocolFromProto(msg.protocol, joinField(field, 'protocol')),
    flags: msg.flags ? { sourceHash: msg.flags.sourceHash } : undefined,
    tableSize: msg.tableSize === 0 ? undefined : msg.tableSize,
    backends: (msg.backends ?? []).map((b, i) => backendInputFromProto(b, joinField(field, `backends[${i}]`))),
    healthCheck: healthCheckInputFromProto(msg.healthCheck),
  };
}

/** UpdateBackendRequest's optional fields → DesiredState.updateBackend's patch. */
export function updateBackendPatchFromProto(req: UpdateBackendRequest__Output): UpdateBackendPatch {
  return {
    weight: req.optionalWeight === 'weight' || req.weight !== undefined ? req.weight : undefined,
    state: backendStateFromProto(req.state, 'state'),
    name: req.optionalName === 'name' || req.name !== undefined ? req.name : undefined,
  };
}

export function backendToProto(b: Backend, health?: BackendHealthView): PbBackend {
  return {
    address: b.address,
    weight: b.weight,
    state: STATE_TO_PB[b.state],
    name: b.name ?? '',
    datapathId: b.datapathId,
    checkAddress: b.checkAddress ?? '',
    checkPort: b.checkPort ?? 0,
    health: backendHealthToProto(health),
  };
}

/** A service as returned by the API; `health` adds the output-only health fields. */
export function serviceToProto(s: Service, health?: HealthView): PbService {
  return {
    id: s.id,
    vip: s.vip,
    port: s.port,
    protocol: PROTOCOL_TO_PB[s.protocol],
    flags: { sourceHash: s.flags.sourceHash },
    backends: s.backends.map((b) => backendToProto(b, health?.backend(s.id, b.address))),
    origin: s.origin,
    datapathId: s.datapathId,
    tableSize: s.tableSize,
    healthCheck: s.healthCheck ? healthCheckToProto(s.healthCheck) : null,
    health: serviceHealthToProto(health?.service(s.id)),
    ...(s.kubernetes ? { kubernetes: { namespace: s.kubernetes.namespace, name: s.kubernetes.name } } : {}),
  };
}

export function applyResponseFromDiff(diff: StateDiff, dryRun: boolean): ApplyResponse {
  return { created: diff.created, updated: diff.updated, deleted: diff.deleted, unchanged: diff.unchanged, dryRun };
}
