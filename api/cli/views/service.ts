// Services and backends: the JSON shape (the API message in proto field names, which is also
// what `xlb apply -f` reads back) and the ipvsadm-like tree for people.
import type { Backend__Output } from '../../generated/xlb/v1/Backend.js';
import type { GetStatsResponse__Output } from '../../generated/xlb/v1/GetStatsResponse.js';
import type { Service__Output } from '../../generated/xlb/v1/Service.js';
import type { JsonValue } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { count, enumName, u64 } from './common.js';
import { backendHealthJson, backendHealthText, healthCheckJson, healthCheckText, serviceHealthText } from './health.js';

export function backendJson(b: Backend__Output): JsonValue {
  return {
    address: b.address,
    weight: b.weight ?? 0,
    state: enumName(b.state, 'BACKEND_STATE_'),
    name: b.name || undefined,
    check_address: b.checkAddress || undefined,
    check_port: b.checkPort || undefined,
    datapath_id: b.datapathId,
    health: b.health ? backendHealthJson(b.health) : undefined,
  };
}

export function serviceJson(s: Service__Output): JsonValue {
  return {
    id: s.id,
    vip: s.vip,
    port: s.port,
    protocol: enumName(s.protocol, 'PROTOCOL_'),
    flags: { source_hash: s.flags?.sourceHash ?? false },
    table_size: s.tableSize,
    backends: s.backends.map(backendJson),
    health_check: s.healthCheck ? healthCheckJson(s.healthCheck) : undefined,
    origin: s.origin,
    kubernetes: s.kubernetes ? { namespace: s.kubernetes.namespace, name: s.kubernetes.name } : undefined,
    datapath_id: s.datapathId,
    health: s.health ? { all_backends_down: s.health.allBackendsDown, failing_open: s.health.failingOpen } : undefined,
  };
}

/** "api", "config", or "kubernetes shop/web" (the Service a kubernetes service belongs to). */
export function originText(s: Service__Output): string {
  if (s.origin === 'kubernetes' && s.kubernetes) return `kubernetes ${s.kubernetes.namespace}/${s.kubernetes.name}`;
  return s.origin || '-';
}

export function flagsText(s: Service__Output): string {
  const flags: string[] = [];
  if (s.flags?.sourceHash) flags.push('source-hash');
  return flags.length ? flags.join(',') : '-';
}

/** Packets and bytes per service id and per "service id|backend address", from GetStats. */
export interface CounterIndex {
  service(id: string): { packets: bigint; bytes: bigint } | undefined;
  backend(id: string, address: string): { packets: bigint; bytes: bigint } | undefined;
}

export function counterIndex(stats: GetStatsResponse__Output): CounterIndex {
  const services = new Map<string, { packets: bigint; bytes: bigint }>();
  const backends = new Map<string, { packets: bigint; bytes: bigint }>();
  for (const s of stats.services) {
    services.set(s.serviceId, { packets: u64(s.packets), bytes: u64(s.bytes) });
    for (const b of s.backends) backends.set(`${s.serviceId}|${b.address}`, { packets: u64(b.packets), bytes: u64(b.bytes) });
  }
  return {
    service: (id) => services.get(id),
    backend: (id, address) => backends.get(`${id}|${address}`),
  };
}

/**
 * SERVICE               ORIGIN  FLAGS        ID  M      PACKETS  BYTES  HEALTH
 *   -> BACKEND          WEIGHT  STATE        ID         PACKETS  BYTES  HEALTH                      NAME
 * 10.0.0.10:80/tcp      api     source-hash   1  16381       12    840  http /healthz every 2s
 *   -> 10.1.0.5         100     active        3                7    490  up 3m12s                    web-1
 *   -> 10.1.0.6         100     active        4                5    350  down 12s: connect refused   web-2
 * M is the service's Maglev table size. Counter columns only when `counters` is given; the HEALTH
 * column only when a service has a check.
 */
export function serviceTree(services: readonly Service__Output[], counters?: CounterIndex, nowMs = Date.now()): string {
  const withCounters = counters !== undefined;
  const withHealth = services.some((s) => s.healthCheck);
  const num = (v: bigint | undefined) => (v === undefined ? '0' : count(v));
  const rows: string[][] = [
    ['SERVICE', 'ORIGIN', 'FLAGS', 'ID', 'M', ...(withCounters ? ['PACKETS', 'BYTES'] : []), ...(withHealth ? ['HEALTH'] : [])],
    ['  -> BACKEND', 'WEIGHT', 'STATE', 'ID', '', ...(withCounters ? ['PACKETS', 'BYTES'] : []), ...(withHealth ? ['HEALTH'] : []), 'NAME'],
  ];
  for (const s of services) {
    const c = counters?.service(s.id);
    const health = s.healthCheck ? [healthCheckText(s.healthCheck) + serviceHealthText(s.health)] : ['-'];
    rows.push([s.id, originText(s), flagsText(s), String(s.datapathId), s.tableSize ? String(s.tableSize) : '-', ...(withCounters ? [num(c?.packets), num(c?.bytes)] : []), ...(withHealth ? health : [])]);
    if (s.backends.length === 0) rows.push(['  (no backends)']);
    for (const b of s.backends) {
      const bc = counters?.backend(s.id, b.address);
      rows.push([
        `  -> ${b.address}`,
        String(b.weight ?? 0),
        enumName(b.state, 'BACKEND_STATE_'),
        String(b.datapathId),
        '',
        ...(withCounters ? [num(bc?.packets), num(bc?.bytes)] : []),
        ...(withHealth ? [b.health ? backendHealthText(b.health, nowMs) : '-'] : []),
        b.name || '',
      ]);
    }
  }
  const right = { align: 'right' as const };
  return renderTable(rows, [{}, {}, {}, right, right, ...(withCounters ? [right, right] : [])]);
}
