// The desired state: which services and backends should exist, with their datapath ids. Pure (no
// I/O, clock injected). Every operation validates everything first and then either succeeds
// completely or throws a ValidationError with the state untouched; it returns a diff naming what
// changed, so the reconciler reprograms only that.
//
// Operations change the state in place and record an undo log (transaction.ts): the cost of an
// operation is proportional to what it touches, never to the number of services. A caller that
// must be able to take a change back later (the reconciler, when the kernel or the disk fails)
// wraps it in begin() … commit() and keeps the returned CommittedChange.
//
// Three layers share one state (docs/api.md): services with origin 'config' come from the config
// file's `services:` list and are only changed by apply(..., { origin: 'config' }) at start and on
// reload; services with origin 'kubernetes' come from the cluster's Services (lb/kubernetes) and
// are only changed by apply(..., { origin: 'kubernetes' }); everything else is origin 'api'. API
// calls may not change the other two layers' services.
import { parseIp, type IpAddress } from './address.js';
import { ValidationError, invalid, joinField } from './errors.js';
import { diffService, type ServiceChange, type StateDiff } from './diff.js';
import { healthCheckInputFromDocument, healthCheckToDocument, validateHealthCheck } from './health-check.js';
import { IdAllocator, type IdAllocatorSnapshot, type RetiredId } from './ids.js';
import { compareServices } from './order.js';
import { ReservedAddresses } from './reserved.js';
import { formatServiceId, parseServiceId } from './service-id.js';
import { claimId, readAllocatorSnapshot, type SnapshotBackend, type SnapshotService, type StateSnapshot } from './snapshot.js';
import { releasedSince, touchedSince, undoEntries, type IdKind, type UndoEntry, type UndoTarget } from './transaction.js';
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
  validateTableSize,
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

export interface ChangeRecord {
  /** Every service the change touched, before and after, in display order. */
  changes: ServiceChange[];
  /** Datapath ids freed by the change, in order, with when. */
  released: Record<IdKind, RetiredId[]>;
  /** The allocators' next ids after the change. */
  next: Record<IdKind, number>;
}

/** A change kept by commit(); undo() takes it back (only after every later change was undone). */
export interface CommittedChange extends ChangeRecord {
  undo(): void;
}

/** An open change: everything done on the state since begin(). */
export interface Transaction {
  /** What the transaction did so far. */
  record(): ChangeRecord;
  /** Takes back everything done since begin(); ends the transaction. */
  rollback(): void;
  /** Keeps it; ends the transaction. */
  commit(): CommittedChange;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

export class DesiredState {
  readonly limits: Limits;
  readonly #now: () => number;
  readonly #reuseDelayMs: number;
  /** Checked when a service is created; services that exist already are kept as they are. */
  reserved: ReservedAddresses;
  #services = new Map<string, Service>();
  #serviceIds: IdAllocator;
  #backendIds: IdAllocator;
  /** Display order, rebuilt on demand after a change. */
  #sorted: Service[] | undefined;
  /** tablesBySize(), rebuilt on demand after a change. */
  #tables: ReadonlyMap<number, number> | undefined;
  /** Undo entries of the open transaction, or of the operation running outside one. */
  #log: UndoEntry[] = [];
  #inTransaction = false;
  readonly #undoTarget: UndoTarget = {
    services: this.#services,
    allocator: (kind) => (kind === 'service' ? this.#serviceIds : this.#backendIds),
    invalidateOrder: () => this.#invalidate(),
  };

  constructor(options: DesiredStateOptions) {
    this.limits = Object.freeze({ ...options.limits });
    this.#now = options.now ?? Date.now;
    this.#reuseDelayMs = options.reuseDelayMs ?? DEFAULT_ID_REUSE_DELAY_MS;
    this.reserved = options.reserved ?? new ReservedAddresses();
    this.#serviceIds = this.#newAllocator('service');
    this.#backendIds = this.#newAllocator('backend');
  }

  #newAllocator(kind: IdKind, snapshot?: { next: number; retired: RetiredId[] }): IdAllocator {
    const max = kind === 'service' ? this.limits.maxServices : this.limits.maxBackends;
    return new IdAllocator({ max, reuseDelayMs: this.#reuseDelayMs, now: this.#now, what: kind }, snapshot);
  }

  // --- reading -------------------------------------------------------------------------------

  /** The datapath ids the next `n` new services get, in order (the id allocator's queue), O(n):
   *  what the datapath prepares spare tables for. */
  upcomingServiceIds(n: number): number[] {
    return this.#serviceIds.upcoming(n);
  }

  /** All services in display order (IPv4 VIPs first, by address, protocol, port). Frozen. */
  list(): Service[] {
    this.#sorted ??= [...this.#services.values()].sort(compareServices);
    return [...this.#sorted];
  }

  /**
   * Services that have a Maglev table (an active backend), counted by table size. Cached until the
   * next change: GetStatus and every scrape report it, and counting 10 000 services each time made
   * GetStatus O(services).
   */
  tablesBySize(): ReadonlyMap<number, number> {
    if (!this.#tables) {
      const bySize = new Map<number, number>();
      for (const s of this.#services.values()) {
        if (s.backends.some((b) => b.state === 'active')) bySize.set(s.tableSize, (bySize.get(s.tableSize) ?? 0) + 1);
      }
      this.#tables = bySize;
    }
    return this.#tables;
  }

  get serviceCount(): number {
    return this.#services.size;
  }

  get backendCount(): number {
    return this.#backendIds.used;
  }

  /** The service with this id (any accepted spelling), or undefined. */
  find(serviceId: string): Service | undefined {
    const direct = this.#services.get(serviceId);
    if (direct) return direct;
    try {
      return this.#services.get(formatServiceId(parseServiceId(serviceId, '')));
    } catch {
      return undefined;
    }
  }

  /** The service with this id; INVALID_ARGUMENT for a malformed id, NOT_FOUND for an unknown one. */
  get(serviceId: unknown, field = 'service_id'): Service {
    const id = formatServiceId(parseServiceId(serviceId, field));
    const svc = this.#services.get(id);
    if (!svc) throw new ValidationError('NOT_FOUND', field, `service ${id} does not exist`);
    return svc;
  }

  /** An independent copy, O(services + ids). Changes on it never reach this state. */
  clone(): DesiredState {
    const copy = new DesiredState({ limits: this.limits, now: this.#now, reuseDelayMs: this.#reuseDelayMs, reserved: this.reserved });
    for (const [k, v] of this.#services) copy.#services.set(k, v);
    copy.#serviceIds = this.#serviceIds.clone();
    copy.#backendIds = this.#backendIds.clone();
    return copy;
  }

  // --- transactions --------------------------------------------------------------------------

  /**
   * Starts recording: operations until commit()/rollback() form one change that can be taken back
   * as a whole. One transaction at a time (the reconciler serialises changes).
   */
  begin(): Transaction {
    if (this.#inTransaction) throw new Error('DesiredState: a transaction is already open');
    this.#inTransaction = true;
    this.#log = [];
    let open = true;
    const end = () => {
      if (!open) throw new Error('DesiredState: the transaction has already ended');
      open = false;
      this.#inTransaction = false;
      const entries = this.#log;
      this.#log = [];
      return entries;
    };
    return {
      record: () => this.#record(this.#log),
      rollback: () => undoEntries(this.#undoTarget, end()),
      commit: () => {
        const entries = end();
        const rec = this.#record(entries);
        let undone = false;
        return {
          ...rec,
          undo: () => {
            if (undone) throw new Error('DesiredState: this change was already undone');
            undone = true;
            undoEntries(this.#undoTarget, entries);
          },
        };
      },
    };
  }

  #record(entries: readonly UndoEntry[]): ChangeRecord {
    const changes: ServiceChange[] = [];
    for (const [id, before] of touchedSince(entries)) {
      const after = this.#services.get(id);
      const c = before === after ? undefined : diffService(before, after);
      if (c) changes.push(c);
    }
    changes.sort((a, b) => compareServices((a.after ?? a.before)!, (b.after ?? b.before)!));
    return { changes, released: releasedSince(entries), next: { service: this.#serviceIds.front, backend: this.#backendIds.front } };
  }

  // --- API operations ------------------------------------------------------------------------

  /** Creates a service (with its backends). ALREADY_EXISTS if it exists. */
  create(input: unknown, field = 'service'): StateDiff {
    const { spec, vip } = validateService(input, this.limits, field);
    const id = formatServiceId(spec);
    const existing = this.#services.get(id);
    if (existing) throw new ValidationError('ALREADY_EXISTS', field, `service ${id} already exists${ownerNote(existing)}`);
    this.#checkReserved(input, vip, field);
    return this.#operation([id], () => {
      this.#checkServiceCount(1, field);
      this.#checkBackendCount(spec.backends.length, joinField(field, 'backends'));
      this.#put(spec, 'api', undefined);
    });
  }

  /**
   * Replaces a service's flags; with `replaceBackends`, also its whole backend set (backends kept
   * by address keep their datapath ids). Without it, `input.backends` must be empty. The health
   * check is replaced when `input.healthCheck` is given (kind none removes it), else kept.
   */
  update(input: unknown, options: { replaceBackends?: boolean } = {}, field = 'service'): StateDiff {
    if (!isPlainObject(input)) throw invalid(field, 'expected a service { id or vip/port/protocol, flags, backends }');
    const { key } = validateServiceKey(input, field);
    const current = this.#getManaged(formatServiceId(key), field);
    let spec: ServiceSpec;
    // An update without a table size keeps the service's own.
    const limits = { ...this.limits, maglevTableSize: current.tableSize };
    if (options.replaceBackends) {
      spec = validateService(input, limits, field).spec;
      if (input.healthCheck === undefined || input.healthCheck === null) keepHealthCheck(spec, current);
    } else {
      const list = input.backends;
      if (list !== undefined && list !== null && !(Array.isArray(list) && list.length === 0)) {
        throw invalid(joinField(field, 'backends'), 'must be empty unless replace_backends is set (use AddBackend/UpdateBackend/RemoveBackend)');
      }
      const tableSize = validateTableSize(input.tableSize, limits, joinField(field, 'table_size'));
      const backends = current.backends.map(stripIds);
      checkMaglevShares(backends, tableSize, () => joinField(field, 'table_size'));
      spec = { ...key, flags: validateFlags(input.flags, joinField(field, 'flags')), tableSize, backends };
      if (input.healthCheck === undefined || input.healthCheck === null) keepHealthCheck(spec, current);
      else {
        const healthCheck = validateHealthCheck(input.healthCheck, key.port, joinField(field, 'health_check'));
        if (healthCheck) spec.healthCheck = healthCheck;
      }
    }
    return this.#operation([current.id], () => {
      this.#checkBackendCount(spec.backends.length - current.backends.length, joinField(field, 'backends'));
      this.#put(spec, current.origin, current, current.kubernetes);
    });
  }

  delete(serviceId: unknown, field = 'service_id'): StateDiff {
    const current = this.#getManaged(serviceId, field);
    return this.#operation([current.id], () => this.#remove(current));
  }

  addBackend(serviceId: unknown, backend: unknown, fields: { serviceId?: string; backend?: string } = {}): StateDiff {
    const bField = fields.backend ?? 'backend';
    const current = this.#getManaged(serviceId, fields.serviceId ?? 'service_id');
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
    checkMaglevShares(backends, current.tableSize, () => joinField(bField, 'weight'));
    return this.#operation([current.id], () => {
      this.#checkBackendCount(1, bField);
      this.#put({ ...current, backends }, current.origin, current, current.kubernetes);
    });
  }

  updateBackend(
    serviceId: unknown,
    address: unknown,
    patch: UpdateBackendPatch,
    fields: { serviceId?: string; address?: string; weight?: string; state?: string; name?: string } = {},
  ): StateDiff {
    const f = { serviceId: 'service_id', address: 'address', weight: 'weight', state: 'state', name: 'name', ...fields };
    const current = this.#getManaged(serviceId, f.serviceId);
    const old = this.#findBackend(current, address, f.address);
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
    checkMaglevShares(backends, current.tableSize, () => f.weight);
    return this.#operation([current.id], () => this.#put({ ...current, backends }, current.origin, current, current.kubernetes));
  }

  removeBackend(serviceId: unknown, address: unknown, fields: { serviceId?: string; address?: string } = {}): StateDiff {
    const current = this.#getManaged(serviceId, fields.serviceId ?? 'service_id');
    const old = this.#findBackend(current, address, fields.address ?? 'address');
    // Removing a backend only enlarges the others' shares, so no Maglev share check is needed.
    const backends = current.backends.filter((b) => b.address !== old.address).map(stripIds);
    return this.#operation([current.id], () => this.#put({ ...current, backends }, current.origin, current, current.kubernetes));
  }

  /**
   * Converges one layer to exactly `inputs`: origin 'api' (the Apply call) or 'config' (the config
   * file's services, at start and reload). Services of the other layer are never deleted. Listing
   * a config-declared service in an API apply is FAILED_PRECONDITION; a config apply that lists an
   * API-created service takes it over (origin becomes 'config'). O(inputs + services of the layer).
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
      if (!this.#services.has(id)) this.#checkReserved(input, vip, sField);
      const first = index.get(id);
      if (first !== undefined) throw invalid(sField, `service ${id} is listed twice (also ${field}[${first}])`);
      const existing = this.#services.get(id);
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
    const leaving: Service[] = [];
    for (const svc of this.#services.values()) if (svc.origin === origin && !index.has(svc.id)) leaving.push(svc);
    return this.#operation([...index.keys(), ...leaving.map((s) => s.id)], () => {
      // Deletions first: they free capacity for what the same apply creates.
      for (const svc of leaving) this.#remove(svc);
      let created = 0;
      let delta = 0;
      for (const s of specs) {
        const existing = this.#services.get(formatServiceId(s));
        if (!existing) created++;
        delta += s.backends.length - (existing?.backends.length ?? 0);
      }
      this.#checkServiceCount(created, field);
      this.#checkBackendCount(delta, field);
      specs.forEach((s, i) => this.#put(s, origin, this.#services.get(formatServiceId(s)), refs[i]));
    });
  }

  // --- persistence form ----------------------------------------------------------------------

  /** The parts of a snapshot at this instant, services as the (immutable) objects themselves:
   *  O(services + ids), cheap enough to take inside a change queue and serialise later. */
  capture(): { services: Service[]; serviceIds: IdAllocatorSnapshot; backendIds: IdAllocatorSnapshot } {
    return { services: this.list(), serviceIds: this.#serviceIds.snapshot(), backendIds: this.#backendIds.snapshot() };
  }

  toSnapshot(): StateSnapshot {
    return {
      services: this.list().map(snapshotService),
      service_ids: this.#serviceIds.snapshot(),
      backend_ids: this.#backendIds.snapshot(),
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
    const serviceIds = state.#newAllocator('service', readAllocatorSnapshot(value.service_ids, 'service_ids'));
    const backendIds = state.#newAllocator('backend', readAllocatorSnapshot(value.backend_ids, 'backend_ids'));
    const services = new Map<string, Service>();
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
        // Absent in state files written before per-service table sizes: the default.
        tableSize: raw.table_size,
        backends: Array.isArray(raw.backends)
          ? raw.backends.map((b: unknown) =>
              // The fields validateBackend reads (it ignores others, such as datapath_id).
              isPlainObject(b) ? { address: b.address, weight: b.weight, state: b.state, name: b.name, checkAddress: b.check_address, checkPort: b.check_port } : b,
            )
          : raw.backends,
        healthCheck: isPlainObject(raw.health_check) ? healthCheckInputFromDocument(raw.health_check) : raw.health_check,
      };
      const { spec } = validateService(input, state.limits, field);
      const id = formatServiceId(spec);
      if (services.has(id)) throw invalid(field, `service ${id} is stored twice`);
      if (!(ORIGINS as readonly unknown[]).includes(raw.origin)) throw invalid(`${field}.origin`, `${JSON.stringify(raw.origin)} is not one of ${ORIGINS.map((o) => `"${o}"`).join(', ')}`);
      const origin = raw.origin as Origin;
      const ref = origin === 'kubernetes' ? validateKubernetesRef(raw.kubernetes, `${field}.kubernetes`) : undefined;
      const datapathId = claimId(serviceIds, raw.datapath_id, `${field}.datapath_id`);
      const rawBackends = raw.backends as unknown[];
      const byAddress = new Map<string, number>();
      rawBackends.forEach((rb, j) => {
        const bf = `${field}.backends[${j}]`;
        const address = parseIp((rb as Record<string, unknown>).address, `${bf}.address`).text;
        byAddress.set(address, claimId(backendIds, (rb as Record<string, unknown>).datapath_id, `${bf}.datapath_id`));
      });
      services.set(id, makeService(spec, origin, datapathId, (b) => byAddress.get(b.address)!, ref));
    });
    if (services.size > state.limits.maxServices) {
      throw new ValidationError('FAILED_PRECONDITION', 'services', `${services.size} services exceed the limit of ${state.limits.maxServices}`);
    }
    for (const [k, v] of services) state.#services.set(k, v);
    state.#serviceIds = serviceIds;
    state.#backendIds = backendIds;
    return state;
  }

  // --- internals -----------------------------------------------------------------------------

  #checkReserved(input: unknown, vip: IpAddress, field: string): void {
    const reason = this.reserved.reason(vip);
    if (!reason) return;
    const byVip = isPlainObject(input) && input.vip !== undefined && input.vip !== null && input.vip !== '';
    throw invalid(joinField(field, byVip ? 'vip' : 'id'), reason);
  }

  /**
   * Runs `mutate` as one all-or-nothing operation: on a throw everything it did is undone. Returns
   * the diff of what it changed; `named` services that did not change are reported unchanged.
   */
  #operation(named: string[], mutate: () => void): StateDiff {
    const mark = this.#log.length;
    try {
      mutate();
    } catch (e) {
      undoEntries(this.#undoTarget, this.#log, mark);
      throw e;
    }
    const diff: StateDiff = { created: [], updated: [], deleted: [], unchanged: [], changes: [] };
    const touched = touchedSince(this.#log, mark);
    for (const [id, before] of touched) {
      const after = this.#services.get(id);
      const change = before === after ? undefined : diffService(before, after);
      if (change) diff.changes.push(change);
    }
    diff.changes.sort((a, b) => compareServices((a.after ?? a.before)!, (b.after ?? b.before)!));
    for (const c of diff.changes) diff[c.kind].push(c.id);
    const changed = new Set(diff.changes.map((c) => c.id));
    const unchanged = [...new Set(named)].filter((id) => !changed.has(id) && this.#services.has(id)).map((id) => this.#services.get(id)!);
    diff.unchanged = unchanged.sort(compareServices).map((s) => s.id);
    // Outside a transaction nobody can ask for the undo any more.
    if (!this.#inTransaction) this.#log = [];
    return diff;
  }

  #setService(svc: Service): void {
    const prev = this.#services.get(svc.id);
    this.#log.push({ kind: 'service', id: svc.id, prev });
    this.#services.set(svc.id, svc);
    if (prev) this.#replaced(prev, svc);
    else this.#invalidate();
  }

  /** A service replaced by a new version of itself (same id, so the same place in the order):
   *  the cached order and table counts are patched, not rebuilt — a backend change stays
   *  O(log services) for the next list() or status. */
  #replaced(prev: Service, svc: Service): void {
    const sorted = this.#sorted;
    if (sorted) {
      let lo = 0;
      let hi = sorted.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareServices(sorted[mid]!, svc) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (sorted[lo] === prev) sorted[lo] = svc;
      else this.#sorted = undefined;
    }
    const tables = this.#tables as Map<number, number> | undefined;
    if (tables) {
      const count = (s: Service, d: number) => {
        if (!s.backends.some((b) => b.state === 'active')) return;
        const n = (tables.get(s.tableSize) ?? 0) + d;
        if (n > 0) tables.set(s.tableSize, n);
        else tables.delete(s.tableSize);
      };
      count(prev, -1);
      count(svc, 1);
    }
  }

  #invalidate(): void {
    this.#sorted = undefined;
    this.#tables = undefined;
  }

  #deleteService(id: string): void {
    this.#log.push({ kind: 'service', id, prev: this.#services.get(id) });
    this.#services.delete(id);
    this.#invalidate();
  }

  #allocate(kind: IdKind): number {
    const id = this.#undoTarget.allocator(kind).allocate();
    this.#log.push({ kind: 'allocate', ids: kind, id });
    return id;
  }

  #release(kind: IdKind, id: number): void {
    const alloc = this.#undoTarget.allocator(kind);
    const prev = alloc.release(id);
    if (prev !== undefined) this.#log.push({ kind: 'release', ids: kind, id, prev, at: alloc.freedAt(id) ?? this.#now() });
  }

  /** Stores `spec` as a service, keeping ids of what already existed in `previous`. */
  #put(spec: ServiceSpec, origin: Origin, previous: Service | undefined, ref?: KubernetesRef): void {
    const oldByAddress = new Map((previous?.backends ?? []).map((b) => [b.address, b]));
    const keep = new Set(spec.backends.map((b) => b.address));
    for (const b of previous?.backends ?? []) if (!keep.has(b.address)) this.#release('backend', b.datapathId);
    const datapathId = previous?.datapathId ?? this.#allocate('service');
    const next = makeService(spec, origin, datapathId, (b) => oldByAddress.get(b.address)?.datapathId ?? this.#allocate('backend'), ref);
    // Keep the identical object when nothing changed, so the diff sees "unchanged" cheaply.
    if (previous && !diffService(previous, next)) return;
    this.#setService(next);
  }

  #remove(svc: Service): void {
    for (const b of svc.backends) this.#release('backend', b.datapathId);
    this.#release('service', svc.datapathId);
    this.#deleteService(svc.id);
  }

  /** The service, which must exist and be API-managed. */
  #getManaged(serviceId: unknown, field: string): Service {
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

  #findBackend(svc: Service, address: unknown, field: string): Backend {
    const ip: IpAddress = parseIp(address, field);
    const b = svc.backends.find((x) => x.address === ip.text);
    if (!b) throw new ValidationError('NOT_FOUND', field, `service ${svc.id} has no backend ${ip.text}`);
    return b;
  }

  #checkServiceCount(adding: number, field: string): void {
    if (adding > 0 && this.#services.size + adding > this.limits.maxServices) {
      throw new ValidationError(
        'FAILED_PRECONDITION',
        field,
        `${this.#services.size} services exist; ${adding} more would exceed the limit of ${this.limits.maxServices} (maps.services)`,
      );
    }
  }

  #checkBackendCount(adding: number, field: string): void {
    if (adding > 0 && this.#backendIds.used + adding > this.limits.maxBackends) {
      throw new ValidationError(
        'FAILED_PRECONDITION',
        field,
        `${this.#backendIds.used} backends exist in total; ${adding} more would exceed the limit of ${this.limits.maxBackends} (maps.backends)`,
      );
    }
  }
}

/** The state file's form of one service. */
export function snapshotService(s: Service): SnapshotService {
  const out: SnapshotService = {
    id: s.id,
    vip: s.vip,
    port: s.port,
    protocol: s.protocol,
    flags: { source_hash: s.flags.sourceHash },
    table_size: s.tableSize,
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
  // Built field by field, not by spreading: a restore of 1000 × 16 spent most of its time copying
  // and collecting spread objects.
  const backends: Backend[] = spec.backends.map((b) => {
    const out = stripIds(b as Backend) as Backend;
    out.datapathId = backendId(b);
    out.family = b.address.includes(':') ? 6 : 4;
    return out;
  });
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
    tableSize: spec.tableSize,
    backends,
  };
  if (spec.healthCheck) service.healthCheck = { ...spec.healthCheck };
  return deepFreeze(service);
}
