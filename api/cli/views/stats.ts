// `xlb stats`: per service and backend counters, then the datapath's global figures. In watch
// mode each frame also shows rates computed from the previous frame's counters and timestamps.
import type { GetStatsResponse__Output } from '../../generated/xlb/v1/GetStatsResponse.js';
import type { NamedCounter__Output } from '../../generated/xlb/v1/NamedCounter.js';
import type { Service__Output } from '../../generated/xlb/v1/Service.js';
import type { JsonValue } from '../render/json.js';
import { renderPairs, renderTable } from '../render/table.js';
import { count, enumName, rate, u64 } from './common.js';
import { backendHealthJson, backendHealthText, serviceHealthText } from './health.js';

export function statsJson(s: GetStatsResponse__Output): JsonValue {
  const named = (list: NamedCounter__Output[]) => list.map((c) => ({ name: c.name, packets: u64(c.packets) }));
  return {
    services: s.services.map((svc) => ({
      service_id: svc.serviceId,
      packets: u64(svc.packets),
      bytes: u64(svc.bytes),
      backends: svc.backends.map((b) => ({
        address: b.address,
        datapath_id: b.datapathId,
        state: enumName(b.state, 'BACKEND_STATE_'),
        packets: u64(b.packets),
        bytes: u64(b.bytes),
        health: b.health ? backendHealthJson(b.health) : undefined,
      })),
      health: svc.health ? { all_backends_down: svc.health.allBackendsDown, failing_open: svc.health.failingOpen } : undefined,
    })),
    verdicts: named(s.verdicts),
    drops: named(s.drops),
    flow_table: {
      hits: u64(s.flowTable?.hits),
      misses: u64(s.flowTable?.misses),
      new_flows: u64(s.flowTable?.newFlows),
      capacity: u64(s.flowTable?.capacity),
    },
    icmp: { forwarded: u64(s.icmp?.forwarded), generated: u64(s.icmp?.generated) },
    timestamp_ms: u64(s.timestampMs),
  };
}

interface Sample {
  packets: bigint;
  bytes: bigint;
}

/** Counters of the previous frame, for rates. */
export class RateMemory {
  #previous = new Map<string, Sample>();
  #previousMs: bigint | undefined;
  #seconds: number | undefined;

  /** Starts a frame taken at `timestampMs`; returns false for the first frame (no rates yet). */
  begin(timestampMs: bigint): boolean {
    this.#seconds = this.#previousMs === undefined ? undefined : Number(timestampMs - this.#previousMs) / 1000;
    this.#previousMs = timestampMs;
    return this.#seconds !== undefined && this.#seconds > 0;
  }

  /** [packets/s, bits/s] of `key` since the previous frame (NaN when unknown), and remembers `now`. */
  rates(key: string, now: Sample): [number, number] {
    const before = this.#previous.get(key);
    this.#previous.set(key, now);
    const s = this.#seconds;
    if (!before || s === undefined || s <= 0 || now.packets < before.packets) return [NaN, NaN];
    return [Number(now.packets - before.packets) / s, (Number(now.bytes - before.bytes) * 8) / s];
  }
}

function namedLine(list: NamedCounter__Output[], onlyNonZero: boolean): string {
  const shown = list.filter((c) => !onlyNonZero || u64(c.packets) > 0n);
  if (shown.length === 0) return 'none';
  return shown.map((c) => `${c.name} ${count(u64(c.packets))}`).join('   ');
}

/**
 * SERVICE / BACKEND      STATE     WEIGHT  PACKETS  BYTES  [PKT/S  BIT/S]
 * 10.0.0.10:80/tcp                             12    840
 *   -> 10.1.0.5          active       100       7    490
 * then verdicts, non-zero drop reasons, flow table and ICMP lines.
 */
export function statsTable(
  stats: GetStatsResponse__Output,
  services: readonly Service__Output[] | undefined,
  rates: RateMemory | undefined,
): string {
  const weights = new Map<string, number>();
  for (const s of services ?? []) for (const b of s.backends) weights.set(`${s.id}|${b.address}`, b.weight ?? 0);
  const withRates = rates !== undefined && rates.begin(u64(stats.timestampMs));
  const rateCells = (key: string, sample: Sample): string[] => {
    if (!rates) return [];
    const [pps, bps] = rates.rates(key, sample);
    return withRates ? [rate(pps), rate(bps)] : ['-', '-'];
  };
  const withHealth = stats.services.some((s) => s.backends.some((b) => b.health));
  const nowMs = Number(u64(stats.timestampMs)) || Date.now();
  const rows: string[][] = [['SERVICE / BACKEND', 'STATE', 'WEIGHT', 'PACKETS', 'BYTES', ...(rates ? ['PKT/S', 'BIT/S'] : []), ...(withHealth ? ['HEALTH'] : [])]];
  for (const s of stats.services) {
    const sample = { packets: u64(s.packets), bytes: u64(s.bytes) };
    rows.push([s.serviceId, '', '', count(sample.packets), count(sample.bytes), ...rateCells(s.serviceId, sample), ...(withHealth ? [serviceHealthText(s.health).trim()] : [])]);
    for (const b of s.backends) {
      const key = `${s.serviceId}|${b.address}`;
      const bs = { packets: u64(b.packets), bytes: u64(b.bytes) };
      const w = weights.get(key);
      rows.push([
        `  -> ${b.address}`,
        enumName(b.state, 'BACKEND_STATE_'),
        w === undefined ? '' : String(w),
        count(bs.packets),
        count(bs.bytes),
        ...rateCells(key, bs),
        ...(withHealth ? [b.health ? backendHealthText(b.health, nowMs) : '-'] : []),
      ]);
    }
  }
  const right = { align: 'right' as const };
  let text = stats.services.length
    ? renderTable(rows, [{}, {}, right, right, right, right, right])
    : 'no services\n';
  const ft = stats.flowTable;
  text += '\n' + renderPairs([
    ['verdicts', namedLine(stats.verdicts, false)],
    ['drops', namedLine(stats.drops, true)],
    [
      'flow table',
      `hits ${count(u64(ft?.hits))}   misses ${count(u64(ft?.misses))}   new flows ${count(u64(ft?.newFlows))}   capacity ${count(u64(ft?.capacity))}`,
    ],
    ['icmp', `forwarded ${count(u64(stats.icmp?.forwarded))}   generated ${count(u64(stats.icmp?.generated))}`],
  ]);
  return text;
}
