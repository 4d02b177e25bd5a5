// The API server stand-in, checked with the official client library (@kubernetes/client-node, the
// one xlbd uses): the library must be able to list, watch, write status, elect with Leases and
// record Events against it exactly as against a real kube-apiserver — it deserialises what the
// stand-in sends into its typed models, and the stand-in must accept what the library serialises.
// The semantics xlbd relies on are checked too: versions, 410 Gone, bookmarks, conflicts, the
// status subresource, RBAC from deploy/kubernetes/.
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  V1EndpointSlice,
  V1Lease,
  V1MicroTime,
  V1Service,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigText, TOKENS } from './pki.js';
import { endpointSlice, lbService, startStandIn, type RunningStandIn } from './standin.js';

let s: RunningStandIn;
let admin: KubeConfig;
let xlbd: KubeConfig;

function config(token: string): KubeConfig {
  const f = join(s.dir, `kubeconfig-${token}`);
  writeFileSync(f, kubeconfigText(s.server.url, s.pki.caPem, token));
  const kc = new KubeConfig();
  kc.loadFromFile(f);
  return kc;
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: { reason?: string; message?: string; kind?: string; code?: number } }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) {
      // The library keeps the body as text for codes its OpenAPI description does not list, and
      // drops it for 401.
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : (e.body ?? {});
      return { code: e.code, body };
    }
    throw e;
  }
  throw new Error('expected an ApiException');
}

/** Collects watch events until `until` holds (or 5 s pass). */
function collect(kc: KubeConfig, path: string, query: Record<string, string | number | boolean | undefined>, until: (events: { type: string; object: any }[]) => boolean) {
  const events: { type: string; object: any }[] = [];
  let done: (err: unknown) => void;
  const finished = new Promise<unknown>((resolve) => (done = resolve));
  let controller: AbortController | undefined;
  const ready = new Watch(kc)
    .watch(
      path,
      query,
      (type, object) => {
        events.push({ type, object });
        if (until(events)) controller?.abort();
      },
      (err) => done(err),
    )
    .then((c) => (controller = c));
  return {
    events,
    ready,
    async result() {
      const t = setTimeout(() => controller?.abort(), 5000);
      const err = await finished;
      clearTimeout(t);
      return { events, err };
    },
  };
}

beforeAll(async () => {
  s = await startStandIn({ bookmarkIntervalMs: 100 });
  admin = config(TOKENS.admin);
  xlbd = config(TOKENS.xlbd);
});

afterAll(async () => {
  await s?.close();
});

describe('API server stand-in, through the official client', () => {
  it('creates and lists typed objects: the library deserialises what the stand-in sends', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedService({ namespace: 'shop', body: lbService('shop', 'web', { ports: [{ name: 'http', port: 80 }] }) as V1Service });
    expect(created).toBeInstanceOf(V1Service);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    // The API server's defaults.
    expect(created.spec).toMatchObject({ type: 'LoadBalancer', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', externalTrafficPolicy: 'Cluster', sessionAffinity: 'None' });
    expect(created.spec?.ports?.[0]).toMatchObject({ protocol: 'TCP', targetPort: 80 });
    expect(created.status).toEqual({});

    const discovery = admin.makeApiClient(DiscoveryV1Api);
    const slice = await discovery.createNamespacedEndpointSlice({ namespace: 'shop', body: endpointSlice('shop', 'web', [{ ip: '10.3.1.2' }]) as unknown as V1EndpointSlice });
    expect(slice.endpoints?.[0]?.conditions).toEqual({ ready: true, serving: true, terminating: false });

    const list = await xlbd.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
    expect(list.items.map((x) => x.metadata?.name)).toEqual(['web']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(slice.metadata?.resourceVersion));
    const slices = await xlbd.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'shop' });
    expect(slices.items[0]?.metadata?.labels).toEqual({ 'kubernetes.io/service-name': 'web' });
  });

  it('watches from a version: later events in order, each with its version; bookmarks on request', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const from = Number((await core.listServiceForAllNamespaces()).metadata?.resourceVersion);
    await core.createNamespacedService({ namespace: 'shop', body: lbService('shop', 'api') as V1Service });
    const api = await core.readNamespacedService({ namespace: 'shop', name: 'api' });
    api.metadata!.labels = { tier: 'backend' };
    await core.replaceNamespacedService({ namespace: 'shop', name: 'api', body: api });
    await core.deleteNamespacedService({ namespace: 'shop', name: 'api' });
    const w = collect(xlbd, '/api/v1/services', { resourceVersion: String(from), allowWatchBookmarks: true }, (ev) => ev.some((e) => e.type === 'BOOKMARK'));
    const { events } = await w.result();
    const changes = events.filter((e) => e.type !== 'BOOKMARK');
    expect(changes.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED api', 'MODIFIED api', 'DELETED api']);
    const versions = changes.map((e) => Number(e.object.metadata.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions[0]).toBeGreaterThan(from);
    const bookmark = events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).toEqual({ kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
  });

  it('a version older than the history is 410 Gone (an ERROR event with a Status); the library re-lists', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const old = (await core.listServiceForAllNamespaces()).metadata!.resourceVersion!;
    await core.createNamespacedService({ namespace: 'shop', body: lbService('shop', 'gone-test') as V1Service });
    s.server.compact();
    const { events } = await collect(xlbd, '/api/v1/services', { resourceVersion: old }, () => false).result();
    expect(events).toEqual([
      { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: expect.stringMatching(/^too old resource version/), reason: 'Expired', details: {}, code: 410 } },
    ]);

    // The library's own informer (ListWatch) treats that as "list again" and keeps its cache right.
    const listFn = () => xlbd.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
    const informer = makeInformer(xlbd, '/api/v1/services', listFn);
    const seen: string[] = [];
    informer.on('add', (o: KubernetesObject) => seen.push(`add ${o.metadata?.name}`));
    informer.on('delete', (o: KubernetesObject) => seen.push(`delete ${o.metadata?.name}`));
    await informer.start();
    await expect.poll(() => seen.includes('add gone-test')).toBe(true);
    // The server ends the watch (as at timeoutSeconds); the informer watches again from its version,
    // which is gone by then.
    await core.deleteNamespacedService({ namespace: 'shop', name: 'gone-test' });
    s.server.compact();
    s.server.endWatches();
    await expect.poll(() => seen.includes('delete gone-test'), { timeout: 5000 }).toBe(true);
    await informer.stop();
  });

  it('status subresource: only status is written, a stale version is 409, and the main resource cannot write status', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const svc = await core.readNamespacedService({ namespace: 'shop', name: 'web' });
    const mine = xlbd.makeApiClient(CoreV1Api);
    const body = { ...svc, spec: { ...svc.spec, type: 'ClusterIP' }, status: { loadBalancer: { ingress: [{ ip: '10.100.0.1', ipMode: 'VIP' }] } } } as V1Service;
    const written = await mine.replaceNamespacedServiceStatus({ namespace: 'shop', name: 'web', body });
    expect(written.status?.loadBalancer?.ingress).toEqual([{ ip: '10.100.0.1', ipMode: 'VIP' }]);
    expect(written.spec?.type).toBe('LoadBalancer');
    expect(Number(written.metadata?.resourceVersion)).toBeGreaterThan(Number(svc.metadata?.resourceVersion));
    // The same (now stale) version again: conflict.
    const stale = await apiError(mine.replaceNamespacedServiceStatus({ namespace: 'shop', name: 'web', body }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    // A write through the main resource keeps the status.
    const again = await core.readNamespacedService({ namespace: 'shop', name: 'web' });
    again.status = {};
    const kept = await core.replaceNamespacedService({ namespace: 'shop', name: 'web', body: again });
    expect(kept.status?.loadBalancer?.ingress).toEqual([{ ip: '10.100.0.1', ipMode: 'VIP' }]);
  });

  it('Leases: create, renew with the version read, 409 for a stale writer; MicroTime needs six digits', async () => {
    const coordination = xlbd.makeApiClient(CoordinationV1Api);
    const spec = (renewTime: Date) => ({ metadata: { name: 'xlbd' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 3, renewTime, leaseTransitions: 0 } }) as V1Lease;
    // A plain Date serialises milliseconds, which the API server's MicroTime parser refuses.
    const millis = await apiError(coordination.createNamespacedLease({ namespace: 'xlb-system', body: spec(new Date('2026-01-02T03:04:05.678Z')) }));
    expect(millis.code).toBe(400);
    expect(millis.body.message).toMatch(/cannot parse "\.678Z" as "\.000000"/);
    const lease = await coordination.createNamespacedLease({ namespace: 'xlb-system', body: spec(new V1MicroTime('2026-01-02T03:04:05.678Z')) });
    // The library hands MicroTime back as the wire's text.
    expect(lease.spec?.renewTime).toBe('2026-01-02T03:04:05.678000Z');
    const read = await coordination.readNamespacedLease({ namespace: 'xlb-system', name: 'xlbd' });
    const first = await coordination.replaceNamespacedLease({ namespace: 'xlb-system', name: 'xlbd', body: { ...read, spec: { ...read.spec, holderIdentity: 'b' } } });
    expect(first.spec?.holderIdentity).toBe('b');
    const second = await apiError(coordination.replaceNamespacedLease({ namespace: 'xlb-system', name: 'xlbd', body: { ...read, spec: { ...read.spec, holderIdentity: 'c' } } }));
    expect(second.code).toBe(409);
    expect((await apiError(coordination.createNamespacedLease({ namespace: 'xlb-system', body: read }))).body.reason).toBe('AlreadyExists');
    expect((await apiError(coordination.readNamespacedLease({ namespace: 'xlb-system', name: 'nope' }))).code).toBe(404);
  });

  it('Events are created in the involved object\'s namespace', async () => {
    const core = xlbd.makeApiClient(CoreV1Api);
    const now = new Date();
    await core.createNamespacedEvent({
      namespace: 'shop',
      body: {
        metadata: { name: 'web.1', namespace: 'shop' },
        involvedObject: { kind: 'Service', namespace: 'shop', name: 'web' },
        reason: 'Test',
        message: 'hello',
        type: 'Normal',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    const events = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'shop' });
    expect(events.items.map((e) => [e.reason, e.message, e.involvedObject.name])).toEqual([['Test', 'hello', 'web']]);
    expect(events.items[0]?.firstTimestamp?.getTime()).toBe(now.getTime());
  });

  it('RBAC from deploy/kubernetes/: xlbd may do what it needs and nothing else; no token is 401', async () => {
    const core = xlbd.makeApiClient(CoreV1Api);
    const write = await apiError(core.createNamespacedService({ namespace: 'shop', body: lbService('shop', 'x') as V1Service }));
    expect(write.code).toBe(403);
    expect(write.body.message).toBe('services is forbidden: User "system:serviceaccount:xlb-system:xlbd" cannot create resource "services" in API group "" in the namespace "shop"');
    const svc = await core.listNamespacedService({ namespace: 'shop' });
    expect((await apiError(core.replaceNamespacedService({ namespace: 'shop', name: 'web', body: svc.items[0]! }))).code).toBe(403);
    expect((await apiError(core.readNamespacedService({ namespace: 'shop', name: 'web' }))).code).toBe(403);
    // Leases only in xlb's namespace.
    expect((await apiError(xlbd.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'shop', name: 'xlbd' }))).code).toBe(403);
    const anonymous = config('wrong-token');
    expect((await apiError(anonymous.makeApiClient(CoreV1Api).listServiceForAllNamespaces())).code).toBe(401);
    expect(s.server.requests.filter((r) => r.code === 403).map((r) => `${r.verb} ${r.resource}`)).toEqual(
      expect.arrayContaining(['create services', 'update services', 'get services', 'get leases']),
    );
  });
});
