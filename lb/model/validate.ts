// Validation of services and backends: the only way from loosely typed input (proto, YAML, state
// file) to a canonical ServiceSpec. Field paths use the request's own names (snake_case), so an
// error reads the same whichever door the input came through.
import { ALLOWED_TABLE_SIZES, DEFAULT_TABLE_SIZE, MAX_WEIGHT } from '../maglev/index.js';
import { parseUnicastIp, type IpAddress, compareIp, parseIp } from './address.js';
import { describeValue, invalid, joinField } from './errors.js';
import { validateCheckOverride, validateHealthCheck } from './health-check.js';
import { formatServiceId, parseProtocol, parseServiceId } from './service-id.js';
import {
  BACKEND_STATES,
  type BackendSpec,
  type BackendState,
  type KubernetesRef,
  type Limits,
  type ServiceFlags,
  type ServiceKey,
  type ServiceSpec,
} from './types.js';

export { MAX_WEIGHT };
/** Weight of a backend created without one (ipvsadm's default too). */
export const DEFAULT_WEIGHT = 1;
export const MAX_NAME_LENGTH = 63;
// A DNS-label-like charset keeps names safe as Prometheus label values, table cells and file names.
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** A uint in [min, max]; `what` completes "must be ...". */
export function checkInteger(value: unknown, field: string, min: number, max: number, what = `an integer ${min}..${max}`): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${describeValue(value)} is out of range; must be ${what}`);
  }
  return value;
}

export interface ValidatedKey {
  key: ServiceKey;
  vip: IpAddress;
}

/**
 * The identity part of a service: either `id` alone, or vip + port + protocol (with `id`, when
 * also given, naming the same service).
 */
export function validateServiceKey(input: Record<string, unknown>, field: string): ValidatedKey {
  const hasId = !isAbsent(input.id);
  // Port 0 is also the proto default, so only a non-zero port counts as "given".
  const hasParts = !isAbsent(input.vip) || !isAbsent(input.protocol) || (input.port !== undefined && input.port !== 0);
  if (hasId && !hasParts) {
    const key = parseServiceId(input.id, joinField(field, 'id'));
    return { key, vip: parseIp(key.vip, joinField(field, 'id')) };
  }
  const vip = parseUnicastIp(input.vip, joinField(field, 'vip'), 'VIP');
  // Required rather than defaulting to 0: a forgotten port must not silently mean "all ports".
  if (input.port === undefined || input.port === null) throw invalid(joinField(field, 'port'), 'is required (1..65535, or 0 for all ports)');
  const port = checkInteger(input.port, joinField(field, 'port'), 0, 65535, 'a port 1..65535, or 0 for all ports');
  if (isAbsent(input.protocol)) throw invalid(joinField(field, 'protocol'), 'is required (tcp or udp)');
  const protocol = parseProtocol(input.protocol, joinField(field, 'protocol'));
  const key: ServiceKey = { vip: vip.text, port, protocol };
  if (hasId) {
    const named = parseServiceId(input.id, joinField(field, 'id'));
    if (formatServiceId(named) !== formatServiceId(key)) {
      throw invalid(
        joinField(field, 'id'),
        `names ${formatServiceId(named)} but vip/port/protocol say ${formatServiceId(key)}; give one or make them agree`,
      );
    }
  }
  return { key, vip };
}

export function validateFlags(flags: unknown, field: string): ServiceFlags {
  if (flags === undefined || flags === null) return { sourceHash: false };
  if (!isPlainObject(flags)) throw invalid(field, `expected flags { source_hash }, got ${describeValue(flags)}`);
  const sourceHash = flags.sourceHash ?? false;
  if (typeof sourceHash !== 'boolean') throw invalid(joinField(field, 'source_hash'), `${describeValue(sourceHash)} is not true or false`);
  return { sourceHash };
}

export function validateName(name: unknown, field: string): string | undefined {
  if (name === undefined || name === null || name === '') return undefined;
  if (typeof name !== 'string') throw invalid(field, `expected a string, got ${describeValue(name)}`);
  if (name.length > MAX_NAME_LENGTH) throw invalid(field, `is ${name.length} characters long; at most ${MAX_NAME_LENGTH} allowed`);
  if (!NAME_PATTERN.test(name)) {
    throw invalid(field, `${describeValue(name)} may only contain letters, digits, '.', '_' and '-', and must start with a letter or digit`);
  }
  return name;
}

// Namespaces and Service names are DNS-1123 labels (Service names also start with a letter, which
// the API server checks; a label is all this reference needs to be unambiguous and printable).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The { namespace, name } of the Kubernetes Service a service of origin 'kubernetes' belongs to. */
export function validateKubernetesRef(value: unknown, field: string): KubernetesRef {
  if (!isPlainObject(value)) throw invalid(field, `expected { namespace, name } of a Kubernetes Service, got ${describeValue(value)}`);
  for (const key of ['namespace', 'name'] as const) {
    const v = value[key];
    if (typeof v !== 'string' || !DNS_LABEL.test(v)) {
      throw invalid(joinField(field, key), `${describeValue(v)} is not a Kubernetes ${key} (a DNS label: 1..63 of a-z 0-9 -)`);
    }
  }
  return { namespace: value.namespace as string, name: value.name as string };
}

export function validateWeight(weight: unknown, field: string): number {
  return checkInteger(weight, field, 0, MAX_WEIGHT, `an integer 0..${MAX_WEIGHT} (0 = draining)`);
}

export function validateState(state: unknown, field: string): BackendState {
  if (typeof state === 'string' && (BACKEND_STATES as readonly string[]).includes(state)) return state as BackendState;
  throw invalid(field, `unknown backend state ${describeValue(state)}; expected active or draining`);
}

/** Weight and state together: weight 0 means draining, and an active backend needs weight ≥ 1. */
export function reconcileWeightAndState(weight: number, state: BackendState | undefined, weightField: string): BackendState {
  if (state === undefined) return weight === 0 ? 'draining' : 'active';
  if (state === 'active' && weight === 0) {
    throw invalid(weightField, '0 means draining; an active backend needs a weight 1..65535 (or set state draining)');
  }
  return state;
}

/** The address of a backend of a service whose VIP is `vip`, with the family rule. */
export function validateBackendAddress(address: unknown, vip: IpAddress, field: string): IpAddress {
  const ip = parseUnicastIp(address, field, 'backend address');
  if (vip.family === 6 && ip.family === 4) {
    throw invalid(field, `${ip.text} is IPv4 but the VIP ${vip.text} is IPv6; an IPv6 service needs IPv6 backends (there is no 6in4 encapsulation)`);
  }
  if (compareIp(ip, vip) === 0) throw invalid(field, `${ip.text} is the VIP itself; a backend must be another host`);
  return ip;
}

export interface ValidatedBackend {
  spec: BackendSpec;
  ip: IpAddress;
}

export function validateBackend(input: unknown, vip: IpAddress, field: string): ValidatedBackend {
  if (!isPlainObject(input)) throw invalid(field, `expected a backend { address, weight, state, name, check_address, check_port }, got ${describeValue(input)}`);
  const ip = validateBackendAddress(input.address, vip, joinField(field, 'address'));
  const weight = input.weight === undefined || input.weight === null ? DEFAULT_WEIGHT : validateWeight(input.weight, joinField(field, 'weight'));
  const rawState = input.state === undefined || input.state === null ? undefined : validateState(input.state, joinField(field, 'state'));
  const state = reconcileWeightAndState(weight, rawState, joinField(field, 'weight'));
  const name = validateName(input.name, joinField(field, 'name'));
  const spec: BackendSpec = { address: ip.text, weight, state };
  if (name !== undefined) spec.name = name;
  Object.assign(spec, validateCheckOverride(input.checkAddress, input.checkPort, field));
  return { spec, ip };
}

/**
 * The rule lb/maglev's apportionment enforces: each active backend's ideal share of an M-slot
 * table, M·w/Σw, must be at least one slot. Checked here so that an accepted state always builds.
 */
export function checkMaglevShares(backends: readonly BackendSpec[], tableSize: number, fieldOf: (index: number) => string): void {
  let total = 0;
  for (const b of backends) if (b.state === 'active') total += b.weight;
  backends.forEach((b, i) => {
    if (b.state === 'active' && tableSize * b.weight < total) {
      throw invalid(
        fieldOf(i),
        `weight ${b.weight} of ${total} in total gives backend ${b.address} less than one slot of the ` +
          `${tableSize}-slot Maglev table; raise it or lower the others`,
      );
    }
  });
}

/** The default table size under `limits`. */
export function defaultTableSize(limits: Limits | undefined): number {
  return limits?.maglevTableSize ?? DEFAULT_TABLE_SIZE;
}

/** A service's Maglev table size: absent or 0 = `fallback`; otherwise one of the allowed primes. */
export function validateTableSize(value: unknown, limits: Limits | undefined, field: string, fallback = defaultTableSize(limits)): number {
  if (value === undefined || value === null || value === 0) return fallback;
  const allowed = limits?.tableSizes ?? ALLOWED_TABLE_SIZES;
  if (typeof value !== 'number' || !allowed.includes(value)) {
    throw invalid(field, `${describeValue(value)} is not an allowed Maglev table size; allowed (primes): ${allowed.join(', ')}`);
  }
  return value;
}

export interface ValidatedService {
  spec: ServiceSpec;
  vip: IpAddress;
}

/** Sorts validated backends canonically (IPv4 first, then address bytes). */
export function sortBackends<T extends { ip: IpAddress }>(list: T[]): T[] {
  return list.sort((a, b) => compareIp(a.ip, b.ip));
}

/**
 * Validates a whole service (identity, flags, table size, backends) against `limits`; returns the
 * canonical spec. Throws ValidationError (INVALID_ARGUMENT) naming the first offending field under `field`.
 */
export function validateService(input: unknown, limits: Limits | undefined, field = 'service'): ValidatedService {
  if (!isPlainObject(input)) throw invalid(field, `expected a service { vip, port, protocol, flags, table_size, backends }, got ${describeValue(input)}`);
  const { key, vip } = validateServiceKey(input, field);
  const flags = validateFlags(input.flags, joinField(field, 'flags'));
  const tableSize = validateTableSize(input.tableSize, limits, joinField(field, 'table_size'));
  const list = input.backends ?? [];
  if (!Array.isArray(list)) throw invalid(joinField(field, 'backends'), `expected a list of backends, got ${describeValue(list)}`);
  if (limits && list.length > limits.maxBackendsPerService) {
    throw invalid(
      joinField(field, 'backends'),
      `has ${list.length} backends; at most ${limits.maxBackendsPerService} per service (limits.max_backends_per_service)`,
    );
  }
  const seen = new Map<string, number>();
  const backends: (ValidatedBackend & { index: number })[] = [];
  list.forEach((entry, i) => {
    const bField = joinField(field, `backends[${i}]`);
    const v = validateBackend(entry, vip, bField);
    const first = seen.get(v.spec.address);
    if (first !== undefined) {
      throw invalid(joinField(bField, 'address'), `${v.spec.address} is listed twice (also backends[${first}]); addresses are unique per service`);
    }
    seen.set(v.spec.address, i);
    backends.push({ ...v, index: i });
  });
  checkMaglevShares(
    backends.map((b) => b.spec),
    tableSize,
    (i) => joinField(field, `backends[${backends[i]!.index}].weight`),
  );
  sortBackends(backends);
  const spec: ServiceSpec = { ...key, flags, tableSize, backends: backends.map((b) => b.spec) };
  const healthCheck = validateHealthCheck(input.healthCheck, key.port, joinField(field, 'health_check'));
  if (healthCheck) spec.healthCheck = healthCheck;
  return { spec, vip };
}
