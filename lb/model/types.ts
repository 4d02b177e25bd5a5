// The desired-state vocabulary shared by the API server, the reconciler, persistence and config.
// Addresses in these types are always canonical text (see address.ts); validate.ts is the only way
// in, so code holding a ServiceSpec may trust it.
import type { CheckOverride, HealthCheckInput, HealthCheckSpec } from './health-check.js';

export type Protocol = 'tcp' | 'udp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];
/** IANA protocol numbers (the datapath's keys store them; ICMP for the recorder's rules). The one
 *  place xlb spells them. */
export const IPPROTO = Object.freeze({ icmp: 1, tcp: 6, udp: 17 } as const);

export type BackendState = 'active' | 'draining';
export const BACKEND_STATES: readonly BackendState[] = ['active', 'draining'];

/** Who manages a service: the API (CRUD calls and Apply), the config file's `services:` list, or
 *  xlbd's Kubernetes source (lb/kubernetes: Services of type LoadBalancer). */
export type Origin = 'api' | 'config' | 'kubernetes';
export const ORIGINS: readonly Origin[] = ['api', 'config', 'kubernetes'];

/** The Kubernetes Service a service of origin 'kubernetes' was made from. */
export interface KubernetesRef {
  namespace: string;
  name: string;
}

/** A service's identity: VIP, port (0 = all ports) and protocol. Its text form is the service id. */
export interface ServiceKey {
  vip: string;
  port: number;
  protocol: Protocol;
}

export interface ServiceFlags {
  /** Client persistence: hash the source address only (datapath flag HASH_SRC_IP_ONLY). */
  sourceHash: boolean;
}

export interface BackendSpec extends CheckOverride {
  address: string;
  /** 0..65535. 0 implies state 'draining'; an 'active' backend has weight ≥ 1. */
  weight: number;
  state: BackendState;
  name?: string;
}

export interface ServiceSpec extends ServiceKey {
  flags: ServiceFlags;
  /** Maglev table size M of this service (slots), one of the allowed primes. */
  tableSize: number;
  /** Sorted by address (IPv4 first, then by bytes); unique addresses. */
  backends: BackendSpec[];
  /** Absent: no health check (every backend counts as up). */
  healthCheck?: HealthCheckSpec;
}

/** A backend as stored: the spec plus its datapath id. */
export interface Backend extends BackendSpec {
  /** uint32 id of this (service, backend) pair in the datapath's `backends` map; ≥ 1. */
  datapathId: number;
  family: 4 | 6;
}

/** A service as stored: the spec plus identity, origin and datapath ids. */
export interface Service extends ServiceSpec {
  /** Canonical service id, e.g. "10.0.0.10:80/tcp". */
  id: string;
  family: 4 | 6;
  origin: Origin;
  /** Set exactly for origin 'kubernetes': the Service it belongs to (read-only for the API). */
  kubernetes?: KubernetesRef;
  /** uint32 index of the service's Maglev table in the datapath (`maglev_outer`); ≥ 1. */
  datapathId: number;
  backends: Backend[];
}

/**
 * Loosely typed input, as converted from a proto message, a YAML document or the state file.
 * Everything is checked by validate.ts; `undefined` means "not given".
 */
export interface ServiceInput {
  /** Service id; may replace vip/port/protocol, or must agree with them. */
  id?: unknown;
  vip?: unknown;
  port?: unknown;
  protocol?: unknown;
  flags?: { sourceHash?: unknown } | undefined;
  /** Maglev table size M; absent (or 0): the default (Limits.maglevTableSize). */
  tableSize?: unknown;
  backends?: unknown;
  /** Absent or null: no health check. */
  healthCheck?: HealthCheckInput | null;
  /** Only for apply(..., { origin: 'kubernetes' }), where it is required: { namespace, name }. */
  kubernetes?: unknown;
}

export interface BackendInput {
  address?: unknown;
  /** Absent: 1 (or the weight it had, for an update). */
  weight?: unknown;
  /** 'active' | 'draining'; absent: derived from the weight. */
  state?: unknown;
  name?: unknown;
  checkAddress?: unknown;
  checkPort?: unknown;
}

/**
 * Capacity limits. Datapath ids are drawn from 1..maxServices and 1..maxBackends (0 is never an
 * id), so the datapath's maps need max_entries ≥ max + 1.
 */
export interface Limits {
  maxServices: number;
  maxBackends: number;
  maxBackendsPerService: number;
  /** The Maglev table size M of a service that names none (default: lb/maglev DEFAULT_TABLE_SIZE).
   *  Every active backend's ideal share (M·w/Σw) of its service's table must be ≥ 1 slot, the rule
   *  lb/maglev enforces, so a table build can never reject an accepted state. */
  maglevTableSize?: number;
  /** The table sizes a service may choose (default: lb/maglev ALLOWED_TABLE_SIZES). */
  tableSizes?: readonly number[];
}

/** Effective Maglev weight: draining backends get no slots. */
export function maglevWeight(backend: BackendSpec): number {
  return backend.state === 'draining' ? 0 : backend.weight;
}
