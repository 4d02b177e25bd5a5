// xlb.v1.LoadBalancer: each call converts its message (convert.ts; lb/model owns every rule and
// every field name) and runs one desired-state operation through the control plane.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { LoadBalancerHandlers } from '../generated/xlb/v1/LoadBalancer.js';
import type { GetStatsResponse } from '../generated/xlb/v1/GetStatsResponse.js';
import type { GetStatusResponse } from '../generated/xlb/v1/GetStatusResponse.js';
import type { XdpMode } from '../generated/xlb/v1/XdpMode.js';
import type { StatsReport, StatusReport } from './control.js';
import type { DesiredState, ServiceInput } from '../../lb/model/index.js';
import {
  applyResponseFromDiff,
  backendHealthToProto,
  backendInputFromProto,
  serviceHealthToProto,
  serviceInputFromProto,
  serviceToProto,
  updateBackendPatchFromProto,
} from './convert.js';
import type { LoadBalancerControl } from './control.js';
import { toServiceError } from './errors.js';
import { describePeer } from './peer.js';

type Log = { error(m: string): void };

/** Wraps an async implementation as a grpc-js unary handler; `peer` describes the caller. */
function unary<Req, Res>(impl: (req: Req, peer: string) => Promise<Res> | Res, log?: Log) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => impl(call.request, describePeer(call)))
      .then(
        (res) => callback(null, res),
        (e) => callback(toServiceError(e, log)),
      );
  };
}

function serviceOf(control: LoadBalancerControl, state: DesiredState, id: string) {
  return serviceToProto(state.get(id, 'service_id'), control.health);
}

const STATE_TO_PB = { active: 'BACKEND_STATE_ACTIVE', draining: 'BACKEND_STATE_DRAINING' } as const;
const MODE_TO_PB: Record<string, XdpMode> = { native: 'XDP_MODE_NATIVE', generic: 'XDP_MODE_GENERIC' };

export function statsToProto(r: StatsReport): GetStatsResponse {
  return {
    services: r.services.map((s) => ({
      serviceId: s.id,
      packets: s.packets,
      bytes: s.bytes,
      backends: s.backends.map((b) => ({
        address: b.address,
        datapathId: b.datapathId,
        state: STATE_TO_PB[b.state],
        packets: b.packets,
        bytes: b.bytes,
        health: backendHealthToProto(b.health),
      })),
      health: serviceHealthToProto(s.health),
    })),
    verdicts: Object.entries(r.verdicts).map(([name, packets]) => ({ name, packets })),
    drops: Object.entries(r.reasons.drop).map(([name, packets]) => ({ name, packets })),
    flowTable: { ...r.flowTable },
    icmp: { ...r.icmp },
    timestampMs: r.timestampMs,
  };
}

export function statusToProto(s: StatusReport): GetStatusResponse {
  return {
    version: s.version,
    instance: s.instance,
    uptimeSeconds: s.uptimeSeconds,
    interfaces: s.interfaces.map((i) => ({
      name: i.name,
      ifindex: i.ifindex,
      mac: i.mac,
      attached: i.attached,
      mode: MODE_TO_PB[i.mode] ?? 'XDP_MODE_UNSPECIFIED',
      programId: i.programId,
    })),
    gateway: { ip: s.gateway.ip, mac: s.gateway.mac, resolved: s.gateway.resolved, interface: s.gateway.interface },
    maglevTableSize: s.maglev.tableSize,
    maglevSeed: s.maglev.seed,
    services: s.services,
    backends: s.backends,
    mtu: s.mtu,
    adoptedDatapath: s.adoptedDatapath,
    recorderAvailable: s.recorder.available,
    recorderNote: s.recorder.reason ?? '',
    recorderRingBytes: s.recorder.ringBytes,
    maglevTableMemoryBytes: s.maglev.memoryBytes,
    maglevTables: s.maglev.tables.map((t) => ({ tableSize: t.tableSize, tables: t.tables, memoryBytes: t.memoryBytes })),
    health: {
      checkedBackends: s.health.checkedBackends,
      up: s.health.up,
      down: s.health.down,
      unknown: s.health.unknown,
      inFlight: s.health.inFlight,
      lateProbes: s.health.lateProbes,
      probesOk: s.health.probesOk,
      probesFailed: s.health.probesFailed,
      tunnelAttached: s.health.tunnelAttached,
      tunnelError: s.health.tunnelError ?? '',
      allDownServices: s.health.allDownServices,
      failingOpenServices: s.health.failingOpenServices,
    },
    bgp: { ...s.bgp, error: s.bgp.error ?? '' },
    ...(s.kubernetes ? { kubernetes: { ...s.kubernetes, lastError: s.kubernetes.lastError ?? '' } } : {}),
  };
}

export function loadBalancerHandlers(control: LoadBalancerControl, log?: Log): LoadBalancerHandlers {
  return {
    CreateService: unary(async (req, peer) => {
      const input = serviceInputFromProto(req.service, 'service');
      const { diff, state } = await control.change((d) => d.create(input, 'service'), { peer });
      return { service: serviceOf(control, state, diff.created[0]!) };
    }, log),

    UpdateService: unary(async (req, peer) => {
      const input = serviceInputFromProto(req.service, 'service');
      const { diff, state } = await control.change((d) => d.update(input, { replaceBackends: req.replaceBackends }, 'service'), { peer });
      const id = diff.changes[0]?.id ?? diff.unchanged[0]!;
      return { service: serviceOf(control, state, id), changed: diff.changes.length > 0 };
    }, log),

    DeleteService: unary(async (req, peer) => {
      await control.change((d) => d.delete(req.serviceId, 'service_id'), { peer });
      return {};
    }, log),

    GetService: unary((req) => ({ service: serviceOf(control, control.state, req.serviceId) }), log),

    ListServices: unary(() => ({ services: control.state.list().map((s) => serviceToProto(s, control.health)) }), log),

    AddBackend: unary(async (req, peer) => {
      const backend = backendInputFromProto(req.backend, 'backend');
      const { diff, state } = await control.change((d) => d.addBackend(req.serviceId, backend), { peer });
      return { service: serviceOf(control, state, diff.changes[0]!.id) };
    }, log),

    UpdateBackend: unary(async (req, peer) => {
      const patch = updateBackendPatchFromProto(req);
      const { diff, state } = await control.change((d) => d.updateBackend(req.serviceId, req.address, patch), { peer });
      const id = diff.changes[0]?.id ?? diff.unchanged[0] ?? state.get(req.serviceId).id;
      return { service: serviceOf(control, state, id), changed: diff.changes.length > 0 };
    }, log),

    RemoveBackend: unary(async (req, peer) => {
      const { diff, state } = await control.change((d) => d.removeBackend(req.serviceId, req.address), { peer });
      return { service: serviceOf(control, state, diff.changes[0]!.id) };
    }, log),

    Apply: unary(async (req, peer) => {
      const inputs: ServiceInput[] = (req.services ?? []).map((s, i) => serviceInputFromProto(s, `services[${i}]`));
      const { diff } = await control.change((d) => d.apply(inputs, { origin: 'api', field: 'services' }), { dryRun: req.dryRun, peer });
      return applyResponseFromDiff(diff, req.dryRun);
    }, log),

    GetStats: unary((req) => statsToProto(control.stats(req.serviceId === '' ? undefined : req.serviceId)), log),

    GetStatus: unary(() => statusToProto(control.status()), log),

    DrainNode: unary((req) => control.drainNode(req.undo), log),
  };
}
