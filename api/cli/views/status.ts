// `xlb status`: what the daemon is and what it drives.
import type { GetStatusResponse__Output } from '../../generated/xlb/v1/GetStatusResponse.js';
import type { JsonValue } from '../render/json.js';
import { renderPairs, renderTable } from '../render/table.js';
import { duration, enumName, u64 } from './common.js';

export function statusJson(s: GetStatusResponse__Output): JsonValue {
  return {
    version: s.version,
    instance: s.instance,
    uptime_seconds: u64(s.uptimeSeconds),
    interfaces: s.interfaces.map((i) => ({
      name: i.name,
      ifindex: i.ifindex,
      mac: i.mac,
      attached: i.attached,
      mode: enumName(i.mode, 'XDP_MODE_'),
      program_id: i.programId,
    })),
    gateway: s.gateway
      ? { ip: s.gateway.ip, mac: s.gateway.mac, resolved: s.gateway.resolved, interface: s.gateway.interface }
      : null,
    maglev_table_size: s.maglevTableSize,
    maglev_seed: s.maglevSeed,
    maglev_table_memory_bytes: u64(s.maglevTableMemoryBytes),
    maglev_tables: s.maglevTables.map((t) => ({ table_size: t.tableSize, tables: t.tables, memory_bytes: u64(t.memoryBytes) })),
    services: s.services,
    backends: s.backends,
    mtu: s.mtu,
    adopted_datapath: s.adoptedDatapath,
    recorder_available: s.recorderAvailable,
    recorder_note: s.recorderNote,
    recorder_ring_bytes: s.recorderRingBytes,
    health: s.health
      ? {
          checked_backends: s.health.checkedBackends,
          up: s.health.up,
          down: s.health.down,
          unknown: s.health.unknown,
          in_flight: s.health.inFlight,
          late_probes: u64(s.health.lateProbes),
          probes_ok: u64(s.health.probesOk),
          probes_failed: u64(s.health.probesFailed),
          tunnel_attached: s.health.tunnelAttached,
          tunnel_error: s.health.tunnelError || undefined,
          all_down_services: s.health.allDownServices,
          failing_open_services: s.health.failingOpenServices,
        }
      : null,
    bgp: s.bgp?.enabled
      ? {
          connected: s.bgp.connected,
          gobgp_api: s.bgp.gobgpApi,
          error: s.bgp.error || undefined,
          announce: s.bgp.announce,
          next_hop: s.bgp.nextHop || undefined,
          next_hop_v6: s.bgp.nextHopV6 || undefined,
          drained: s.bgp.drained,
          neighbors: s.bgp.neighbors.map((n) => ({ address: n.address, peer_as: n.peerAs, state: n.state, uptime_seconds: u64(n.uptimeSeconds) })),
          prefixes: s.bgp.prefixes.map((p) => ({ prefix: p.prefix, announced: p.announced, reason: p.reason })),
        }
      : null,
    kubernetes: s.kubernetes
      ? {
          server: s.kubernetes.server,
          synced: s.kubernetes.synced,
          leader: s.kubernetes.leader,
          leader_identity: s.kubernetes.leaderIdentity,
          identity: s.kubernetes.identity,
          services: s.kubernetes.services,
          load_balancer_class: s.kubernetes.loadBalancerClass,
          default_class: s.kubernetes.defaultClass,
          last_error: s.kubernetes.lastError,
        }
      : undefined,
  };
}

function healthLine(s: GetStatusResponse__Output): string {
  const h = s.health;
  if (!h || h.checkedBackends === 0) return 'no health checks';
  let text = `${h.checkedBackends} backends checked: ${h.up} up, ${h.down} down, ${h.unknown} unknown`;
  if (h.failingOpenServices.length) text += `; FAILING OPEN: ${h.failingOpenServices.join(' ')}`;
  const dropping = h.allDownServices.filter((id) => !h.failingOpenServices.includes(id));
  if (dropping.length) text += `; ALL DOWN (dropping): ${dropping.join(' ')}`;
  if (h.tunnelError) text += `; tunnel probes fail: ${h.tunnelError}`;
  if (u64(h.lateProbes) > 0n) text += `; ${u64(h.lateProbes)} probes ran late`;
  return text;
}

function bgpLines(s: GetStatusResponse__Output): [string, string][] {
  const b = s.bgp;
  if (!b?.enabled) return [['bgp', 'not configured']];
  const announced = b.prefixes.filter((p) => p.announced).map((p) => p.prefix);
  const withheld = b.prefixes.filter((p) => !p.announced).map((p) => `${p.prefix} (${p.reason})`);
  const lines: [string, string][] = [
    ['bgp', `gobgpd ${b.gobgpApi} ${b.connected ? 'connected' : 'NOT REACHABLE'}, announce ${b.announce}, next hop ${[b.nextHop, b.nextHopV6].filter(Boolean).join(' ') || '-'}${b.drained ? ', NODE DRAINED' : ''}`],
    ['bgp neighbors', b.neighbors.length ? b.neighbors.map((n) => `${n.address} AS${n.peerAs} ${n.state}${n.state === 'established' ? ` ${duration(u64(n.uptimeSeconds))}` : ''}`).join(', ') : 'none'],
    ['bgp announced', announced.length ? announced.join(' ') : 'nothing'],
  ];
  if (withheld.length) lines.push(['bgp withheld', withheld.join(', ')]);
  if (b.error) lines.push(['bgp error', b.error]);
  return lines;
}

function kubernetesText(k: NonNullable<GetStatusResponse__Output['kubernetes']>): string {
  const role = k.leader ? `leader (${k.identity})` : `follower (${k.identity}; leader ${k.leaderIdentity || 'none'})`;
  const cls = `class ${k.loadBalancerClass}${k.defaultClass ? ' + classless' : ''}`;
  const state = k.synced ? `${k.services} Services` : 'not in step yet';
  return `${k.server}, ${cls}, ${state}, ${role}${k.lastError ? `; ${k.lastError}` : ''}`;
}

/** Ring sizes are powers of two: 4194304 → "4 MiB", exact or in bytes. */
function ringSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Binary units, one decimal: 70778880 → "67.5 MiB". */
export function memorySize(bytes: bigint | number): string {
  const n = Number(bytes);
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size) return `${(n / size).toFixed(n % size === 0 ? 0 : 1)} ${unit}`;
  }
  return `${n} bytes`;
}

/** "1000 × M=16381, 2 × M=65537: 68.5 MiB kernel memory" */
function tablesText(s: GetStatusResponse__Output): string {
  if (!s.maglevTables.length) return 'none';
  const sizes = s.maglevTables.map((t) => `${t.tables} × M=${t.tableSize}`).join(', ');
  return `${sizes}: ${memorySize(u64(s.maglevTableMemoryBytes))} kernel memory`;
}

export function statusTable(s: GetStatusResponse__Output): string {
  const gw = s.gateway;
  const gateway = !gw
    ? '-'
    : `${gw.ip}${gw.interface ? ` via ${gw.interface}` : ''}, ` + (gw.resolved ? `MAC ${gw.mac}` : 'MAC not resolved yet');
  let text = renderPairs([
    ['daemon', `xlbd ${s.version || '?'}, instance ${s.instance || '?'}, up ${duration(u64(s.uptimeSeconds))}`],
    ['datapath', s.adoptedDatapath ? 'adopted the running datapath at start' : 'loaded at start'],
    ['gateway', gateway],
    ['maglev', `default table size M=${s.maglevTableSize}, seed ${s.maglevSeed}`],
    ['tables', tablesText(s)],
    ['services', `${s.services} (${s.backends} backends)`],
    ['mtu', String(s.mtu)],
    ['recorder', s.recorderAvailable ? `available (ring ${ringSize(s.recorderRingBytes)})` : `off: ${s.recorderNote || 'no reason given'}`],
    ['health', healthLine(s)],
    ...bgpLines(s),
    ...(s.kubernetes ? [['kubernetes', kubernetesText(s.kubernetes)] as [string, string]] : []),
  ]);
  const rows = [['INTERFACE', 'IFINDEX', 'MAC', 'ATTACHED', 'MODE', 'PROGRAM']];
  for (const i of s.interfaces) {
    rows.push([i.name, String(i.ifindex), i.mac || '-', i.attached ? 'yes' : 'no', enumName(i.mode, 'XDP_MODE_') || '-', i.programId ? String(i.programId) : '-']);
  }
  text += '\n' + (s.interfaces.length ? renderTable(rows, [{}, { align: 'right' }, {}, {}, {}, { align: 'right' }]) : 'no interfaces\n');
  return text;
}
