// lb/kubernetes's source, in-process, against the API server stand-in over HTTPS with the official
// client and the RBAC of deploy/kubernetes/ (no datapath: the kubernetes layer goes into a real
// DesiredState). Covers the rules one by one, fast; test/kubernetes/e2e.lab.test.ts runs
// the real xlbd with traffic through the VIPs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesConfig } from '../../lb/config/index.js';
import { KubernetesSource, type LayerPort } from '../../lb/kubernetes/index.js';
import { DesiredState, type Limits, type Service, type StateDiff } from '../../lb/model/index.js';
import { endpointSlice, lbService, startStandIn, type EndpointSpec, type RunningStandIn } from './standin.js';
import type { Obj } from './store.js';
import { RESOURCES } from './store.js';

const LIMITS: Limits = { maxServices: 63, maxBackends: 255, maxBackendsPerService: 64, maglevTableSize: 4093 };
const type = (plural: string) => RESOURCES.find((r) => r.plural === plural)!;

class MemoryLayer implements LayerPort {
  state = new DesiredState({ limits: LIMITS });
  readonly diffs: StateDiff[] = [];
  async change(op: (d: DesiredState) => StateDiff): Promise<{ diff: StateDiff }> {
    const draft = this.state.clone();
    const diff = op(draft);
    this.state = draft;
    if (diff.changes.length) this.diffs.push(diff);
    return { diff };
  }
  ids(): string[] {
    return this.state.list().filter((s) => s.origin === 'kubernetes').map((s) => s.id);
  }
  get(id: string): Service | undefined {
    return this.state.find(id);
  }
}

let k: RunningStandIn;
const sources: KubernetesSource[] = [];
const logs: string[] = [];

function config(o: Partial<KubernetesConfig> = {}): KubernetesConfig {
  return {
    access: { kind: 'kubeconfig', path: k.kubeconfig, context: undefined },
    loadBalancerClass: 'xlb.dev/xlb',
    defaultClass: false,
    addressPools: [
      {
        name: 'default',
        prefixes: [
          { address: '10.100.0.0', family: 4, prefixLength: 29, text: '10.100.0.0/29' },
          { address: 'fd00:100::', family: 6, prefixLength: 125, text: 'fd00:100::/125' },
        ],
      },
      { name: 'small', prefixes: [{ address: '10.100.1.0', family: 4, prefixLength: 31, text: '10.100.1.0/31' }] },
    ],
    namespaces: [],
    nodeName: 'lb-1',
    leaderElection: { namespace: 'xlb-system', leaseName: 'xlbd', leaseDurationSeconds: 2, renewDeadlineMs: 1200, retryPeriodMs: 200 },
    watchTimeoutSeconds: 5,
    ...o,
  };
}

function start(layer = new MemoryLayer(), o: Partial<KubernetesConfig> = {}, instance = 'default'): { source: KubernetesSource; layer: MemoryLayer } {
  const source = new KubernetesSource({
    config: config(o),
    limits: LIMITS,
    instance,
    layer,
    log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) },
    backoff: { initialMs: 50, maxMs: 300 },
    retryMs: 200,
  });
  sources.push(source);
  source.start();
  return { source, layer };
}

const store = () => k.server.store;
function put(obj: Obj): Obj {
  const t = type(obj.kind === 'Service' ? 'services' : 'endpointslices');
  const ns = obj.metadata.namespace!;
  try {
    const cur = store().get(t, ns, obj.metadata.name!);
    return store().update(t, ns, obj.metadata.name!, { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion }, status: cur.status });
  } catch {
    return store().create(t, ns, obj);
  }
}
const svc = (ns: string, name: string) => store().get(type('services'), ns, name);
const ingress = (ns: string, name: string) => ((svc(ns, name).status?.loadBalancer as { ingress?: { ip: string; ipMode?: string }[] })?.ingress ?? []);
const eventsOf = (ns: string, name: string) =>
  store()
    .list(type('events'), ns)
    .filter((e) => (e.involvedObject as { name: string }).name === name)
    .map((e) => `${e.type} ${e.reason}: ${e.message}`);
const slice = (ns: string, service: string, eps: EndpointSpec[], o: Parameters<typeof endpointSlice>[3] = {}) => put(endpointSlice(ns, service, eps, o));
const backends = (layer: MemoryLayer, id: string) => layer.get(id)?.backends.map((b) => `${b.address} ${b.state} ${b.weight}`);

beforeAll(async () => {
  k = await startStandIn({ bookmarkIntervalMs: 300 });
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop({ release: false });
  for (const t of ['services', 'endpointslices', 'events', 'leases', 'nodes']) {
    for (const o of store().list(type(t))) store().delete(type(t), o.metadata.namespace, o.metadata.name!);
  }
  logs.length = 0;
});

afterAll(async () => {
  await k?.close();
});

describe('Kubernetes source against the API server stand-in', () => {
  it('allocates a VIP for a Service of its class, writes the status (ipMode VIP), programs the ready endpoints; other classes are ignored', async () => {
    put(lbService('shop', 'web'));
    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2' }, { ip: '10.3.3.2', ready: false, serving: false }]);
    put(lbService('shop', 'other', { cls: 'example.com/lb' }));
    put(lbService('shop', 'classless', { cls: null }));
    const { source, layer } = start();
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toEqual(['10.100.0.0:80/tcp']);
    expect(ingress('shop', 'web')).toEqual([{ ip: '10.100.0.0', ipMode: 'VIP' }]);
    expect(layer.get('10.100.0.0:80/tcp')).toMatchObject({ origin: 'kubernetes', kubernetes: { namespace: 'shop', name: 'web' }, flags: { sourceHash: false } });
    expect(backends(layer, '10.100.0.0:80/tcp')).toEqual(['10.3.1.2 active 1', '10.3.2.2 active 1']);
    expect(ingress('shop', 'other')).toEqual([]);
    expect(ingress('shop', 'classless')).toEqual([]);
    expect(eventsOf('shop', 'web')).toEqual(['Normal IPAllocated: Assigned VIP 10.100.0.0']);
    expect(source.isLeader).toBe(true);
    expect(source.status()).toMatchObject({ synced: true, leader: true, leaderIdentity: 'lb-1', services: 1 });
  });

  it('classless Services too when it is the default class', async () => {
    put(lbService('shop', 'classless', { cls: null }));
    const { layer } = start(undefined, { defaultClass: true });
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toEqual(['10.100.0.0:80/tcp']);
  });

  it('endpoints: scale down removes, serving+terminating drains (weight 0), not serving removes; a dual-stack Service gets one VIP per family', async () => {
    put(lbService('shop', 'web', { ipFamilies: ['IPv4', 'IPv6'], sessionAffinity: 'ClientIP' }));
    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2' }, { ip: '10.3.3.2' }]);
    slice('shop', 'web', [{ ip: 'fd00:3:1::2' }], { family: 6 });
    const { layer } = start();
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toEqual(['10.100.0.0:80/tcp', '[fd00:100::]:80/tcp']);
    expect(ingress('shop', 'web').map((i) => i.ip)).toEqual(['10.100.0.0', 'fd00:100::']);
    expect(layer.get('[fd00:100::]:80/tcp')?.backends.map((b) => b.address)).toEqual(['fd00:3:1::2']);
    expect(layer.get('10.100.0.0:80/tcp')?.flags.sourceHash).toBe(true);
    const ids = layer.get('10.100.0.0:80/tcp')!.backends.map((b) => b.datapathId);

    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2', ready: false, serving: true, terminating: true }, { ip: '10.3.3.2', ready: false, serving: false, terminating: true }]);
    await expect.poll(() => backends(layer, '10.100.0.0:80/tcp'), { timeout: 5000 }).toEqual(['10.3.1.2 active 1', '10.3.2.2 draining 0']);
    // A drained backend keeps its datapath id (its flows stay pinned to it).
    expect(layer.get('10.100.0.0:80/tcp')!.backends.map((b) => b.datapathId)).toEqual(ids.slice(0, 2));
    slice('shop', 'web', [{ ip: '10.3.1.2' }]);
    await expect.poll(() => backends(layer, '10.100.0.0:80/tcp'), { timeout: 5000 }).toEqual(['10.3.1.2 active 1']);
  });

  it('externalTrafficPolicy Local: the nodes running ready endpoints, weighted by how many', async () => {
    for (const [name, ip] of [['n1', '10.3.1.2'], ['n2', '10.3.2.2']]) {
      store().create(type('nodes'), undefined, { metadata: { name: name! }, status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] } });
    }
    put(lbService('shop', 'web', { externalTrafficPolicy: 'Local' }));
    slice('shop', 'web', [
      { ip: '10.244.1.5', nodeName: 'n1' },
      { ip: '10.244.1.6', nodeName: 'n1' },
      { ip: '10.244.2.5', nodeName: 'n2', ready: false, serving: true, terminating: true },
    ]);
    const { layer } = start();
    await expect.poll(() => backends(layer, '10.100.0.0:80/tcp'), { timeout: 5000 }).toEqual(['10.3.1.2 active 2', '10.3.2.2 draining 0']);
  });

  it('requested addresses: an annotation inside a pool is used; outside the pools or taken → an Event naming the field, nothing changes', async () => {
    put(lbService('shop', 'a', { annotations: { 'xlb.dev/load-balancer-ips': '10.100.0.5' } }));
    put(lbService('shop', 'b', { loadBalancerIP: '10.100.0.5' }));
    put(lbService('shop', 'c', { annotations: { 'xlb.dev/load-balancer-ips': '192.0.2.1' } }));
    put(lbService('shop', 'd', { annotations: { 'xlb.dev/address-pool': 'small' } }));
    const { layer } = start();
    await expect.poll(() => ingress('shop', 'd').length, { timeout: 5000 }).toBe(1);
    expect(ingress('shop', 'a')).toEqual([{ ip: '10.100.0.5', ipMode: 'VIP' }]);
    expect(ingress('shop', 'b')).toEqual([]);
    expect(ingress('shop', 'c')).toEqual([]);
    expect(ingress('shop', 'd')).toEqual([{ ip: '10.100.1.0', ipMode: 'VIP' }]);
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toEqual(['10.100.0.5:80/tcp', '10.100.1.0:80/tcp']);
    await expect.poll(() => eventsOf('shop', 'c')).toEqual([
      'Warning AddressOutsidePools: metadata.annotations[xlb.dev/load-balancer-ips]: 192.0.2.1 is not in any address pool; pools: default (10.100.0.0/29, fd00:100::/125), small (10.100.1.0/31)',
    ]);
    expect(eventsOf('shop', 'b')).toEqual(['Warning AddressTaken: spec.loadBalancerIP: 10.100.0.5 is already in use by another Service (or a service of xlb\'s API or config file)']);
    expect(logs).toContain(
      'warn kubernetes: Service shop/b: spec.loadBalancerIP: 10.100.0.5 is already in use by another Service (or a service of xlb\'s API or config file) (AddressTaken)',
    );

    // Moving a Service to another requested address: the status follows, the old VIP is released.
    put(lbService('shop', 'a', { annotations: { 'xlb.dev/load-balancer-ips': '10.100.0.6' } }));
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toEqual(['10.100.0.5:80/tcp', '10.100.0.6:80/tcp', '10.100.1.0:80/tcp']);
    // b wanted .5 and gets it now that a gave it up.
    await expect.poll(() => ingress('shop', 'b')).toEqual([{ ip: '10.100.0.5', ipMode: 'VIP' }]);
  });

  it('bad input: pool exhausted, unknown protocol, targetPort ≠ port, malformed annotations → Events naming the field; the rest is served', async () => {
    put(lbService('shop', 'p1', { annotations: { 'xlb.dev/address-pool': 'small' } }));
    put(lbService('shop', 'p2', { annotations: { 'xlb.dev/address-pool': 'small' } }));
    const { layer } = start();
    await expect.poll(() => ingress('shop', 'p2').length, { timeout: 5000 }).toBe(1);
    put(lbService('shop', 'p3', { annotations: { 'xlb.dev/address-pool': 'small' } }));
    put(
      lbService('shop', 'ports', {
        ports: [
          { name: 'http', port: 80 },
          { name: 'sctp', port: 81, protocol: 'SCTP' },
          { name: 'alt', port: 82, targetPort: 8082 },
          { name: 'named', port: 83, targetPort: 'web' },
        ],
      }),
    );
    slice('shop', 'ports', [{ ip: '10.3.1.2' }], { ports: [{ name: 'http', port: 80 }, { name: 'alt', port: 8082 }, { name: 'named', port: 8083 }] });
    put(lbService('shop', 'bad', { annotations: { 'xlb.dev/load-balancer-ips': '10.100.0.300', 'xlb.dev/address-pool': 'nope' } }));
    await expect.poll(() => eventsOf('shop', 'p3'), { timeout: 5000 }).toEqual(['Warning PoolExhausted: metadata.annotations[xlb.dev/address-pool]: no free IPv4 address left in small (10.100.1.0/31)']);
    await expect.poll(() => eventsOf('shop', 'ports').filter((e) => e.startsWith('Warning')), { timeout: 5000 }).toEqual([
      'Warning UnsupportedProtocol: spec.ports[1].protocol: SCTP is not supported; xlb balances TCP and UDP',
      'Warning PortTranslation: spec.ports[2].targetPort: port 82 would be sent to 8082; with direct server return the backends must listen on the Service port itself (set targetPort to 82)',
      'Warning PortTranslation: spec.ports[3].targetPort: port 83 would be sent to 8083 (targetPort "web"); with direct server return the backends must listen on the Service port itself (set targetPort to 83)',
    ]);
    await expect.poll(() => eventsOf('shop', 'bad'), { timeout: 5000 }).toEqual([
      'Warning InvalidAnnotation: metadata.annotations[xlb.dev/load-balancer-ips]: "10.100.0.300": "10.100.0.300" is not a valid IPv4 or IPv6 address',
      'Warning InvalidAnnotation: metadata.annotations[xlb.dev/address-pool]: "nope" is not a configured pool; pools: default, small',
    ]);
    expect(ingress('shop', 'bad')).toEqual([]);
    expect(ingress('shop', 'p3')).toEqual([]);
    await expect.poll(() => ingress('shop', 'ports').length, { timeout: 5000 }).toBe(1);
    const portsVip = ingress('shop', 'ports')[0]!.ip;
    await expect.poll(() => layer.ids().filter((id) => id.startsWith(`${portsVip}:`)), { timeout: 5000 }).toEqual([`${portsVip}:80/tcp`]);
    expect(logs.filter((l) => l.startsWith('warn') && l.includes('Service shop/ports'))).toEqual([
      expect.stringMatching(/^warn kubernetes: Service shop\/ports: spec\.ports\[1\]\.protocol: SCTP is not supported/),
      expect.stringMatching(/^warn kubernetes: Service shop\/ports: spec\.ports\[2\]\.targetPort: /),
      expect.stringMatching(/^warn kubernetes: Service shop\/ports: spec\.ports\[3\]\.targetPort: /),
    ]);
    // Bad input on a Service that has a VIP leaves it as it was.
    const before = ingress('shop', 'p1');
    put(lbService('shop', 'p1', { annotations: { 'xlb.dev/address-pool': 'small', 'xlb.dev/load-balancer-ips': 'x' } }));
    await expect.poll(() => eventsOf('shop', 'p1').some((e) => e.includes('InvalidAnnotation')), { timeout: 5000 }).toBe(true);
    expect(ingress('shop', 'p1')).toEqual(before);
    expect(layer.ids()).toContain(`${before[0]!.ip}:80/tcp`);
  });

  it('deleted → removed from the layer and its VIP free again; type changed → status cleared', async () => {
    put(lbService('shop', 'web'));
    put(lbService('shop', 'api'));
    const { layer } = start();
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toHaveLength(2);
    const webVip = ingress('shop', 'web')[0]!.ip;
    store().delete(type('services'), 'shop', 'web');
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toHaveLength(1);
    put(lbService('shop', 'new'));
    await expect.poll(() => ingress('shop', 'new'), { timeout: 5000 }).toEqual([{ ip: webVip, ipMode: 'VIP' }]);

    const api = svc('shop', 'api');
    store().update(type('services'), 'shop', 'api', { ...api, spec: { ...api.spec, type: 'ClusterIP' } });
    await expect.poll(() => ingress('shop', 'api'), { timeout: 5000 }).toEqual([]);
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toEqual([`${webVip}:80/tcp`]);
    // Logged once the status write has returned, which is after the stand-in shows it: poll.
    await expect.poll(() => logs, { timeout: 5000 }).toContain('info kubernetes: Service shop/api: removed xlb\'s VIPs from its status (its type is ClusterIP now)');
  });

  it('a watch cut mid-stream resumes from its version (bookmarks keep it current); after 410 Gone it re-lists; no spurious deletes', async () => {
    put(lbService('shop', 'web'));
    slice('shop', 'web', [{ ip: '10.3.1.2' }]);
    const { source, layer } = start();
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toHaveLength(1);
    const id = layer.ids()[0]!;
    const watches = source.reflectorStats().endpointslices!.watches;
    expect(k.server.breakWatches()).toBeGreaterThanOrEqual(3);
    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2' }]);
    await expect.poll(() => backends(layer, id), { timeout: 5000 }).toHaveLength(2);
    expect(source.reflectorStats().endpointslices).toMatchObject({ lists: 1, gone: 0, watches: watches + 1 });

    // Bookmarks move the version forward while no slice changes (the Lease renewals move the
    // global version meanwhile): after one, compacting up to the version before it costs the watch
    // nothing — without bookmarks it would resume from its last slice event, compacted away.
    const before = store().revision;
    const bookmarks = source.reflectorStats().endpointslices!.bookmarks;
    await expect.poll(() => source.reflectorStats().endpointslices!.bookmarks, { timeout: 5000 }).toBeGreaterThan(bookmarks);
    expect(store().since(before, type('endpointslices'))).toEqual([]);
    k.server.compact(before);
    k.server.breakWatches();
    slice('shop', 'web', [{ ip: '10.3.2.2' }, { ip: '10.3.1.2' }, { ip: '10.3.4.2' }]);
    await expect.poll(() => backends(layer, id), { timeout: 5000 }).toHaveLength(3);
    expect(source.reflectorStats().endpointslices).toMatchObject({ lists: 1, gone: 0 });
    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2' }]);
    await expect.poll(() => backends(layer, id), { timeout: 5000 }).toHaveLength(2);

    // Cut again, and while the watches are away the history they would resume from is compacted.
    const diffs = layer.diffs.length;
    await k.server.setReachable(false);
    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2' }, { ip: '10.3.3.2' }]);
    k.server.compact();
    await k.server.setReachable(true);
    await expect.poll(() => backends(layer, id), { timeout: 5000 }).toHaveLength(3);
    expect(source.reflectorStats().endpointslices).toMatchObject({ lists: 2, gone: 1 });
    expect(layer.diffs.slice(diffs).flatMap((d) => [...d.deleted, ...d.created])).toEqual([]);
    expect(layer.diffs.slice(diffs).flatMap((d) => d.changes.flatMap((c) => c.removedBackends))).toEqual([]);
  });

  it('API server unreachable: the last known state stays; changes made meanwhile arrive on reconnect', async () => {
    put(lbService('shop', 'web'));
    slice('shop', 'web', [{ ip: '10.3.1.2' }]);
    const { source, layer } = start();
    await expect.poll(() => layer.ids(), { timeout: 5000 }).toHaveLength(1);
    const id = layer.ids()[0]!;
    await k.server.setReachable(false);
    slice('shop', 'web', [{ ip: '10.3.1.2' }, { ip: '10.3.2.2' }]);
    await expect.poll(() => source.status().lastError, { timeout: 5000 }).toMatch(/ECONNREFUSED|socket|closed|ECONNRESET/);
    expect(backends(layer, id)).toEqual(['10.3.1.2 active 1']);
    await k.server.setReachable(true);
    await expect.poll(() => backends(layer, id), { timeout: 5000 }).toEqual(['10.3.1.2 active 1', '10.3.2.2 active 1']);
    await expect.poll(() => source.status().lastError).toBeUndefined();
  });

  it('allocations live in the Services: a restarted source finds them and writes nothing', async () => {
    put(lbService('shop', 'a'));
    put(lbService('shop', 'b'));
    const first = start();
    await expect.poll(() => first.layer.ids(), { timeout: 5000 }).toHaveLength(2);
    const before = [ingress('shop', 'a'), ingress('shop', 'b')];
    await first.source.stop();
    const writes = k.server.requests.filter((r) => r.subresource === 'status').length;
    const second = start();
    await expect.poll(() => second.layer.ids(), { timeout: 5000 }).toEqual(first.layer.ids());
    await expect.poll(() => second.source.isLeader, { timeout: 5000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect([ingress('shop', 'a'), ingress('shop', 'b')]).toEqual(before);
    expect(k.server.requests.filter((r) => r.subresource === 'status').length).toBe(writes);
  });

  it('two nodes: one leader writes status; the other programs the same services; the leader dies → the other leads within the lease duration', async () => {
    put(lbService('shop', 'web'));
    slice('shop', 'web', [{ ip: '10.3.1.2' }]);
    const a = start(undefined, { nodeName: 'lb-1' });
    await expect.poll(() => a.source.isLeader, { timeout: 5000 }).toBe(true);
    await expect.poll(() => a.layer.ids(), { timeout: 5000 }).toHaveLength(1);
    const b = start(undefined, { nodeName: 'lb-2' });
    await expect.poll(() => b.layer.ids(), { timeout: 5000 }).toEqual(a.layer.ids());
    await expect.poll(() => b.source.status().leaderIdentity, { timeout: 5000 }).toBe('lb-1');
    expect(b.source.isLeader).toBe(false);
    expect(b.layer.state.toSnapshot().services.map((s) => [s.id, s.backends.map((x) => x.address)])).toEqual(
      a.layer.state.toSnapshot().services.map((s) => [s.id, s.backends.map((x) => x.address)]),
    );
    const statusWriters = new Set(k.server.requests.filter((r) => r.subresource === 'status').map((r) => r.user));
    expect(statusWriters.size).toBe(1);

    const killedAt = Date.now();
    await a.source.stop({ release: false }); // a crash: the Lease is left to expire
    await expect.poll(() => b.source.isLeader, { timeout: 5000, interval: 50 }).toBe(true);
    const took = Date.now() - killedAt;
    // Lease duration 2 s (+ one retry period for the check, + slack for this busy machine).
    expect(took).toBeLessThan(2000 + 200 + 800);
    put(lbService('shop', 'late'));
    await expect.poll(() => ingress('shop', 'late').length, { timeout: 5000 }).toBe(1);
  });

  it('a leader that stops gives the Lease up at once', async () => {
    const a = start(undefined, { nodeName: 'lb-1' });
    await expect.poll(() => a.source.isLeader, { timeout: 5000 }).toBe(true);
    const b = start(undefined, { nodeName: 'lb-2' });
    await expect.poll(() => b.source.status().leaderIdentity, { timeout: 5000 }).toBe('lb-1');
    const stoppedAt = Date.now();
    await a.source.stop();
    await expect.poll(() => b.source.isLeader, { timeout: 5000, interval: 50 }).toBe(true);
    expect(Date.now() - stoppedAt).toBeLessThan(1500);
  });
});
