// What xlbd reports about itself: counters resolved to service ids and reason names (GetStats,
// metrics) and the daemon's status (GetStatus, metrics). Plain typed objects; api/server turns
// them into proto messages.
import type { DatapathCounters } from '../datapath/index.js';
import type { BackendState, DesiredState, Service } from '../model/index.js';

export interface BackendStatsReport {
  address: string;
  name: string | undefined;
  datapathId: number;
  state: BackendState;
  weight: number;
  packets: number;
  bytes: number;
}

export interface ServiceStatsReport {
  id: string;
  datapathId: number;
  origin: Service['origin'];
  packets: number;
  bytes: number;
  backends: BackendStatsReport[];
}

export interface StatsReport {
  /** Wall clock of the read (ms since the epoch). */
  timestampMs: number;
  services: ServiceStatsReport[];
  /** Packets per XDP verdict: pass, tx, drop. */
  verdicts: Record<string, number>;
  /** Packets per reason, lower_snake_case names: drop.no_backend, pass.not_vip, tx.ipip, ... */
  reasons: { pass: Record<string, number>; tx: Record<string, number>; drop: Record<string, number> };
  flowTable: { hits: number; misses: number; newFlows: number; capacity: number };
  icmp: { forwarded: number; generated: number };
}

export interface InterfaceStatusReport {
  name: string;
  ifindex: number;
  mac: string;
  attached: boolean;
  mode: 'native' | 'generic' | 'none' | 'other';
  /** Kernel id of the program attached to the interface (0 if none). */
  programId: number;
  /** The mode the config asked for. */
  requestedMode: 'native' | 'generic';
  /** Native was asked for, the driver refused, and the datapath runs in generic mode. */
  fallback: boolean;
}

export interface StatusReport {
  version: string;
  instance: string;
  startedAt: number;
  uptimeSeconds: number;
  interfaces: InterfaceStatusReport[];
  gateway: { ip: string; nextHop: string; mac: string; resolved: boolean; interface: string; problem: string | undefined };
  maglev: { tableSize: number; seed: number };
  services: number;
  backends: number;
  mtu: number;
  /** The packet recorder: off when the datapath was loaded without it (reason: why). */
  recorder: { available: boolean; reason: string | undefined; ringBytes: number };
  /** How the datapath was obtained at start. */
  datapath: { origin: 'loaded' | 'adopted' | 'upgraded' | 'replaced'; programId: number; pinDir: string; note: string };
  adoptedDatapath: boolean;
  /** The datapath may differ from the desired state (a failed rollback), with the reason. */
  diverged: string | undefined;
  lastReload: { at: number; ok: boolean; message: string } | undefined;
}

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function packetsByName(group: Record<string, { packets: number }>): Record<string, number> {
  return Object.fromEntries(Object.entries(group).map(([k, v]) => [snakeCase(k), v.packets]));
}

/** Counters joined with the desired state. `only`: restrict the per-service part to these. */
export function statsReport(c: DatapathCounters, state: DesiredState, flowCapacity: number, only?: readonly Service[]): StatsReport {
  const services = (only ?? state.list()).map((s): ServiceStatsReport => {
    const sc = c.services.get(s.datapathId);
    return {
      id: s.id,
      datapathId: s.datapathId,
      origin: s.origin,
      packets: sc?.packets ?? 0,
      bytes: sc?.bytes ?? 0,
      backends: s.backends.map((b) => {
        const bc = c.backends.get(b.datapathId);
        return { address: b.address, name: b.name, datapathId: b.datapathId, state: b.state, weight: b.weight, packets: bc?.packets ?? 0, bytes: bc?.bytes ?? 0 };
      }),
    };
  });
  return {
    timestampMs: Date.now(),
    services,
    verdicts: packetsByName(c.verdict),
    reasons: { pass: packetsByName(c.pass), tx: packetsByName(c.tx), drop: packetsByName(c.drop) },
    flowTable: {
      hits: c.flow.hit.packets,
      // "found nothing, or a stale entry, and ran Maglev" (xlb.proto FlowTableStats.misses)
      misses: c.flow.miss.packets + c.flow.reselect.packets,
      newFlows: c.flow.new.packets,
      capacity: flowCapacity,
    },
    icmp: {
      forwarded: c.event.icmpForwarded.packets,
      generated: c.tx.icmpFragNeeded.packets + c.tx.icmp6PacketTooBig.packets,
    },
  };
}
