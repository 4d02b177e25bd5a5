// The Kubernetes source of xlbd: watches Services, EndpointSlices and Nodes, turns them into the
// desired state's 'kubernetes' layer, and — on the leader only — allocates VIPs by writing Service
// status and records Events. Every node programs its datapath from the same objects the same way.
//
// Until every watched resource has been listed once, the layer is left as it was restored from the
// state file: a restart, or an API server that cannot be reached, never empties the datapath.
import { EventEmitter } from 'node:events';
import type { KubernetesConfig } from '../config/index.js';
import type { DesiredState, Limits, StateDiff } from '../model/index.js';
import { ClientKubeApi, loadKubeConfig, type KubeApi, type Watched } from './client.js';
import { EventRecorder } from './events.js';
import { LeaderElector } from './leader.js';
import { Pools } from './pools.js';
import { Reflector } from './reflector.js';
import { translate, type Problem, type ServicePlan, type StatusClear } from './translate.js';
import type { KEndpointSlice, KNode, KService, LoadBalancerIngress } from './wire.js';

export interface SourceLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the source needs from the daemon: the committed state, and a way to change its layer. */
export interface LayerPort {
  readonly state: DesiredState;
  /** Runs `op` through the reconciler; resolves once the datapath reflects the change. */
  change(op: (draft: DesiredState) => StateDiff): Promise<{ diff: StateDiff }>;
}

export interface KubernetesSourceOptions {
  config: KubernetesConfig;
  limits: Limits;
  /** xlbd's instance name (several instances may run on one node). */
  instance: string;
  layer: LayerPort;
  log: SourceLogger;
  /** Injected in tests; default: the official client with config.access. */
  api?: KubeApi;
  /** Reflector retry timing (tests shorten it). */
  backoff?: { initialMs: number; maxMs: number };
  /** Delay before a failed status write is tried again (default 2 s). */
  retryMs?: number;
}

export interface KubernetesStatus {
  server: string;
  /** Every watched resource has been listed and the layer reflects the cluster. */
  synced: boolean;
  leader: boolean;
  /** The Lease holder as last seen. */
  leaderIdentity: string;
  identity: string;
  /** Kubernetes Services xlb serves (each may be several xlb services: VIPs × ports). */
  services: number;
  lastError: string | undefined;
}

export interface SyncReport {
  diff: StateDiff | undefined;
  plans: ServicePlan[];
  statusWrites: number;
}

export class KubernetesSource extends EventEmitter<{ synced: [SyncReport]; leader: [boolean] }> {
  readonly identity: string;
  readonly #o: KubernetesSourceOptions;
  readonly #api: KubeApi;
  readonly #pools: Pools;
  readonly #reflectors: Record<Watched, Reflector[]>;
  readonly #leader: LeaderElector;
  readonly #events: EventRecorder;
  readonly #logged = new Set<string>();
  #dirty = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = true;
  #synced = false;
  #owned = 0;
  #lastError: string | undefined;

  constructor(o: KubernetesSourceOptions) {
    super();
    this.#o = o;
    const c = o.config;
    this.identity = o.instance === 'default' ? c.nodeName : `${c.nodeName}/${o.instance}`;
    this.#api = o.api ?? new ClientKubeApi(loadKubeConfig(c.access));
    this.#pools = new Pools(c.addressPools);
    const make = (resource: Watched, namespace?: string) =>
      new Reflector({
        api: this.#api,
        resource,
        namespace,
        watchTimeoutSeconds: c.watchTimeoutSeconds,
        backoff: o.backoff,
        log: o.log,
        onChange: () => this.#schedule(),
      });
    const perNamespace = (resource: Watched) => (c.namespaces.length ? c.namespaces.map((ns) => make(resource, ns)) : [make(resource)]);
    this.#reflectors = { services: perNamespace('services'), endpointslices: perNamespace('endpointslices'), nodes: [make('nodes')] };
    this.#leader = new LeaderElector({
      api: this.#api,
      namespace: c.leaderElection.namespace,
      name: c.leaderElection.leaseName,
      identity: this.identity,
      leaseDurationSeconds: c.leaderElection.leaseDurationSeconds,
      renewDeadlineMs: c.leaderElection.renewDeadlineMs,
      retryPeriodMs: c.leaderElection.retryPeriodMs,
      log: o.log,
    });
    this.#leader.on('change', (leader) => {
      if (leader) this.#events.reset();
      this.emit('leader', leader);
      this.#schedule();
    });
    this.#events = new EventRecorder({ api: this.#api, nodeName: c.nodeName, instance: this.identity, log: o.log });
  }

  get isLeader(): boolean {
    return this.#leader.isLeader;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const c = this.#o.config;
    this.#o.log.info(
      `kubernetes: watching Services of class ${c.loadBalancerClass}${c.defaultClass ? ' (and those without a class)' : ''} in ` +
        `${c.namespaces.length ? c.namespaces.join(', ') : 'all namespaces'}; pools ${this.#pools.describe()}; identity ${this.identity}`,
    );
    for (const list of Object.values(this.#reflectors)) for (const r of list) r.start();
    this.#leader.start();
  }

  /** Stops watching; the leader gives its Lease up (release: false leaves it to expire). */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
    for (const list of Object.values(this.#reflectors)) for (const r of list) r.stop();
    await this.#loop;
    await this.#leader.stop(o);
  }

  status(): KubernetesStatus {
    const all = Object.values(this.#reflectors).flat();
    return {
      server: (this.#api as { server?: string }).server ?? '',
      synced: this.#synced,
      leader: this.#leader.isLeader,
      leaderIdentity: this.#leader.holder,
      identity: this.identity,
      services: this.#owned,
      lastError: all.map((r) => r.lastError && `${r.name}: ${r.lastError}`).find(Boolean) ?? this.#leader.lastError ?? this.#lastError,
    };
  }

  /** Reflector counters (lists, watches, events, bookmarks, 410s, failures) per resource. */
  reflectorStats(): Record<string, Reflector['stats']> {
    return Object.fromEntries(Object.values(this.#reflectors).flat().map((r) => [r.name, { ...r.stats }]));
  }

  // ---- the sync loop: coalesces bursts of events into one pass --------------------------------

  #schedule(delayMs = 10): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (this.#loop || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#loop = this.#run().finally(() => {
        this.#loop = undefined;
        if (this.#dirty) this.#schedule();
      });
    }, delayMs);
  }

  async #run(): Promise<void> {
    while (this.#dirty && !this.#stopped) {
      this.#dirty = false;
      try {
        await this.#sync();
      } catch (e) {
        this.#lastError = (e as Error).message;
        this.#o.log.error(`kubernetes: sync failed: ${(e as Error).message}`);
        this.#retryLater();
      }
    }
  }

  #retryLater(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#schedule(0), this.#o.retryMs ?? 2000);
    this.#retry.unref();
  }

  async #sync(): Promise<void> {
    const all = Object.values(this.#reflectors).flat();
    if (!all.every((r) => r.synced)) return;
    const items = (resource: Watched) => this.#reflectors[resource].flatMap((r) => r.items());
    const services = items('services') as KService[];
    const state = this.#o.layer.state;
    const others = state.list().filter((s) => s.origin !== 'kubernetes');
    const result = translate({
      services,
      slices: items('endpointslices') as KEndpointSlice[],
      nodes: items('nodes') as KNode[],
      loadBalancerClass: this.#o.config.loadBalancerClass,
      defaultClass: this.#o.config.defaultClass,
      pools: this.#pools,
      limits: this.#o.limits,
      others: { vips: new Set(others.map((s) => s.vip)), ids: new Set(others.map((s) => s.id)) },
      capacity: {
        services: this.#o.limits.maxServices - others.length,
        backends: this.#o.limits.maxBackends - others.reduce((n, s) => n + s.backends.length, 0),
      },
    });
    const inputs = result.plans.flatMap((p) => p.inputs);
    const { diff } = await this.#o.layer.change((d) => d.apply(inputs, { origin: 'kubernetes', field: 'kubernetes' }));
    if (diff.changes.length) {
      const parts = (['created', 'updated', 'deleted'] as const).filter((k) => diff[k].length).map((k) => `${k} ${diff[k].join(' ')}`);
      this.#o.log.info(`kubernetes: services ${parts.join('; ')}`);
    }
    this.#owned = result.plans.length;
    this.#reportProblems(result.plans);

    let statusWrites = 0;
    if (this.#leader.isLeader) statusWrites = await this.#lead(result.plans, result.clears, services);
    if (!this.#synced) {
      this.#synced = true;
      this.#o.log.info(`kubernetes: in step with the cluster: ${result.plans.length} Services, ${inputs.length} xlb services`);
    }
    this.#lastError = undefined;
    this.emit('synced', { diff, plans: result.plans, statusWrites });
  }

  /** Every node logs each problem once (the field, then why); the leader also records Events. */
  #reportProblems(plans: ServicePlan[]): void {
    const live = new Set<string>();
    for (const plan of plans) {
      for (const p of plan.problems) {
        const key = `${plan.ref.uid}|${p.field}|${p.message}`;
        live.add(key);
        if (this.#logged.has(key)) continue;
        this.#logged.add(key);
        this.#o.log.warn(`kubernetes: Service ${plan.ref.namespace}/${plan.ref.name}: ${p.field}: ${p.message} (${p.reason})`);
      }
    }
    for (const key of this.#logged) if (!live.has(key)) this.#logged.delete(key);
  }

  /** The leader's part: status writes and Events. Returns how many status writes succeeded. */
  async #lead(plans: ServicePlan[], clears: StatusClear[], services: KService[]): Promise<number> {
    const byUid = new Map(services.map((s) => [s.metadata?.uid ?? '', s]));
    let writes = 0;
    let retry = false;
    for (const plan of plans) {
      for (const p of plan.problems) await this.#event(plan.ref, 'Warning', p);
      this.#events.settle(plan.ref.uid, new Set(plan.problems.map((p) => `${p.reason}|${p.field}: ${p.message}`)));
      if (!plan.statusChanged) continue;
      const svc = byUid.get(plan.ref.uid);
      if (!svc) continue;
      const outcome = await this.#writeStatus(svc, plan.status.map((ip) => ({ ip, ipMode: 'VIP' })));
      if (outcome === 'ok') {
        writes++;
        for (const ip of plan.assigning) await this.#events.record(plan.ref, 'Normal', 'IPAllocated', `Assigned VIP ${ip}`);
      } else if (outcome === 'retry') retry = true;
    }
    for (const clear of clears) {
      const svc = byUid.get(clear.ref.uid);
      if (!svc) continue;
      const keep = (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip !== undefined && clear.keep.includes(i.ip));
      const outcome = await this.#writeStatus(svc, keep);
      if (outcome === 'ok') {
        writes++;
        this.#o.log.info(`kubernetes: Service ${clear.ref.namespace}/${clear.ref.name}: removed xlb's VIPs from its status (${clear.why})`);
      } else if (outcome === 'retry') retry = true;
    }
    this.#events.retain(new Set(services.map((s) => s.metadata?.uid ?? '')));
    if (retry) this.#retryLater();
    return writes;
  }

  async #event(ref: ServicePlan['ref'], type: 'Warning', p: Problem): Promise<void> {
    await this.#events.record(ref, type, p.reason, `${p.field}: ${p.message}`);
  }

  /** PUT .../services/NAME/status with the version read: a stale write gets 409, and the newer
   *  object arrives through the watch and is looked at again. */
  async #writeStatus(svc: KService, ingress: LoadBalancerIngress[]): Promise<'ok' | 'conflict' | 'retry'> {
    const m = svc.metadata ?? {};
    const body = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion, uid: m.uid },
      status: { ...(svc.status ?? {}), loadBalancer: ingress.length ? { ingress } : {} },
    };
    try {
      await this.#api.replaceServiceStatus(m.namespace ?? '', m.name ?? '', body as never);
      this.#o.log.info(`kubernetes: Service ${m.namespace}/${m.name}: status.loadBalancer.ingress = [${ingress.map((i) => i.ip).join(', ')}]`);
      return 'ok';
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 409 || status === 404) return 'conflict';
      this.#o.log.warn(`kubernetes: Service ${m.namespace}/${m.name}: status write failed: ${(e as Error).message}`);
      return 'retry';
    }
  }
}
