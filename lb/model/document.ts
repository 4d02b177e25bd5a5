// Services written by people in YAML (the config's `services:`, `xlb apply -f FILE`) use the API's
// snake_case names. This turns such a document into ServiceInput for validate.ts, rejecting
// unknown keys (a misspelt "wieght" must not silently become the default weight).
import { describeValue, invalid, joinField } from './errors.js';
import { HEALTH_CHECK_KEYS, healthCheckInputFromDocument } from './health-check.js';
import type { BackendInput, ServiceInput } from './types.js';
import { isPlainObject } from './validate.js';

const SERVICE_KEYS = ['id', 'vip', 'port', 'protocol', 'flags', 'table_size', 'backends', 'health_check'];
const FLAG_KEYS = ['source_hash'];
const BACKEND_KEYS = ['address', 'weight', 'state', 'name', 'check_address', 'check_port'];

export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw invalid(joinField(field, k), `unknown key; expected one of: ${allowed.join(', ')}`);
  }
}

/** One backend: an object, or just its address ("10.1.0.11" = weight 1, active). */
export function backendInputFromDocument(value: unknown, field: string): BackendInput {
  if (typeof value === 'string') return { address: value };
  if (!isPlainObject(value)) throw invalid(field, `expected a backend address or { address, weight, state, name, check_address, check_port }, got ${describeValue(value)}`);
  checkKeys(value, BACKEND_KEYS, field);
  return { address: value.address, weight: value.weight, state: value.state, name: value.name, checkAddress: value.check_address, checkPort: value.check_port };
}

/** One service: { id } or { vip, port, protocol }, plus flags, table_size and backends. Port may be '*'. */
export function serviceInputFromDocument(value: unknown, field: string): ServiceInput {
  if (!isPlainObject(value)) throw invalid(field, `expected a service { vip, port, protocol, flags, backends }, got ${describeValue(value)}`);
  checkKeys(value, SERVICE_KEYS, field);
  let flags: ServiceInput['flags'];
  if (value.flags !== undefined && value.flags !== null) {
    if (!isPlainObject(value.flags)) throw invalid(joinField(field, 'flags'), `expected { source_hash }, got ${describeValue(value.flags)}`);
    checkKeys(value.flags, FLAG_KEYS, joinField(field, 'flags'));
    flags = { sourceHash: value.flags.source_hash };
  }
  let backends: BackendInput[] | undefined;
  if (value.backends !== undefined && value.backends !== null) {
    if (!Array.isArray(value.backends)) throw invalid(joinField(field, 'backends'), `expected a list, got ${describeValue(value.backends)}`);
    backends = value.backends.map((b: unknown, i: number) => backendInputFromDocument(b, joinField(field, `backends[${i}]`)));
  }
  let healthCheck: ServiceInput['healthCheck'];
  if (value.health_check !== undefined && value.health_check !== null) {
    const hf = joinField(field, 'health_check');
    if (!isPlainObject(value.health_check)) throw invalid(hf, `expected { kind, interval, timeout, rise, fall, ... }, got ${describeValue(value.health_check)}`);
    checkKeys(value.health_check, HEALTH_CHECK_KEYS, hf);
    healthCheck = healthCheckInputFromDocument(value.health_check);
  }
  return { id: value.id, vip: value.vip, port: value.port === '*' ? 0 : value.port, protocol: value.protocol, flags, tableSize: value.table_size, backends, healthCheck };
}

/** A services document: a list of services, or { services: [...] }; empty/null = no services. */
export function servicesFromDocument(value: unknown, field = 'services'): ServiceInput[] {
  let list: unknown = value ?? [];
  if (isPlainObject(value)) {
    checkKeys(value, ['services'], '');
    list = value.services ?? [];
  }
  if (!Array.isArray(list)) throw invalid(field, `expected a list of services, got ${describeValue(list)}`);
  return list.map((s: unknown, i: number) => serviceInputFromDocument(s, `${field}[${i}]`));
}
