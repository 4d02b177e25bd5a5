// The one file that talks to the Kubernetes API, through the official client library
// (@kubernetes/client-node, pinned: 1.4.0 is the newest release that loads on Node 20). Every
// request xlbd makes is a method of ClientKubeApi, and the RBAC rules in deploy/kubernetes/ are
// checked against the library calls made here (test/kubernetes/manifests.unit.test.ts).
//
// Objects leave this file in their wire form (JSON as the API server sends it): the library
// deserialises lists into classes with Date fields but hands watch events over as plain JSON, so
// lists are turned back into JSON and the rest of lb/kubernetes sees one shape.
import {
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  Observable,
  Watch,
  type ConfigurationOptions,
  type CoreV1Event,
  type V1Service,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
} from '@kubernetes/client-node';
import type { KObject } from './wire.js';

/** The resources xlbd lists and watches. */
export type Watched = 'services' | 'endpointslices' | 'nodes';

/** Where each watched collection lives (the watch URLs are built from this table). */
export const WATCHED: Readonly<Record<Watched, { prefix: string; plural: string; namespaced: boolean }>> = {
  services: { prefix: '/api/v1', plural: 'services', namespaced: true },
  endpointslices: { prefix: '/apis/discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
  nodes: { prefix: '/api/v1', plural: 'nodes', namespaced: false },
};

/** An error answered by the API server (status code and reason), or a transport failure (status 0). */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KObject & { code?: number; reason?: string; message?: string };
}

export interface WatchQuery {
  resourceVersion: string;
  timeoutSeconds: number;
  allowWatchBookmarks: boolean;
}

/** What lb/kubernetes needs from the API server. */
export interface KubeApi {
  list(resource: Watched, namespace?: string): Promise<{ items: KObject[]; resourceVersion: string }>;
  /** Streams events until the server ends the watch (onDone(null)) or it fails (onDone(error)). */
  watch(resource: Watched, namespace: string | undefined, query: WatchQuery, onEvent: (e: WatchEvent) => void, onDone: (err: Error | null) => void): Promise<{ abort(): void }>;
  replaceServiceStatus(namespace: string, name: string, body: V1Service): Promise<void>;
  createEvent(namespace: string, body: CoreV1Event): Promise<void>;
  /** undefined when the Lease does not exist. */
  readLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(namespace: string, body: V1Lease): Promise<V1Lease>;
  replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease>;
}

export type KubeAccess = { kind: 'kubeconfig'; path: string; context: string | undefined } | { kind: 'in-cluster' };

export function loadKubeConfig(access: KubeAccess): KubeConfig {
  const kc = new KubeConfig();
  if (access.kind === 'in-cluster') kc.loadFromCluster();
  else {
    kc.loadFromFile(access.path);
    if (access.context) kc.setCurrentContext(access.context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubernetes: no current cluster in ${access.kind === 'in-cluster' ? 'the in-cluster configuration' : access.path}`);
  return kc;
}

/** Turns what the library throws into a KubeError with the API server's status and reason. */
export function kubeError(e: unknown): KubeError {
  if (e instanceof KubeError) return e;
  const err = e as { code?: unknown; statusCode?: unknown; body?: unknown; message?: string };
  const status = typeof err.code === 'number' ? err.code : typeof err.statusCode === 'number' ? err.statusCode : 0;
  let reason: string | undefined;
  let message = err.message ?? String(e);
  // The library keeps the response body for status codes its OpenAPI description does not list
  // (text), parsed for some, and drops it for others (401).
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not a Status object
    }
  }
  if (body && typeof body === 'object') {
    const b = body as { reason?: string; message?: string };
    reason = b.reason;
    if (b.message) message = b.message;
  }
  if (status === 0 && (e as { name?: string }).name === 'AbortError') message = 'request timed out';
  return new KubeError(status, status ? `${status}${reason ? ` ${reason}` : ''}: ${message}` : message, reason);
}

export class ClientKubeApi implements KubeApi {
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #discovery: DiscoveryV1Api;
  readonly #coordination: CoordinationV1Api;
  readonly #watch: Watch;
  readonly #options: ConfigurationOptions;

  constructor(kc: KubeConfig, o: { requestTimeoutMs?: number } = {}) {
    this.#kc = kc;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#discovery = kc.makeApiClient(DiscoveryV1Api);
    this.#coordination = kc.makeApiClient(CoordinationV1Api);
    this.#watch = new Watch(kc);
    const timeoutMs = o.requestTimeoutMs ?? 10_000;
    // The library sets no deadline: a request to an unreachable server would hang for good.
    this.#options = {
      middleware: [
        {
          pre: (ctx: RequestContext) => {
            ctx.setSignal(AbortSignal.timeout(timeoutMs));
            return new Observable(Promise.resolve(ctx));
          },
          post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  get server(): string {
    return this.#kc.getCurrentCluster()?.server ?? '';
  }

  async list(resource: Watched, namespace?: string): Promise<{ items: KObject[]; resourceVersion: string }> {
    const o = this.#options;
    let list: { items: unknown[]; metadata?: { resourceVersion?: string } };
    try {
      if (resource === 'services') {
        list = namespace ? await this.#core.listNamespacedService({ namespace }, o) : await this.#core.listServiceForAllNamespaces({}, o);
      } else if (resource === 'endpointslices') {
        list = namespace
          ? await this.#discovery.listNamespacedEndpointSlice({ namespace }, o)
          : await this.#discovery.listEndpointSliceForAllNamespaces({}, o);
      } else {
        list = await this.#core.listNode({}, o);
      }
    } catch (e) {
      throw kubeError(e);
    }
    return { items: JSON.parse(JSON.stringify(list.items)) as KObject[], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async watch(resource: Watched, namespace: string | undefined, query: WatchQuery, onEvent: (e: WatchEvent) => void, onDone: (err: Error | null) => void): Promise<{ abort(): void }> {
    const c = WATCHED[resource];
    const path = `${c.prefix}${c.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${c.plural}`;
    const params = {
      resourceVersion: query.resourceVersion,
      timeoutSeconds: query.timeoutSeconds,
      allowWatchBookmarks: query.allowWatchBookmarks,
    };
    const controller = await this.#watch.watch(
      path,
      params,
      (type: string, object: unknown) => onEvent({ type: type as WatchEvent['type'], object: object as WatchEvent['object'] }),
      (err: unknown) => onDone(err ? kubeError(err) : null),
    );
    return { abort: () => controller.abort() };
  }

  async replaceServiceStatus(namespace: string, name: string, body: V1Service): Promise<void> {
    try {
      await this.#core.replaceNamespacedServiceStatus({ namespace, name, body }, this.#options);
    } catch (e) {
      throw kubeError(e);
    }
  }

  async createEvent(namespace: string, body: CoreV1Event): Promise<void> {
    try {
      await this.#core.createNamespacedEvent({ namespace, body }, this.#options);
    } catch (e) {
      throw kubeError(e);
    }
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.#coordination.readNamespacedLease({ namespace, name }, this.#options);
    } catch (e) {
      const err = kubeError(e);
      if (err.status === 404) return undefined;
      throw err;
    }
  }

  async createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    try {
      return await this.#coordination.createNamespacedLease({ namespace, body }, this.#options);
    } catch (e) {
      throw kubeError(e);
    }
  }

  async replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    try {
      return await this.#coordination.replaceNamespacedLease({ namespace, name, body }, this.#options);
    } catch (e) {
      throw kubeError(e);
    }
  }
}
