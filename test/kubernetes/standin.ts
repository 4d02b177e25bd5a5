// Starting the API server stand-in for a test: certificates, the manifests' RBAC, a kubeconfig per
// identity, and a small admin client (the test's kubectl) that creates and changes objects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths.js';
import { ApiServerStandIn } from './apiserver.js';
import { kubeconfigText, makeStandInPki, standInIdentities, TOKENS, type StandInPki } from './pki.js';
import { readManifests } from './rbac.js';
import type { Obj } from './store.js';

export const MANIFESTS_DIR = join(repoRoot, 'deploy', 'kubernetes');

export interface RunningStandIn {
  server: ApiServerStandIn;
  pki: StandInPki;
  dir: string;
  /** kubeconfig file for xlbd's service account. */
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startStandIn(o: { bookmarkIntervalMs?: number } = {}): Promise<RunningStandIn> {
  const dir = mkdtempSync(join(tmpdir(), `xlb-kube-${process.pid}-`));
  const pki = makeStandInPki(dir, ['127.0.0.1']);
  const server = new ApiServerStandIn({
    cert: pki.certPem,
    key: pki.keyPem,
    tokens: standInIdentities(),
    manifests: readManifests(MANIFESTS_DIR).map((m) => m.doc),
    bookmarkIntervalMs: o.bookmarkIntervalMs,
  });
  const { url } = await server.listen(0, '127.0.0.1');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(url, pki.caPem, TOKENS.xlbd));
  return {
    server,
    pki,
    dir,
    kubeconfig,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A LoadBalancer Service as a user would write it. */
export function lbService(
  namespace: string,
  name: string,
  o: {
    cls?: string | null;
    ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
    ipFamilies?: string[];
    annotations?: Record<string, string>;
    loadBalancerIP?: string;
    externalTrafficPolicy?: string;
    sessionAffinity?: string;
  } = {},
): Obj {
  const spec: Record<string, unknown> = {
    type: 'LoadBalancer',
    ports: o.ports ?? [{ name: 'http', port: 80 }],
    selector: { app: name },
  };
  if (o.cls !== null) spec.loadBalancerClass = o.cls ?? 'xlb.dev/xlb';
  if (o.ipFamilies) spec.ipFamilies = o.ipFamilies;
  if (o.loadBalancerIP) spec.loadBalancerIP = o.loadBalancerIP;
  if (o.externalTrafficPolicy) spec.externalTrafficPolicy = o.externalTrafficPolicy;
  if (o.sessionAffinity) spec.sessionAffinity = o.sessionAffinity;
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, ...(o.annotations ? { annotations: o.annotations } : {}) }, spec };
}

export interface EndpointSpec {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
}

/** An EndpointSlice of a Service, as the EndpointSlice controller writes it. */
export function endpointSlice(
  namespace: string,
  service: string,
  endpoints: EndpointSpec[],
  o: { name?: string; family?: 4 | 6; ports?: { name?: string; port: number; protocol?: string }[] } = {},
): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: o.name ?? `${service}-${o.family === 6 ? 'v6' : 'v4'}`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: o.family === 6 ? 'IPv6' : 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    })),
    ports: (o.ports ?? [{ name: 'http', port: 80 }]).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}
