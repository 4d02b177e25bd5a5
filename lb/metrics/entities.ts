// The per-service and per-backend families (packets, bytes, weight, and the configured counts),
// written as exposition text directly instead of through prom-client's label maps: with 10 000
// services × 16 backends that is half a million samples per scrape. Label strings are built once
// per service object (the model's services are immutable, so a WeakMap keyed by them stays right),
// counters are read slice by slice (500 services, one native call per map), and the event loop gets
// a turn between slices, so API calls and the recorder keep flowing during a scrape.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { METRIC } from './names.js';
import type { MetricsService, MetricsServiceSource, MetricsStats } from './source.js';

export const ENTITY_FAMILIES = {
  [METRIC.servicePackets]: { type: 'counter', help: 'Packets to the service (matched VIP, port and protocol), whatever their verdict.' },
  [METRIC.serviceBytes]: { type: 'counter', help: 'Bytes of the packets to the service, as received.' },
  [METRIC.backendPackets]: { type: 'counter', help: 'Packets sent to the backend (encapsulated), including forwarded ICMP errors.' },
  [METRIC.backendBytes]: { type: 'counter', help: 'Bytes sent to the backend, counted before encapsulation.' },
  [METRIC.backendWeight]: { type: 'gauge', help: "Backend's configured weight (a draining backend keeps its weight but gets no new flows)." },
  [METRIC.servicesConfigured]: { type: 'gauge', help: 'Services in the desired state.' },
  [METRIC.backendsConfigured]: { type: 'gauge', help: 'Backends in the desired state (all services), by state.' },
} as const;

type Family = keyof typeof ENTITY_FAMILIES;

const SLICE = 500;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

interface Labels {
  service: string;
  backends: string[];
}

const labelCache = new WeakMap<object, Labels>();

function labelsOf(s: MetricsService): Labels {
  let l = labelCache.get(s);
  if (!l) {
    const svc = escapeLabel(s.id);
    l = { service: `{service="${svc}"}`, backends: s.backends.map((b) => `{service="${svc}",backend="${escapeLabel(b.address)}"}`) };
    labelCache.set(s, l);
  }
  return l;
}

/** One slice of services with their counters: packets/bytes pairs, services' backends in order. */
interface Slice {
  services: readonly MetricsService[];
  serviceCounters: Float64Array;
  backendCounters: Float64Array;
}

/** Where a scrape's per-service data comes from: the fast path, or a stats report. */
export type EntityInput = { source: MetricsServiceSource } | { stats: MetricsStats } | undefined;

function* slicesOfStats(stats: MetricsStats): Generator<Slice> {
  const services: MetricsService[] = stats.services.map((s) => ({
    id: s.id,
    datapathId: 0,
    backends: s.backends.map((b) => ({ address: b.address, datapathId: 0, weight: b.weight, state: b.state })),
  }));
  const serviceCounters = new Float64Array(stats.services.length * 2);
  const backendCounters = new Float64Array(stats.services.reduce((n, s) => n + s.backends.length, 0) * 2);
  let k = 0;
  stats.services.forEach((s, i) => {
    serviceCounters[2 * i] = s.packets;
    serviceCounters[2 * i + 1] = s.bytes;
    for (const b of s.backends) {
      backendCounters[k++] = b.packets;
      backendCounters[k++] = b.bytes;
    }
  });
  yield { services, serviceCounters, backendCounters };
}

function sliceOfSource(source: MetricsServiceSource, services: readonly MetricsService[]): Slice {
  const sids = new Uint32Array(services.length);
  let nb = 0;
  services.forEach((s, i) => {
    sids[i] = s.datapathId;
    nb += s.backends.length;
  });
  const bids = new Uint32Array(nb);
  let k = 0;
  for (const s of services) for (const b of s.backends) bids[k++] = b.datapathId;
  return { services, serviceCounters: source.counters('services', sids), backendCounters: source.counters('backends', bids) };
}

/**
 * The families' text. With no input (no source, or it failed) the families are announced without
 * samples: an absent sample is honest, a 0 would read as a counter reset.
 */
export async function entityText(input: EntityInput): Promise<string> {
  const parts: Record<Family, string[]> = Object.fromEntries(Object.keys(ENTITY_FAMILIES).map((f) => [f, []])) as unknown as Record<Family, string[]>;
  const counts = { services: 0, active: 0, draining: 0 };
  const write = (slice: Slice) => {
    let sp = '';
    let sb = '';
    let bp = '';
    let bb = '';
    let bw = '';
    let k = 0;
    slice.services.forEach((s, i) => {
      const l = labelsOf(s);
      sp += `${METRIC.servicePackets}${l.service} ${slice.serviceCounters[2 * i]}\n`;
      sb += `${METRIC.serviceBytes}${l.service} ${slice.serviceCounters[2 * i + 1]}\n`;
      s.backends.forEach((b, j) => {
        const bl = l.backends[j]!;
        bp += `${METRIC.backendPackets}${bl} ${slice.backendCounters[k]}\n`;
        bb += `${METRIC.backendBytes}${bl} ${slice.backendCounters[k + 1]}\n`;
        bw += `${METRIC.backendWeight}${bl} ${b.weight}\n`;
        k += 2;
        counts[b.state]++;
      });
    });
    counts.services += slice.services.length;
    parts[METRIC.servicePackets].push(sp);
    parts[METRIC.serviceBytes].push(sb);
    parts[METRIC.backendPackets].push(bp);
    parts[METRIC.backendBytes].push(bb);
    parts[METRIC.backendWeight].push(bw);
  };

  if (input && 'stats' in input) {
    for (const slice of slicesOfStats(input.stats)) write(slice);
  } else if (input) {
    const services = input.source.services();
    for (let i = 0; i < services.length; i += SLICE) {
      if (i > 0) await nextTurn();
      write(sliceOfSource(input.source, services.slice(i, i + SLICE)));
    }
  }
  if (input) {
    parts[METRIC.servicesConfigured].push(`${METRIC.servicesConfigured} ${counts.services}\n`);
    parts[METRIC.backendsConfigured].push(
      `${METRIC.backendsConfigured}{state="active"} ${counts.active}\n${METRIC.backendsConfigured}{state="draining"} ${counts.draining}\n`,
    );
  }
  let text = '';
  for (const [name, f] of Object.entries(ENTITY_FAMILIES)) {
    text += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n${parts[name as Family].join('')}`;
  }
  return text;
}
