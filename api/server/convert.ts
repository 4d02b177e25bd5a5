// Translation between xlb.v1 messages (as @grpc/proto-loader decodes them with
// PROTO_LOADER_OPTIONS) and the model (lb/model): the wire stays in api/, the model knows nothing of
// it. Only enum translation and presence live here; every value check is lb/model's, so an API
// request and a YAML file are judged by the same rules.
// Output-only fields (id is not one of them, origin, datapath_id) are ignored on input, so a
// client may send back what it read.
import type { ApplyResponse } from '../generated/xlb/v1/ApplyResponse.js';
import type { Backend as PbBackend, Backend__Output as PbBackendIn } from '../generated/xlb/v1/Backend.js';
import type { BackendState as PbBackendState } from '../generated/xlb/v1/BackendState.js';
import type { Protocol as PbProtocol } from '../generated/xlb/v1/Protocol.js';
import type { Service as PbService, Service__Output as PbServiceIn } from '../generated/xlb/v1/Service.js';
import type { UpdateBackendRequest__Output } from '../generated/xlb/v1/UpdateBackendRequest.js';
import {
  describeValue,
  invalid,
  isPlainObject,
  joinField,
  type Backend,
  type BackendInput,
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
  };
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

export function backendToProto(b: Backend): PbBackend {
  return { address: b.address, weight: b.weight, state: STATE_TO_PB[b.state], name: b.name ?? '', datapathId: b.datapathId };
}

export function serviceToProto(s: Service): PbService {
  return {
    id: s.id,
    vip: s.vip,
    port: s.port,
    protocol: PROTOCOL_TO_PB[s.protocol],
    flags: { sourceHash: s.flags.sourceHash },
    backends: s.backends.map(backendToProto),
    origin: s.origin,
    datapathId: s.datapathId,
    tableSize: s.tableSize,
  };
}

export function applyResponseFromDiff(diff: StateDiff, dryRun: boolean): ApplyResponse {
  return { created: diff.created, updated: diff.updated, deleted: diff.deleted, unchanged: diff.unchanged, dryRun };
}
