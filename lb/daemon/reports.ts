// The stats report (GetStats, metrics): datapath counters joined with the desired state, resolved
// to service ids and reason names. The report types are the API port's (api/server/control.ts).
import type { HealthView, StatsReport, ServiceStatsReport } from '../../api/server/index.js';
import { tableMemoryBytes, type DatapathCounters } from '../datapath/index.js';
import type { DesiredState, Service } from '../model/index.js';

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function packetsByName(group: Record<string, { packets: number }>): Record<string, number> {
  return Object.fromEntries(Object.entries(group).map(([k, v]) => [snakeCase(k), v.packets]));
}

/** Counters joined with the desired state. `only`: restrict the per-service part to these. */
export function statsReport(
  c: DatapathCounters,
  state: DesiredState,
  flowCapacity: number,
  only?: readonly Service[],
  health?: HealthView,
): StatsReport {
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
        return {
          address: b.address,
          name: b.name,
          datapathId: b.datapathId,
          state: b.state,
          weight: b.weight,
          packets: bc?.packets ?? 0,
          bytes: bc?.bytes ?? 0,
          health: health?.backend(s.id, b.address),
        };
      }),
      health: health?.service(s.id),
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

/** The services' Maglev tables by size and their kernel memory (a service without an active
 *  backend has no table). The counts are cached by the state until it changes. */
export function maglevUsage(state: DesiredState): { memoryBytes: number; tables: { tableSize: number; tables: number; memoryBytes: number }[] } {
  const tables = [...state.tablesBySize()].sort((a, b) => a[0] - b[0]).map(([tableSize, n]) => ({ tableSize, tables: n, memoryBytes: n * tableMemoryBytes(tableSize) }));
  return { memoryBytes: tables.reduce((sum, t) => sum + t.memoryBytes, 0), tables };
}
