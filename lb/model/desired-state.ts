// The desired state: which services and backends should exist, with their datapath ids. Pure (no
// I/O, clock injected). Every operation validates everything first and then either succeeds
// completely or throws a ValidationError with the state untouched; it returns a diff naming what
// changed, so the reconciler reprograms only that.
//
// Three layers share one state (docs/api.md): services with origin 'config' come from the config
// file's `services:` list and are only changed by apply(..., { origin: 'config' }) at start and on
// reload; services with origin 'kubernetes' come from the cluster's Services (lb/kubernetes) and
// are only changed by apply(..., { origin: 'kubernetes' }); everything else is origin 'api'. API
// calls may not change the other two layers' services.
import { compareIp, parseIp, type IpAddress } from './address.js';
import { ValidationError, invalid, joinField } from './errors.js';
import { diffService, type ServiceChange, type StateDiff } from './diff.js';
import { healthCheckInputFromDocument, healthCheckToDocument, validateHealthCheck } from './health-check.js';
import { IdAllocator } from './ids.js';
import { ReservedAddresses } from './reserved.js';
import { formatServiceId, parseServiceId } from './service-id.js';
import { claimId, readAllocatorSnapshot, type SnapshotBackend, type SnapshotService, type StateSnapshot } from './snapshot.js';
import { ORIGINS, type Backend, type BackendSpec, type KubernetesRef, type Limits, type Origin, type Service, type ServiceSpec } from './types.js';
import {
  checkMaglevShares,
  isPlainObject,
  reconcileWeightAndState,
  validateBackend,
  validateFlags,
  validateName,
  validateService,
  validateServiceKey,
  validateKubernetesRef,
  validateState,
  validateWeight,
} from './validate.js';

export type { BackendChange, ServiceChange, StateDiff } from './diff.js';
export { diffIsEmpty, diffService } from './diff.js';
export type { SnapshotBackend, SnapshotService, StateSnapshot } from './snapshot.js';

/** Freed ids are not reused for this long while other ids are free (see ids.ts). */
export const DEFAULT_ID_REUSE_DELAY_MS = 10 * 60_000;

export interface DesiredStateOptions {
  limits: Limits;
  /** Wall clock in ms (injected for tests). Default Date.now. */
  now?: () => number;
  reuseDelayMs?: number;
  /** Addresses new services may not use as VIP (the load balancer's own); see reserved.ts. */
  reserved?: ReservedAddresses;
}

export interface UpdateBackendPatch {
  /** undefined = unchanged. With state undefined, also sets the state (0 → draining, else active). */
  weight?: unknown;
  /** 'active' | 'draining'; undefined = derived from weight, or unchanged. */
  state?: unknown;
  /** undefined = unchanged; '' = remove the name. */
  name?: unknown;
}

interface Draft {
  services: Map<string, Service>;
  serviceIds: IdAllocator;
  backendIds: IdAllocator;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

function compareServices(a: Service, b: Service): number {
  return (
    compareIp(parseIp(a.vip, ''), parseIp(b.vip, '')) ||
    a.protocol.localeCompare(b.protocol) ||
    a.port - b.port
  );
}

export class DesiredState {
  readonly limits: Limits;
  private readonly now: () => number;
  private readonly reuseDelayMs: number;
  /** Checked when a service is created; services that exist already are kept as they are. */
  reserved: ReservedAddresses;
  private services = new Map<string, Service>();
  private serviceIds: IdAllocator;
  private backendIds: IdAllocator;

  constructor(options: DesiredStateOptions) {
    this.limits = Object.freeze({ ...options.limits });
    this.now = options.now ?? Date.now;
    this.reuseDelayMs = options.reuseDelayMs ?? DEFAULT_ID_REUSE_DELAY_MS;
    this.reserved = options.reserved ?? new ReservedAddresses();
    this.serviceIds = new IdAllocator({ max: this.limits.maxServices, reuseDelayMs: this.reuseDelayMs, now: this.now, what: 'service' });
    this.backendIds = new IdAllocator({ max: this.limits.maxBackends, reuseDelayMs: this.reuseDelayMs, now: this.now, what: 'backend' });
  }

  // --- reading -------------------------------------------------------------------------------

  /** All services in display order (IPv4 VIPs first, by address, protocol, port). Frozen. */
  list(): Service[] {
    return [...this.services.values()].sort(compareServices);
  }

  get serviceCount(): number {
    return this.services.size;
  }

  get backendCount(): number {
    return this.backendIds.used;
  }

  /** The service with this id (any accepted spelling), or undefined. */
  find(serviceId: string): Service | undefined {
    try {
      return this.services.get(formatServiceId(parseServiceId(serviceId, '')));
    } catch {
      return undefined;
    }
  }

  /** The service with this id; INVALID_ARGUMENT for a malformed id, NOT_FOUND for an unknown one. */
  get(serviceId: unknown, field = 'service_id'): Service {
    const id = formatServiceId(parseServiceId(serviceId, field));
    const svc = this.services.get(id);
    if (!svc) throw new ValidationError('NOT_FOUND', field, `service ${id} does not exist`);
    return svc;
  }

  /** An independent copy (for dry runs, or to stage a change before the datapath confirms it). */
  clone(): DesiredState {
    const copy = new DesiredState({ limits: this.limits, now: this.now, reuseDelayMs: this.reuseDelayMs, reserved: this.reserved });
    copy.services = new Map(this.services);
    copy.serviceIds = this.serviceIds.clone();
    copy.backendIds = this.backendIds.clone();
    return copy;
  }

  // --- API operations ------------------------------------------------------------------------

  /** Creates a service (with its backends). ALREADY_EXISTS if it exists. */
  create(input: unknown, field = 'service'): StateDiff {
    const { spec, vip } = validateService(input, this.limits, field);
    const id = formatServiceId(spec);
    const existing = this.services.get(id);
    if (existing) throw new ValidationError('ALREADY_EXISTS', field, `service ${id} already exists${ownerNote(existing)}`);
    this.checkReserved(input, vip, field);
    return this.transact((d) => {
      this.checkServiceCount(d, 1, field);
      this.checkBackendCount(d, spec.backends.length, joinField(field, 'backends'));
      this.put(d, spec, 'api', undefined);
    }, [id]);
  }

  /**
   * Replaces a service's flags; with `replaceBackends`, also its whole backend set (backends kept
   * by address keep their datapath ids). Without it, `input.backends` must be empty. The health
   * check is replaced when `input.healthCheck` is given (kind none removes it), else kept.
   */
  update(input: unknown, options: { replaceBackends?: boolean } = {}, field = 'service'): StateDiff {
    if (!isPlainObject(input)) throw invalid(field, 'expected a service { id or vip/port/protocol, flags, backends }');
    const { key } = validateServiceKey(input, field);
    const current = this.getManaged(formatServiceId(key), field);
    let spec: ServiceSpec;
    if (options.replaceBackends) {
      spec = validateService(input, this.limits, field).spec;
      if (input.healthCheck === undefined || input.healthCheck === null) keepHealthCheck(spec, current);
    } else {
      const list = input.backends;
      if (list !== undefined && list !== null && !(Array.isArray(list) && list.length === 0)) {
        throw invalid(joinField(field, 'backends'), 'must be empty unless replace_backends is set (use AddBackend/UpdateBackend/RemoveBackend)');
      }
      spec = { ...key, flags: validateFlags(input.flags, joinField(field, 'flags')), backends: current.backends.map(stripIds) };
      if (input.healthCheck === undefined || input.healthCheck === null) keepHealthCheck(spec, current);
      else {
        const healthCheck = validateHealthCheck(input.healthCheck, key.port, joinField(field, 'health_check'));
        if (healthCheck) spec.healthCheck = healthCheck;
      }
    }
    return this.transact((d) => {
      this.checkBackendCount(d, spec.backends.length - current.backends.length, joinField(field, 'backends'));
      this.put(d, spec, current.origin, current, current.kubernetes);
    }, [current.id]);
  }

  delete(serviceId: unknown, field = 'service_id'): StateDiff {
    const current = this.getManaged(serviceId, field);
    return this.transact((d) => this.remove(d, current), [current.id]);
  }

  addBackend(serviceId: unknown, backend: unknown, fields: { serviceId?: string; backend?: string } = {}): StateDiff {
    const bField = fields.backend ?? 'backend';
    const current = this.getManaged(serviceId, fields.serviceId ?? 'service_id');
    const { spec: added } = validateBackend(backend, parseIp(current.vip, ''), bField);
    if (current.backends.some((b) => b.address === added.address)) {
      throw new ValidationError('ALREADY_EXISTS', joinField(bField, 'address'), `service ${current.id} already has backend ${added.address}`);
    }
    if (current.backends.length + 1 > this.limits.maxBackendsPerService) {
      throw new ValidationError(
        'FAILED_PRECONDITION',
        bField,
        `service ${current.id} already has ${current.backends.length} backends, the limit (limits.max_backends_per_service)`,
      );
    }
    const backends = [...current.backends.map(stripIds), added];
    this.checkShares(backends, () => joinField(bField, 'weight'));
    return this.transact((d) => {
      this.checkBackendCount(d, 1, bField);
      this.put(d, { ...current, backends }, current.origin, current, current.kubernetes);
    }, [current.id]);
  }

  updateBackend(
    serviceId: unknown,
    address: unknown,
    patch: UpdateBackendPatch,
    fields: { serviceId?: string; address?: string; weight?: string; state?: string; name?: string } = {},
  ): StateDiff {
    const f = { serviceId: 'service_id', address: 'address', weight: 'weight', state: 'state', name: 'name', ...fields };
    const current = this.getManaged(serviceId, f.serviceId);
    const old = this.findBackend(current, address, f.address);
    const weight = patch.weight === undefined ? old.weight : validateWeight(patch.weight, f.weight);
    let state = patch.state === undefined ? undefined : validateState(patch.state, f.state);
    if (state === undefined && patch.weight === undefined) state = old.state;
    if (state === 'active' && weight === 0 && patch.weight === undefined) {
      throw invalid(f.state, `backend ${old.address} has weight 0; give a weight 1..65535 in the same request to activate it`);
    }
    const next: BackendSpec = { address: old.address, weight, state: reconcileWeightAndState(weight, state, f.weight) };
    const name = patch.name === undefined ? old.name : validateName(patch.name, f.name);
    if (name !== undefined) next.name = name;
    if (old.checkAddress !== undefined) next.checkAddress = old.checkAddress;
    if (old.checkPort !== undefined) next.checkPort = old.checkPort;
    const backends = current.backends.map((b) => (b.address === old.address ? next : stripIds(b)));
    this.checkShares(backends, () => f.weight);
    return this.transact((d) => this.put(d, { ...current, backends }, current.origin, current, current.kubernetes), [current.id]);
  }

  removeBackend(serviceId: unknown, address: unknown, fields: { serviceId?: string; address?: string } = {}): StateDiff {
    const current = this.getManaged(serviceId, fields.serviceId ?? 'service_id');
    const old = this.findBackend(current, address, fields.address ?? 'address');
    // Removing a backend only enlarges the others' shares, so no Maglev share check is needed.
    const backends = current.backends.filter((b) => b.address !== old.address).map(stripIds);
    return this.transact((d) => this.put(d, { ...current, backends }, current.origin, current, current.kubernetes), [current.id]);
  }

  /**
   * Converges one layer to exactly `inputs`: origin 'api' (the Apply call), 'config' (the config
   * file's services, at start and reload) or 'kubernetes' (the Kubernetes source; every input then
   * carries `kubernetes: { namespace, name }`). Services of the other layers are never deleted.
   * Listing a config- or Kubernetes-managed service in an API apply is FAILED_PRECONDITION, and so
   * is listing another layer's service in a Kubernetes apply; a config apply that lists a service of
   * another layer takes it over (origin becomes 'config': the file is the operator's word).
   */
  apply(inputs: unknown, options: { origin?: Origin; field?: string } = {}): StateDiff {
    const origin = options.origin ?? 'api';
    const field = options.field ?? 'services';
    if (!Array.isArray(inputs)) throw invalid(field, 'expected a list of services');
    const specs: ServiceSpec[] = [];
    const refs: (KubernetesRef | undefined)[] = [];
    const index = new Map<string, number>();
    inputs.forEach((input, i) => {
      const sField = `${field}[${i}]`;
      const { spec, vip } = validateService(input, this.limits, sField);
      const id = formatServiceId(spec);
      if (!this.services.has(id)) this.checkReserved(input, vip, sField);
      const first = index.get(id);
      if (first !== undefined) throw invalid(sField, `service ${id} is listed twice (also ${field}[${first}])`);
      const existing = this.services.get(id);
      if (origin === 'api' && existing && existing.origin !== 'api') {
        throw new ValidationError('FAILED_PRECONDITION', sField, `service ${id} is ${managedBy(existing)}; Apply manages only API services`);
      }
      if (origin === 'kubernetes' && existing && existing.origin !== 'kubernetes') {
        throw new ValidationError('FAILED_PRECONDITION', sField, `service ${id} already exists${ownerNote(existing)}`);
      }
      refs.push(origin === 'kubernetes' ? validateKubernetesRef((input as { kubernetes?: unknown }).kubernetes, `${sField}.kubernetes`) : undefined);
      index.set(id, i);
      specs.push(spec);
    });
    const named = [...index.keys()];
    for (const svc of this.services.values()) if (svc.origin === origin && !index.has(svc.id)) named.push(svc.id);
    return this.transact((d) => {
      // Deletions first: they free capacity for what the same apply creates.
      for (const svc of [...d.services.values()]) if (svc.origin === origin && !index.has(svc.id)) this.remove(d, svc);
      const created = specs.filter((s) => !d.services.has(formatServiceId(s))).length;
      this.checkServiceCount(d, created, field);
      let delta = 0;
      for (const s of specs) delta += s.backends.length - (d.services.get(formatServiceId(s))?.backends.length ?? 0);
      this.checkBackendCount(d, delta, field);
      specs.forEach((s, i) => this.put(d, s, origin, d.services.get(formatServiceId(s)), refs[i]));
    }, named);
  }

  // --- persistence form ----------------------------------------------------------------------

  toSnapshot(): StateSnapshot {
    return {
      services: this.list().map((s) => {
        const out: SnapshotService = {
          id: s.id,
          vip: s.vip,
          port: s.port,
          protocol: s.protocol,
          flags: { source_hash: s.flags.sourceHash },
          origin: s.origin,
          ...(s.kubernetes ? { kubernetes: { namespace: s.kubernetes.namespace, name: s.kubernetes.name } } : {}),
          datapath_id: s.datapathId,
          backends: s.backends.map((b) => {
            const ob: SnapshotBackend = { address: b.address, weight: b.weight, state: b.state, datapath_id: b.datapathId };
            if (b.name !== undefined) ob.name = b.name;
            if (b.checkAddress !== undefined) ob.check_address = b.checkAddress;
            if (b.checkPort !== undefined) ob.check_port = b.checkPort;
            return ob;
          }),
        };
        if (s.healthCheck) out.health_check = healthCheckToDocument(s.healthCheck);
        return out;
      }),
      service_ids: this.serviceIds.snapshot(),
      backend_ids: this.backendIds.snapshot(),
    };
  }

  /**
   * Rebuilds a state from its snapshot, validating every field as strictly as an API request plus
   * the stored ids (unique, within the limits). Throws ValidationError with a path such as
   * `services[2].backends[0].datapath_id`.
   */
  static fromSnapshot(value: unknown, options: DesiredStateOptions): DesiredState {
    const state = new DesiredState(options);
    if (!isPlainObject(value)) throw invalid('', 'expected an object { services, service_ids, backend_ids }');
    const serviceIds = readAllocatorSnapshot(value.service_ids, 'service_ids');
    const backendIds = readAllocatorSnapshot(value.backend_ids, 'backend_ids');
    const d: Draft = {
      services: new Map(),
      serviceIds: new IdAllocator({ max: state.limits.maxServices, reuseDelayMs: state.reuseDelayMs, now: state.now, what: 'service' }, serviceIds),
      backendIds: new IdAllocator({ max: state.limits.maxBackends, reuseDelayMs: state.reuseDelayMs, now: state.now, what: 'backend' }, backendIds),
    };
    if (!Array.isArray(value.services)) throw invalid('services', 'expected a list');
    value.services.forEach((raw: unknown, i: number) => {
      const field = `services[${i}]`;
      if (!isPlainObject(raw)) throw invalid(field, 'expected a service object');
      const input = {
        id: raw.id,
        vip: raw.vip,
        port: raw.port,
        protocol: raw.protocol,
        flags: isPlainObject(raw.flags) ? { sourceHash: raw.flags.source_hash } : raw.flags,
        backends: Array.isArray(raw.backends)
          ? raw.backends.map((b: unknown) => (isPlainObject(b) ? { ...b, checkAddress: b.check_address, checkPort: b.check_port } : b))
          : raw.backends,
        healthCheck: isPlainObject(raw.health_check) ? healthCheckInputFromDocument(raw.health_check) : raw.health_check,
      };
      const { spec } = validateService(input, state.limits, field);
      const id = formatServiceId(spec);
      if (d.services.has(id)) throw invalid(field, `service ${id} is stored twice`);
      if (!(ORIGINS as readonly unknown[]).includes(raw.origin)) throw invalid(`${field}.origin`, `${JSON.stringify(raw.origin)} is not one of ${ORIGINS.map((o) => `"${o}"`).join(', ')}`);
      const origin = raw.origin as Origin;
      const ref = origin === 'kubernetes' ? validateKubernetesRef(raw.kubernetes, `${field}.kubernetes`) : undefined;
      const datapathId = claimId(d.serviceIds, raw.datapath_id, `${field}.datapath_id`);
      const rawBackends = raw.backends as unknown[];
      const byAddress = new Map<string, number>();
      rawBackends.forEach((rb, j) => {
        const bf = `${field}.backends[${j}]`;
        const address = parseIp((rb as Record<string, unknown>).address, `${bf}.address`).text;
        byAddress.set(address, claimId(d.backendIds, (rb as Record<string, unknown>).datapath_id, `${bf}.datapath_id`));
      });
      const svc = makeService(spec, origin, datapathId, (b) => byAddress.get(b.address)!, ref);
      d.services.set(id, svc);
    });
    if (d.services.size > state.limits.maxServices) {
      throw new ValidationError('FAILED_PRECONDITION', 'services', `${d.services.size} services exceed the limit of ${state.limits.maxServices}`);
    }
    state.services = d.services;
    state.serviceIds = d.serviceIds;
    state.backendIds = d.backendIds;
    return state;
  }

  // --- internals -----------------------------------------------------------------------------

  private checkReserved(input: unknown, vip: IpAddress, field: string): void {
    const reason = this.reserved.reason(vip);
    if (!reason) return;
    const byVip = isPlainObject(input) && input.vip !== undefined && input.vip !== null && input.vip !== '';
    throw invalid(joinField(field, byVip ? 'vip' : 'id'), reason);
  }

  /** Runs `mutate` on a copy; commits only if it returns normally. */
  private transact(mutate: (d: Draft) => void, named: string[]): StateDiff {
    const d: Draft = { services: new Map(this.services), serviceIds: this.serviceIds.clone(), backendIds: this.backendIds.clone() };
    mutate(d);
    const diff: StateDiff = { created: [], updated: [], deleted: [], unchanged: [], changes: [] };
    const ids = new Set([...named, ...this.services.keys(), ...d.services.keys()]);
    const changes: ServiceChange[] = [];
    for (const id of ids) {
      const before = this.services.get(id);
      const after = d.services.get(id);
      const change = before === after ? undefined : diffService(before, after);
      if (change) changes.push(change);
      else if (named.includes(id) && after) diff.unchanged.push(id);
    }
    changes.sort((a, b) => compareServices((a.after ?? a.before)!, (b.after ?? b.before)!));
    diff.changes = changes;
    for (const c of changes) diff[c.kind].push(c.id);
    diff.unchanged.sort((a, b) => compareServices(d.services.get(a)!, d.services.get(b)!));
    this.services = d.services;
    this.serviceIds = d.serviceIds;
    this.backendIds = d.backendIds;
    return diff;
  }

  /** Stores `spec` as a service, keeping ids of what already existed in `previous`. */
  private put(d: Draft, spec: ServiceSpec, origin: Origin, previous: Service | undefined, ref?: KubernetesRef): void {
    const id = formatServiceId(spec);
    const oldByAddress = new Map((previous?.backends ?? []).map((b) => [b.address, b]));
    const keep = new Set(spec.backends.map((b) => b.address));
    for (const b of previous?.backends ?? []) if (!keep.has(b.address)) d.backendIds.release(b.datapathId);
    const datapathId = previous?.datapathId ?? d.serviceIds.allocate();
    const next = makeService(spec, origin, datapathId, (b) => oldByAddress.get(b.address)?.datapathId ?? d.backendIds.allocate(), ref);
    // Keep the identical object when nothing changed, so the diff sees "unchanged" cheaply.
    if (previous && !diffService(previous, next)) return;
    d.services.set(id, next);
  }

  private remove(d: Draft, svc: Service): void {
    for (const b of svc.backends) d.backendIds.release(b.datapathId);
    d.serviceIds.release(svc.datapathId);
    d.services.delete(svc.id);
  }

  /** The service, which must exist and be API-managed. */
  private getManaged(serviceId: unknown, field: string): Service {
    const svc = this.get(serviceId, field);
    if (svc.origin === 'config') {
      throw new ValidationError(
        'FAILED_PRECONDITION',
        field,
        `service ${svc.id} is declared in the config file; change it there and reload the daemon (SIGHUP)`,
      );
    }
    if (svc.origin === 'kubernetes') {
      throw new ValidationError('FAILED_PRECONDITION', field, `service ${svc.id} is ${managedBy(svc)}; change that Service in the cluster`);
    }
    return svc;
  }

  private findBackend(svc: Service, address: unknown, field: string): Backend {
    const ip: IpAddress = parseIp(address, field);
    const b = svc.backends.find((x) => x.address === ip.text);
    if (!b) throw new ValidationError('NOT_FOUND', field, `service ${svc.id} has no backend ${ip.text}`);
    return b;
  }

  private checkShares(backends: BackendSpec[], fieldOf: (i: number) => string): void {
    if (this.limits.maglevTableSize) checkMaglevShares(backends, this.limits.maglevTableSize, fieldOf);
  }

  private checkServiceCount(d: Draft, adding: number, field: string): void {
    if (adding > 0 && d.services.size + adding > this.limits.maxServices) {
      throw new ValidationError(
        'FAILED_PRECONDITION',
        field,
        `${d.services.size} services exist; ${adding} more would exceed the limit of ${this.limits.maxServices} (maps.services)`,
      );
    }
  }

  private checkBackendCount(d: Draft, adding: number, field: string): void {
    if (adding > 0 && d.backendIds.used + adding > this.limits.maxBackends) {
      throw new ValidationError(
        'FAILED_PRECONDITION',
        field,
        `${d.backendIds.used} backends exist in total; ${adding} more would exceed the limit of ${this.limits.maxBackends} (maps.backends)`,
      );
    }
  }
}

function keepHealthCheck(spec: ServiceSpec, current: Service): void {
  if (current.healthCheck) spec.healthCheck = { ...current.healthCheck };
}

/** Who owns a service that is not the API's, in words. */
function managedBy(svc: Service): string {
  if (svc.origin === 'kubernetes') return `managed by Kubernetes (Service ${svc.kubernetes?.namespace}/${svc.kubernetes?.name})`;
  return 'declared in the config file';
}

function ownerNote(svc: Service): string {
  return svc.origin === 'api' ? '' : ` (${managedBy(svc)})`;
}

function stripIds(b: Backend): BackendSpec {
  const out: BackendSpec = { address: b.address, weight: b.weight, state: b.state };
  if (b.name !== undefined) out.name = b.name;
  if (b.checkAddress !== undefined) out.checkAddress = b.checkAddress;
  if (b.checkPort !== undefined) out.checkPort = b.checkPort;
  return out;
}

function makeService(spec: ServiceSpec, origin: Origin, datapathId: number, backendId: (b: BackendSpec) => number, ref?: KubernetesRef): Service {
  const family = spec.vip.includes(':') ? 6 : 4;
  const backends: Backend[] = spec.backends.map((b) => ({ ...stripIds(b as Backend), datapathId: backendId(b), family: b.address.includes(':') ? 6 : 4 }));
  const service: Service = {
    id: formatServiceId(spec),
    vip: spec.vip,
    port: spec.port,
    protocol: spec.protocol,
    family,
    origin,
    ...(origin === 'kubernetes' && ref ? { kubernetes: { namespace: ref.namespace, name: ref.name } } : {}),
    datapathId,
    flags: { sourceHash: spec.flags.sourceHash },
    backends,
  };
  if (spec.healthCheck) service.healthCheck = { ...spec.healthCheck };
  return deepFreeze(service);
}
