// The object store of the API server stand-in, with the real API's semantics for the subset xlbd
// uses (a kube-apiserver cannot be installed on these machines; this is the stand-in the issue asks
// for, and test/kubernetes/apiserver.unit.test.ts checks it against the official client library):
//   - one global resourceVersion counter (etcd's revision): every write gets the next one, lists
//     report the current one, watches resume after a given one;
//   - a bounded event history; a watch from a version older than what is kept gets 410 Gone
//     (compact() drops the history, as etcd compaction does);
//   - updates carrying a stale metadata.resourceVersion fail with 409 Conflict; a no-op update
//     changes nothing (no new version, no event);
//   - Services: status is cleared on create and kept on update (only the status subresource
//     writes it, and it writes nothing else); type defaults; loadBalancerClass is immutable while
//     the type stays LoadBalancer and is dropped when the type changes (dropTypeDependentFields).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  subresources: string[];
}

export const RESOURCES: readonly ResourceType[] = [
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, subresources: ['status'] },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, subresources: ['status'] },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, subresources: [] },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, subresources: [] },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true, subresources: [] },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, subresources: [] },
];

export function resourceType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** An API error as the server answers it: HTTP status, Status reason and message. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

export interface WatchEventRecord {
  rv: number;
  resource: ResourceType;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

type Listener = (e: WatchEventRecord) => void;

const clone = <T>(v: T): T => structuredClone(v);

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Store {
  #revision = 1;
  /** Versions ≤ this are no longer in the history: watches from them get 410. */
  #compacted = 1;
  readonly #objects = new Map<ResourceType, Map<string, Obj>>();
  readonly #history: WatchEventRecord[] = [];
  readonly #listeners = new Set<Listener>();
  #ip = 10;

  constructor(private readonly historyLimit = 10_000) {
    for (const r of RESOURCES) this.#objects.set(r, new Map());
  }

  get revision(): number {
    return this.#revision;
  }

  get compactedRevision(): number {
    return this.#compacted;
  }

  /** Drops the event history up to `upTo` (default: all of it): a watch from an older version
   *  now gets 410 Gone, as after an etcd compaction. */
  compact(upTo = this.#revision): void {
    const keep = this.#history.filter((e) => e.rv > upTo);
    this.#history.length = 0;
    this.#history.push(...keep);
    this.#compacted = Math.max(this.#compacted, upTo);
  }

  subscribe(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** Events after `rv` of one resource (and namespace), or 410 when they are no longer kept. */
  since(rv: number, resource: ResourceType, namespace?: string): WatchEventRecord[] {
    if (rv < this.#compacted) {
      throw new ApiError(410, 'Expired', `too old resource version: ${rv} (${this.#compacted})`);
    }
    return this.#history.filter((e) => e.rv > rv && e.resource === resource && (!namespace || e.object.metadata.namespace === namespace));
  }

  list(resource: ResourceType, namespace?: string): Obj[] {
    return [...this.#objects.get(resource)!.values()].filter((o) => !namespace || o.metadata.namespace === namespace).map(clone);
  }

  get(resource: ResourceType, namespace: string | undefined, name: string): Obj {
    const o = this.#objects.get(resource)!.get(keyOf(namespace, name));
    if (!o) throw notFound(resource, name);
    return clone(o);
  }

  create(resource: ResourceType, namespace: string | undefined, body: Obj): Obj {
    const o = clone(body);
    o.metadata ??= {};
    if (resource.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== namespace) {
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      o.metadata.namespace = namespace;
    } else delete o.metadata.namespace;
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomUUID().slice(0, 5)}`;
    const name = o.metadata.name;
    if (!name) throw invalid(resource, '', 'metadata.name: Required value: name or generateName is required');
    const map = this.#objects.get(resource)!;
    if (map.has(keyOf(namespace, name))) {
      throw new ApiError(409, 'AlreadyExists', `${resource.plural}${resource.group ? `.${resource.group}` : ''} "${name}" already exists`, { name, kind: resource.plural });
    }
    checkMicroTimes(resource, o);
    o.apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
    o.kind = resource.kind;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (resource.plural === 'services') this.#prepareServiceCreate(o);
    o.metadata.resourceVersion = String(++this.#revision);
    map.set(keyOf(namespace, name), o);
    this.#emit(resource, 'ADDED', o);
    return clone(o);
  }

  /** PUT of the object (subresource undefined) or of its status. */
  update(resource: ResourceType, namespace: string | undefined, name: string, body: Obj, subresource?: string): Obj {
    const map = this.#objects.get(resource)!;
    const current = map.get(keyOf(namespace, name));
    if (!current) throw notFound(resource, name);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    const rv = body.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource.plural}${resource.group ? `.${resource.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: resource.plural },
      );
    }
    if (body.metadata?.uid !== undefined && body.metadata.uid !== current.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${body.metadata.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    checkMicroTimes(resource, body);
    let next: Obj;
    if (subresource === 'status') {
      // Only the status is written; spec and metadata stay as they are (ResetObjectMetaForStatus).
      next = clone(current);
      next.status = clone(body.status ?? {});
    } else {
      next = clone(body);
      next.metadata = { ...clone(body.metadata ?? {}), name, namespace: current.metadata.namespace, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp };
      if (!resource.namespaced) delete next.metadata.namespace;
      next.apiVersion = current.apiVersion;
      next.kind = current.kind;
      if (resource.subresources.includes('status')) next.status = clone(current.status ?? {});
      if (resource.plural === 'services') this.#prepareServiceUpdate(next, current);
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (isDeepStrictEqual(next, current)) return clone(current); // a no-op write: no version, no event
    next.metadata.resourceVersion = String(++this.#revision);
    map.set(keyOf(namespace, name), next);
    this.#emit(resource, 'MODIFIED', next);
    return clone(next);
  }

  delete(resource: ResourceType, namespace: string | undefined, name: string): Obj {
    const map = this.#objects.get(resource)!;
    const current = map.get(keyOf(namespace, name));
    if (!current) throw notFound(resource, name);
    map.delete(keyOf(namespace, name));
    const gone = clone(current);
    gone.metadata.resourceVersion = String(++this.#revision);
    this.#emit(resource, 'DELETED', gone);
    return clone(gone);
  }

  #emit(resource: ResourceType, type: WatchEventRecord['type'], object: Obj): void {
    const e: WatchEventRecord = { rv: this.#revision, resource, type, object: clone(object) };
    this.#history.push(e);
    if (this.#history.length > this.historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.historyLimit);
      this.#compacted = dropped.at(-1)!.rv;
    }
    for (const l of this.#listeners) l(e);
  }

  #prepareServiceCreate(o: Obj): void {
    o.status = {};
    const spec = (o.spec ??= {});
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= (spec.ipFamilies as string[]).length > 1 ? 'PreferDualStack' : 'SingleStack';
    spec.clusterIP ??= `10.96.0.${this.#ip++}`;
    if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') spec.externalTrafficPolicy ??= 'Cluster';
    for (const p of (spec.ports as Record<string, unknown>[] | undefined) ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
    if (spec.loadBalancerClass !== undefined && spec.type !== 'LoadBalancer') {
      throw invalid({ plural: 'services' } as ResourceType, String(o.metadata.name), "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'");
    }
  }

  #prepareServiceUpdate(next: Obj, old: Obj): void {
    const spec = (next.spec ??= {});
    const before = old.spec ?? {};
    spec.type ??= 'ClusterIP';
    spec.clusterIP ??= before.clusterIP;
    spec.ipFamilies ??= before.ipFamilies;
    spec.ipFamilyPolicy ??= before.ipFamilyPolicy;
    spec.sessionAffinity ??= 'None';
    for (const p of (spec.ports as Record<string, unknown>[] | undefined) ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
    if (before.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
      // dropTypeDependentFields: fields that only mean something for a LoadBalancer go with it.
      if (spec.loadBalancerClass === before.loadBalancerClass) delete spec.loadBalancerClass;
      if (spec.externalTrafficPolicy === before.externalTrafficPolicy && spec.type !== 'NodePort') delete spec.externalTrafficPolicy;
    } else if (spec.type === 'LoadBalancer' && before.type === 'LoadBalancer' && spec.loadBalancerClass !== before.loadBalancerClass) {
      throw invalid({ plural: 'services' } as ResourceType, String(next.metadata.name), 'spec.loadBalancerClass: Invalid value: field is immutable');
    } else if (spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  }
}

// metav1.MicroTime is parsed with the layout "2006-01-02T15:04:05.000000Z07:00": exactly six
// fractional digits (Go's fixed-width fraction), so a JavaScript Date's milliseconds are refused.
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

function checkMicroTimes(resource: ResourceType, o: Obj): void {
  const fields = resource.plural === 'leases' ? ['renewTime', 'acquireTime'] : resource.plural === 'events' ? ['eventTime'] : [];
  const holder = (resource.plural === 'leases' ? o.spec : o) as Record<string, unknown> | undefined;
  for (const f of fields) {
    const v = holder?.[f];
    if (v === undefined || v === null || (typeof v === 'string' && MICRO_TIME.test(v))) continue;
    const text = String(v);
    const frac = /(\.\d*)?(Z|[+-]\d\d:\d\d)$/.exec(text)?.[0] ?? text;
    throw new ApiError(
      400,
      'BadRequest',
      `${resource.kind} in version "v1" cannot be handled as a ${resource.kind}: parsing time "${text}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${frac}" as ".000000"`,
    );
  }
}

function notFound(resource: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${resource.plural}${resource.group ? `.${resource.group}` : ''} "${name}" not found`, { name, kind: resource.plural });
}

function invalid(resource: ResourceType, name: string, cause: string): ApiError {
  return new ApiError(422, 'Invalid', `${resource.plural} "${name}" is invalid: ${cause}`, { name, kind: resource.plural });
}
