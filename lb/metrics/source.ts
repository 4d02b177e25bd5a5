// What the metrics module reads from the daemon at scrape time. It is the subset of xlbd's own
// reports (lb/daemon/reports.ts StatsReport / StatusReport, the same objects GetStats and
// GetStatus are built from), so the daemon plugs itself in as it is: `new XlbMetrics({ source:
// daemon })`. Kept structural and minimal so the two modules evolve without importing each other.

export interface MetricsBackendStats {
  address: string;
  state: 'active' | 'draining';
  weight: number;
  /** Cumulative datapath counters of this (service, backend) pair. */
  packets: number;
  bytes: number;
  /** Absent (or undefined) when the service has no health check. */
  health?: { status: 'unknown' | 'up' | 'down' } | undefined;
}

export interface MetricsServiceStats {
  /** Canonical service id, e.g. 10.0.0.10:80/tcp (the `service` label). */
  id: string;
  packets: number;
  bytes: number;
  backends: MetricsBackendStats[];
  health?: { allBackendsDown: boolean; failingOpen: boolean } | undefined;
}

export interface MetricsStats {
  services: MetricsServiceStats[];
  /** Packets per XDP verdict (pass, tx, drop). */
  verdicts: Record<string, number>;
  /** Packets per reason within each verdict, lower_snake_case (drop.no_backend, pass.not_vip, tx.ipip). */
  reasons: { pass: Record<string, number>; tx: Record<string, number>; drop: Record<string, number> };
  flowTable: { hits: number; misses: number; newFlows: number; capacity: number };
  icmp: { forwarded: number; generated: number };
}

export interface MetricsInterfaceStatus {
  name: string;
  attached: boolean;
  /** The mode the program runs in (native, generic, ...): the `mode` label. */
  mode: string;
}

export interface MetricsStatus {
  version: string;
  interfaces: MetricsInterfaceStatus[];
  /** The services' Maglev tables: kernel memory in bytes, and how many of each size. */
  maglev?: { memoryBytes: number; tables: { tableSize: number; tables: number; memoryBytes: number }[] };
  health?: { inFlight: number; lateProbes: number; probesOk: number; probesFailed: number };
  bgp?: {
    enabled: boolean;
    connected: boolean;
    drained: boolean;
    neighbors: { address: string; state: string }[];
    prefixes: { prefix: string; announced: boolean }[];
  };
}

/** One service as the per-service families need it (lb/model's Service fits as it is). */
export interface MetricsService {
  id: string;
  datapathId: number;
  backends: readonly { address: string; datapathId: number; weight: number; state: 'active' | 'draining' }[];
}

/**
 * The fast path for large states: the services (immutable objects, labels are cached per object)
 * and their counters read slice by slice by datapath id, so a scrape of 10 000 services never
 * holds the event loop for long and builds no object per backend.
 */
export interface MetricsServiceSource {
  /** The services, in the order they are exposed. */
  services(): readonly MetricsService[];
  /** packets and bytes of ids[i] at [2i] and [2i + 1]. */
  counters(which: 'services' | 'backends', ids: Uint32Array): Float64Array;
  /** Optional: counters('services', ids) given the backends' counters read just before
   *  (backendIds[i] at backendCounters[2i], [2i + 1]), so backends are not read twice. */
  serviceCounters?(ids: Uint32Array, backendIds: Uint32Array, backendCounters: Float64Array): Float64Array;
}

/** Read once per scrape; any call may throw (then the datapath metrics are skipped and
 *  xlb_metrics_source_errors_total counts it). */
export interface MetricsSource {
  stats(): MetricsStats;
  status(): MetricsStatus;
  /** Optional fast path: the datapath-wide counters, with serviceSource; services: only those the
   *  health families need (with a health check), their packet/byte counters not read. */
  datapathStats?(): MetricsStats;
  /** Optional fast path: the per-service and per-backend families from here. */
  serviceSource?(): MetricsServiceSource;
}
