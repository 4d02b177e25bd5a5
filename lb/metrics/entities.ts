// The per-service and per-backend families (packets, bytes, weight, and the configured counts),
// written as exposition bytes directly instead of through prom-client's label maps: with 10 000
// services × 16 backends that is half a million samples (36 MiB) per scrape. Each sample line's
// prefix (name and labels) is encoded once per service object (the model's services are immutable, so a WeakMap keyed by them
// stays right), and so are a service's whole weight lines; per scrape only the counter values are
// written (ByteWriter: no string per sample). Counters are read slice by slice (one native call per
// map), and the event loop gets a turn whenever a few milliseconds of rendering have passed, so API
// calls and the recorder keep flowing during a scrape.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BufferPool } from './buffer-pool.js';
import { asBytes, ByteWriter, MAX_NUMBER_BYTES, putNumber } from './byte-writer.js';
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

/** Services per counter read (one native call per map) and per rendering step. */
const SLICE = 128;
/** Rendering time after which the event loop gets a turn (ms). */
const TURN_MS = 3;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A service's sample-line prefixes (metric name and labels, up to the value), encoded once. */
interface Lines {
  servicePackets: Uint8Array;
  serviceBytes: Uint8Array;
  /** `xlb_backend_packets_total{service="…",backend="…"} ` per backend, concatenated; ends[j] = end of backend j's. */
  backendPackets: Uint8Array;
  packetsEnds: Uint32Array;
  backendBytes: Uint8Array;
  bytesEnds: Uint32Array;
  /** The service's complete xlb_backend_weight lines (weights are part of the immutable object). */
  weights: Uint8Array;
}

const linesCache = new WeakMap<object, Lines>();

function joined(prefixes: string[]): { buf: Uint8Array; ends: Uint32Array } {
  const parts = prefixes.map((p) => Buffer.from(p, 'utf8'));
  const ends = new Uint32Array(parts.length);
  let end = 0;
  parts.forEach((p, j) => (ends[j] = end += p.length));
  return { buf: asBytes(Buffer.concat(parts)), ends };
}

function linesOf(s: MetricsService): Lines {
  let l = linesCache.get(s);
  if (!l) {
    const svc = `{service="${escapeLabel(s.id)}"} `;
    const labels = s.backends.map((b) => `{service="${escapeLabel(s.id)}",backend="${escapeLabel(b.address)}"} `);
    const packets = joined(labels.map((x) => METRIC.backendPackets + x));
    const bytes = joined(labels.map((x) => METRIC.backendBytes + x));
    l = {
      servicePackets: asBytes(Buffer.from(METRIC.servicePackets + svc, 'utf8')),
      serviceBytes: asBytes(Buffer.from(METRIC.serviceBytes + svc, 'utf8')),
      backendPackets: packets.buf,
      packetsEnds: packets.ends,
      backendBytes: bytes.buf,
      bytesEnds: bytes.ends,
      weights: asBytes(Buffer.from(s.backends.map((b, j) => `${METRIC.backendWeight}${labels[j]}${b.weight}\n`).join(''), 'utf8')),
    };
    linesCache.set(s, l);
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

function sliceOfStats(stats: MetricsStats): Slice {
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
  return { services, serviceCounters, backendCounters };
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
  if (source.serviceCounters) {
    const backendCounters = source.counters('backends', bids);
    return { services, serviceCounters: source.serviceCounters(sids, bids, backendCounters), backendCounters };
  }
  return { services, serviceCounters: source.counters('services', sids), backendCounters: source.counters('backends', bids) };
}

const NL = 10;

/** Backend j's line: prefixes[ends[j-1], ends[j]) then values[at + 2j], for j < n. */
function writeBackends(w: ByteWriter, prefixes: Uint8Array, ends: Uint32Array, values: Float64Array, at: number, n: number, perLine: number): void {
  const out = w.room(prefixes.length + n * perLine);
  let pos = w.length;
  let start = 0;
  for (let j = 0; j < n; j++) {
    const end = ends[j]!;
    out.set(prefixes.subarray(start, end), pos);
    pos = putNumber(out, pos + end - start, values[at + 2 * j]!);
    out[pos++] = NL;
    start = end;
  }
  w.length = pos;
}

/** Sizes of the last scrape's families: the next one starts with buffers that fit. */
let lastSizes: number[] = [];

/**
 * The families' bytes, in family order. With no input (no source, or it failed) the families are
 * announced without samples: an absent sample is honest, a 0 would read as a counter reset.
 */
export async function entityChunks(input: EntityInput, pool?: BufferPool): Promise<{ chunks: Buffer[]; backing: Uint8Array[] }> {
  const families = Object.keys(ENTITY_FAMILIES) as Family[];
  const out = Object.fromEntries(families.map((f, i) => [f, new ByteWriter(Math.ceil((lastSizes[i] ?? 0) * 1.1) + 4096, pool)])) as Record<Family, ByteWriter>;
  const sp = out[METRIC.servicePackets];
  const sb = out[METRIC.serviceBytes];
  const bp = out[METRIC.backendPackets];
  const bb = out[METRIC.backendBytes];
  const bw = out[METRIC.backendWeight];
  const counts = { services: 0, active: 0, draining: 0 };
  // Per service: room for all its lines is reserved once, then prefixes are copied and numbers
  // written at a local position (no bounds check or method call per sample).
  const write = (slice: Slice) => {
    const sc = slice.serviceCounters;
    const bc = slice.backendCounters;
    let k = 0;
    for (let i = 0; i < slice.services.length; i++) {
      const s = slice.services[i]!;
      const l = linesOf(s);
      let out = sp.room(l.servicePackets.length + MAX_NUMBER_BYTES + 1);
      out.set(l.servicePackets, sp.length);
      let pos = putNumber(out, sp.length + l.servicePackets.length, sc[2 * i]!);
      out[pos++] = NL;
      sp.length = pos;
      out = sb.room(l.serviceBytes.length + MAX_NUMBER_BYTES + 1);
      out.set(l.serviceBytes, sb.length);
      pos = putNumber(out, sb.length + l.serviceBytes.length, sc[2 * i + 1]!);
      out[pos++] = NL;
      sb.length = pos;
      const n = s.backends.length;
      const perLine = MAX_NUMBER_BYTES + 1;
      writeBackends(bp, l.backendPackets, l.packetsEnds, bc, k, n, perLine);
      writeBackends(bb, l.backendBytes, l.bytesEnds, bc, k + 1, n, perLine);
      k += 2 * n;
      for (let j = 0; j < n; j++) counts[s.backends[j]!.state]++;
      bw.bytes(l.weights);
    }
    counts.services += slice.services.length;
  };

  if (input && 'stats' in input) {
    write(sliceOfStats(input.stats));
  } else if (input) {
    const services = input.source.services();
    let since = performance.now();
    for (let i = 0; i < services.length; i += SLICE) {
      if (performance.now() - since > TURN_MS) {
        await nextTurn();
        since = performance.now();
      }
      // A slice's counters in one read; rendered in parts, so a turn comes every few ms.
      const slice = sliceOfSource(input.source, services.slice(i, i + SLICE));
      write(slice);
    }
  }
  if (input) {
    out[METRIC.servicesConfigured].text(`${METRIC.servicesConfigured} ${counts.services}\n`);
    out[METRIC.backendsConfigured].text(
      `${METRIC.backendsConfigured}{state="active"} ${counts.active}\n${METRIC.backendsConfigured}{state="draining"} ${counts.draining}\n`,
    );
  }
  lastSizes = families.map((f) => out[f].length);
  return {
    chunks: families.flatMap((name) => [Buffer.from(`# HELP ${name} ${ENTITY_FAMILIES[name].help}\n# TYPE ${name} ${ENTITY_FAMILIES[name].type}\n`, 'utf8'), out[name].view()]),
    backing: families.map((f) => out[f].backing),
  };
}

/** entityChunks as one string (tests, tools). */
export async function entityText(input: EntityInput): Promise<string> {
  return Buffer.concat((await entityChunks(input)).chunks).toString('utf8');
}
