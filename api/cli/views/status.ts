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
    services: s.services,
    backends: s.backends,
    mtu: s.mtu,
    adopted_datapath: s.adoptedDatapath,
    recorder_available: s.recorderAvailable,
    recorder_note: s.recorderNote,
    recorder_ring_bytes: s.recorderRingBytes,
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

export function statusTable(s: GetStatusResponse__Output): string {
  const gw = s.gateway;
  const gateway = !gw
    ? '-'
    : `${gw.ip}${gw.interface ? ` via ${gw.interface}` : ''}, ` + (gw.resolved ? `MAC ${gw.mac}` : 'MAC not resolved yet');
  let text = renderPairs([
    ['daemon', `xlbd ${s.version || '?'}, instance ${s.instance || '?'}, up ${duration(u64(s.uptimeSeconds))}`],
    ['datapath', s.adoptedDatapath ? 'adopted the running datapath at start' : 'loaded at start'],
    ['gateway', gateway],
    ['maglev', `table size M=${s.maglevTableSize}, seed ${s.maglevSeed}`],
    ['services', `${s.services} (${s.backends} backends)`],
    ['mtu', String(s.mtu)],
    ['recorder', s.recorderAvailable ? `available (ring ${ringSize(s.recorderRingBytes)})` : `off: ${s.recorderNote || 'no reason given'}`],
    ...(s.kubernetes ? [['kubernetes', kubernetesText(s.kubernetes)] as [string, string]] : []),
  ]);
  const rows = [['INTERFACE', 'IFINDEX', 'MAC', 'ATTACHED', 'MODE', 'PROGRAM']];
  for (const i of s.interfaces) {
    rows.push([i.name, String(i.ifindex), i.mac || '-', i.attached ? 'yes' : 'no', enumName(i.mode, 'XDP_MODE_') || '-', i.programId ? String(i.programId) : '-']);
  }
  text += '\n' + (s.interfaces.length ? renderTable(rows, [{}, { align: 'right' }, {}, {}, {}, { align: 'right' }]) : 'no interfaces\n');
  return text;
}
