// What the gRPC server needs from the daemon, and the reports it gets back. xlbd's Daemon implements
// it; the server knows nothing about datapaths, files or signals. The reports are plain typed
// objects (counters resolved to service ids and reason names; the daemon's status) that
// load-balancer.ts turns into proto messages.
import type { BackendState, DesiredState, Service, StateDiff } from '../../lb/model/index.js';
import type { ChangeResult } from '../../lb/reconciler/index.js';

export interface LoadBalancerControl {
  /** The committed desired state (read-only). */
  readonly state: DesiredState;
  /**
   * Runs `op` on a copy of the state; unless dryRun, programs the datapath and persists, and
   * resolves only after the datapath reflects the change. ValidationError (lb/model) for a rejected
   * request, ReconcileError (lb/reconciler) when the kernel or the disk failed (nothing changed).
   * `peer` says who asked (api/server/peer.ts), for the log line of the change.
   */
  change(op: (draft: DesiredState) => StateDiff, o?: { dryRun?: boolean; peer?: string }): Promise<ChangeResult>;
  /** Counters; `serviceId` restricts the per-service part (ValidationError NOT_FOUND if unknown). */
  stats(serviceId?: string): StatsReport;
  status(): StatusReport;
  /** Health of services and backends (lb/health), for the service views. */
  readonly health: HealthView;
  /** Withdraws (or, with undo, re-announces) this node's BGP announcements. ValidationError
   *  FAILED_PRECONDITION when BGP is not configured. */
  drainNode(undo: boolean): Promise<DrainReport>;
}

export interface BackendHealthView {
  status: 'unknown' | 'up' | 'down';
  sinceMs: number;
  lastError: string | undefined;
  lastCheckMs: number;
  /** How it is probed, for people. */
  probe: string;
}

export interface ServiceHealthView {
  allBackendsDown: boolean;
  failingOpen: boolean;
}

export interface HealthView {
  /** undefined when the service has no health check. */
  backend(serviceId: string, address: string): BackendHealthView | undefined;
  service(serviceId: string): ServiceHealthView | undefined;
}

export interface DrainReport {
  drained: boolean;
  withdrawn: string[];
  announced: string[];
}

export interface HealthStatusReport {
  checkedBackends: number;
  up: number;
  down: number;
  unknown: number;
  inFlight: number;
  lateProbes: number;
  probesOk: number;
  probesFailed: number;
  tunnelAttached: boolean;
  tunnelError: string | undefined;
  allDownServices: string[];
  failingOpenServices: string[];
}

export interface BgpStatusReport {
  enabled: boolean;
  connected: boolean;
  gobgpApi: string;
  error: string | undefined;
  neighbors: { address: string; peerAs: number; state: string; uptimeSeconds: number }[];
  prefixes: { prefix: string; announced: boolean; reason: string }[];
  drained: boolean;
  announce: 'when_healthy' | 'always';
  nextHop: string;
  nextHopV6: string;
}

export interface BackendStatsReport {
  address: string;
  name: string | undefined;
  datapathId: number;
  state: BackendState;
  weight: number;
  packets: number;
  bytes: number;
  health: BackendHealthView | undefined;
}

export interface ServiceStatsReport {
  id: string;
  datapathId: number;
  origin: Service['origin'];
  packets: number;
  bytes: number;
  backends: BackendStatsReport[];
  health: ServiceHealthView | undefined;
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
  /** tableSize: the default M; tables: services with a table, by size, with their kernel memory. */
  maglev: { tableSize: number; seed: number; memoryBytes: number; tables: { tableSize: number; tables: number; memoryBytes: number }[] };
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
  health: HealthStatusReport;
  bgp: BgpStatusReport;
  /** Kubernetes mode, when configured. */
  kubernetes?: KubernetesStatusReport;
}

export interface KubernetesStatusReport {
  server: string;
  synced: boolean;
  leader: boolean;
  leaderIdentity: string;
  identity: string;
  services: number;
  loadBalancerClass: string;
  defaultClass: boolean;
  lastError: string | undefined;
}
