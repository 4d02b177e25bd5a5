// The datapath's public vocabulary: what the control plane passes in and gets back.
import type { BackendState, Protocol } from '../model/index.js';
import type { Counter, GlobalCounters } from './layout.js';

/** A service as the datapath sees it. Ids are chosen by the caller: 0 … maxServices−1. */
export interface DatapathService {
  id: number;
  vip: string;
  /** 0 = every port of the VIP (all-ports service). */
  port: number;
  protocol: Protocol;
  /** Client persistence: place by client address only; one flow-table entry per (client, service). */
  sourceHash?: boolean;
  /**
   * Slots M of the service's Maglev table, one of lb/maglev ALLOWED_TABLE_SIZES. Default: the load
   * option tableSize. Kernel memory per service: LbDatapath.tableMemoryBytes(M) (68 KiB at 16381).
   */
  tableSize?: number;
}

/** A backend of one service. Ids are per (service, backend) pair: 0 … maxBackends−1. */
export interface DatapathBackend {
  id: number;
  address: string;
  /** 0 … 65535; 0 means draining. */
  weight: number;
  /** 'draining': keeps established flows, gets no new ones. Default 'active' (if weight > 0). */
  state?: BackendState;
}

export interface DatapathConfig {
  /** Source MAC of encapsulated frames (the LB's interface). */
  ifMac: string;
  /** Next hop towards the backends. */
  gatewayMac: string;
  /** Fixed outer source for IPv4 outer headers (IPIP, 6in4). */
  sourceV4?: string;
  /** Fixed outer source for IPv6 outer headers (IP6IP6, 4in6). */
  sourceV6?: string;
  /** Per-flow IPv4 outer source: network | (flow hash & host bits). Excludes sourceV4. */
  sourceCidrV4?: string;
  /** Per-flow IPv6 outer source; prefix ≥ 96 (the flow hash varies the last 32 bits). Excludes sourceV6. */
  sourceCidrV6?: string;
}

export interface BackendSetResult {
  /** Backends with slots in the new table (0: new flows are dropped, counted noBackend). */
  activeBackends: number;
  slotsPerBackend: Map<number, number>;
  warnings: string[];
  /** How the table reached the datapath: a fresh table swapped in, slots rewritten in place, the
   *  table removed (no active backend), or nothing to do (still none). */
  tableWrite: 'swap' | 'inPlace' | 'removed' | 'none';
  /** Slots whose backend id changed (M for a swap that replaced no table). */
  slotsChanged: number;
}

/** setBackends options. */
export interface BackendSetOptions {
  /**
   * 'swap' (default): fill a fresh table and swap it in with one map update — a packet sees the
   * old or the new table, never a mix; costs the kernel an RCU grace period for the old table.
   * 'inPlace': rewrite only the slots that change in the live table, one atomic 32-bit store each
   * — a packet sees each slot old or new (any mix across slots); no new map, no grace period.
   * Falls back to 'swap' when there is no live table of the same size to rewrite.
   */
  write?: 'swap' | 'inPlace';
  /** The table to install (length = the service's tableSize), e.g. built incrementally by the
   *  caller; default: built here from `backends` with lb/maglev. */
  table?: Uint32Array;
}

export type DatapathCounters = GlobalCounters & {
  /** Per service id: every packet matched to the service (incl. drops and ICMP replies). */
  services: Map<number, Counter>;
  /** Per backend id: packets encapsulated towards the backend (incl. forwarded ICMP errors). */
  backends: Map<number, Counter>;
};

/** A flow's addressing as the client sent it. */
export interface FlowTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: Protocol;
}

export interface FlowEntry extends FlowTuple {
  backendId: number;
  serviceId: number;
  /** CLOCK_MONOTONIC ns of the last packet (compare with process.hrtime.bigint() on Linux). */
  lastSeenNs: bigint;
}

export interface Placement {
  serviceId: number;
  hash: number;
  slot: number;
  /** Backend in that slot, or undefined when the service has no table (no active backend). */
  backendId: number | undefined;
}

export interface MapInfo {
  id: number;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export type XdpVerdict = 'aborted' | 'drop' | 'pass' | 'tx' | 'redirect';
