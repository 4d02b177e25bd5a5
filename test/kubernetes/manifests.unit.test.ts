// deploy/kubernetes/: every manifest parses and has what Kubernetes requires; the DaemonSets run
// without privileged: true and with exactly the capabilities the systemd units have (proven one by
// one by test/systemd/caps.lab.test.ts); the ConfigMap is a configuration xlbd accepts; and the
// RBAC rules grant exactly the requests lb/kubernetes makes — derived from the code, not listed by
// hand:
//   - every call of an API method of the official client library in lb/kubernetes/*.ts is found
//     with TypeScript's type checker (the receiver's type is one of the library's API classes), and
//     replayed through that class's request factory (the library's own code that builds the HTTP
//     request) to get its method and path, which give verb, API group, resource and scope exactly
//     as the API server derives them;
//   - watches go through the library's Watch with paths built from client.ts's WATCHED table: each
//     is run against a recording API server stand-in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfiguration, ServerConfiguration } from '@kubernetes/client-node';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lb/config/index.js';
import { ClientKubeApi, loadKubeConfig, WATCHED, type Watched } from '../../lb/kubernetes/index.js';
import { repoRoot } from '../lab/paths.js';
import { UnitFile } from '../systemd/unit-file.js';
import { XLBD_SERVICE_ACCOUNT } from './pki.js';
import { readManifests, requestAttributes, type Manifest, type PolicyRule, type RequestAttributes } from './rbac.js';
import { MANIFESTS_DIR, startStandIn, type RunningStandIn } from './standin.js';

const manifests = readManifests(MANIFESTS_DIR);
const docs = manifests.map((m) => m.doc);
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const one = (kind: string, name: string) => {
  const found = docs.filter((d) => d.kind === kind && d.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
};
const NAMESPACE = 'xlb-system';
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

interface Pod {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  containers: {
    name: string;
    image?: string;
    command?: string[];
    env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    securityContext?: { privileged?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { add?: string[]; drop?: string[] } };
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
  volumes?: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[];
  [k: string]: unknown;
}

function podOf(ds: Manifest): Pod {
  return (ds.spec as { template: { spec: Pod } }).template.spec;
}

/** CapabilityBoundingSet of a systemd unit, as the names a Kubernetes securityContext uses. */
function unitCapabilities(unit: string): string[] {
  const u = UnitFile.read(join(repoRoot, 'systemd', unit));
  return u.all('Service', 'CapabilityBoundingSet').join(' ').split(/\s+/).filter(Boolean).map((c) => c.replace(/^CAP_/, '')).sort();
}

describe('deploy/kubernetes manifests', () => {
  it('parse, and every object has apiVersion, kind, a name, and the namespace when it is namespaced', () => {
    expect(manifests.map((m) => m.file).filter((f, i, a) => a.indexOf(f) === i)).toEqual([
      'configmap.yaml', 'decap-daemonset.yaml', 'namespace.yaml', 'rbac.yaml', 'xlbd-daemonset.yaml',
    ]);
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toMatch(/^([a-z0-9.]+\/)?v1$/);
      expect(doc.kind, file).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/);
      if (CLUSTER_SCOPED.has(doc.kind)) expect(doc.metadata.namespace, `${file} ${doc.kind}`).toBeUndefined();
      else expect(doc.metadata.namespace, `${file} ${doc.kind}/${doc.metadata.name}`).toBe(NAMESPACE);
    }
    one('Namespace', NAMESPACE);
    one('ServiceAccount', XLBD_SERVICE_ACCOUNT.name);
  });

  it('DaemonSets: selectors match their pods, host network, bpffs from the host, no privileged: true, the systemd units\' capabilities', () => {
    const expectations = [
      { name: 'xlbd', unit: 'xlbd.service' },
      { name: 'xlb-decap', unit: 'xlb-decap@.service' },
    ];
    expect(byKind('DaemonSet').map((d) => d.metadata.name).sort()).toEqual(expectations.map((e) => e.name).sort());
    for (const { name, unit } of expectations) {
      const ds = one('DaemonSet', name);
      expect(ds.apiVersion).toBe('apps/v1');
      const spec = ds.spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
      expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
      const pod = podOf(ds);
      expect(pod.hostNetwork, name).toBe(true);
      expect(JSON.stringify(ds)).not.toMatch(/"privileged":true/);
      expect(pod.containers).toHaveLength(1);
      const c = pod.containers[0]!;
      expect(c.image, name).toBeTruthy();
      expect(c.command?.length, name).toBeGreaterThan(0);
      expect(c.securityContext?.privileged).toBe(false);
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
      expect([...(c.securityContext?.capabilities?.add ?? [])].sort(), `${name} vs systemd/${unit}`).toEqual(unitCapabilities(unit));
      const bpffs = pod.volumes?.find((v) => v.hostPath?.path === '/sys/fs/bpf');
      expect(bpffs, name).toBeDefined();
      expect(c.volumeMounts).toContainEqual({ name: bpffs!.name, mountPath: '/sys/fs/bpf' });
    }
    const xlbd = podOf(one('DaemonSet', 'xlbd'));
    expect(xlbd.serviceAccountName).toBe(XLBD_SERVICE_ACCOUNT.name);
    expect(xlbd.containers[0]!.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    const configVolume = xlbd.volumes!.find((v) => v.configMap)!;
    one('ConfigMap', configVolume.configMap!.name);
    expect(xlbd.containers[0]!.command).toEqual(['xlbd', '--config', `${xlbd.containers[0]!.volumeMounts!.find((m) => m.name === configVolume.name)!.mountPath}/xlb.yaml`]);
    expect(xlbd.volumes!.map((v) => v.hostPath?.path).filter(Boolean).sort()).toEqual(['/run/xlb', '/sys/fs/bpf', '/var/lib/xlb']);
    // The decap DaemonSet needs no API access at all.
    const decap = podOf(one('DaemonSet', 'xlb-decap'));
    expect(decap.automountServiceAccountToken).toBe(false);
    expect(decap.serviceAccountName).toBeUndefined();
    expect(decap.containers[0]!.command!.join(' ')).toMatch(/xlb decap attach --dev /);
  });

  it('the ConfigMap holds a configuration xlbd accepts, in Kubernetes mode with the Role\'s Lease namespace', () => {
    const cm = one('ConfigMap', 'xlbd-config');
    const text = (cm.data as Record<string, string>)['xlb.yaml']!;
    const c = resolveConfig({ yaml: { text, file: 'configmap.yaml:xlb.yaml' }, checkFiles: false, env: { NODE_NAME: 'node-1' } });
    expect(c.kubernetes).toMatchObject({ access: { kind: 'in-cluster' }, loadBalancerClass: 'xlb.dev/xlb', nodeName: 'node-1' });
    const role = byKind('Role').find((r) => ((r.rules as PolicyRule[]) ?? []).some((x) => x.resources?.includes('leases')))!;
    expect(c.kubernetes!.leaderElection.namespace).toBe(role.metadata.namespace);
    expect(c.stateDir).toBe('/var/lib/xlb');
    expect(c.api.listen).toMatchObject({ kind: 'unix', path: '/run/xlb/xlb.sock' });
  });
});

// ---- RBAC = what the code does --------------------------------------------------------------

const CLIENT_FILE = 'lb/kubernetes/client.ts';
const LIBRARY = '@kubernetes/client-node';

function productFiles(dir: string): string[] {
  return ts.sys.readDirectory(join(repoRoot, dir), ['.ts']).filter((f) => !f.endsWith('.d.ts'));
}

/** The values (not types) a file imports from the library. */
function libraryImports(file: string): string[] {
  const sf = ts.createSourceFile(file, ts.sys.readFile(file)!, ts.ScriptTarget.ES2022, true);
  const names: string[] = [];
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || (st.moduleSpecifier as ts.StringLiteral).text !== LIBRARY) continue;
    const clause = st.importClause;
    if (!clause || clause.isTypeOnly) continue;
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const el of bindings.elements) if (!el.isTypeOnly) names.push(el.name.text);
    } else if (bindings) names.push('*');
    if (clause.name) names.push('default');
  }
  return names;
}

/**
 * The library API calls of client.ts: its private fields typed with a library API class (or Watch),
 * and every `this.#field.method(...)` on them. Read from the syntax tree: client.ts is the only
 * product file that may hold an API object (checked first), so this is every call xlbd makes.
 */
function libraryCalls(): { api: string; method: string; where: string }[] {
  const file = join(repoRoot, CLIENT_FILE);
  const sf = ts.createSourceFile(file, ts.sys.readFile(file)!, ts.ScriptTarget.ES2022, true);
  const fields = new Map<string, string>();
  const out: { api: string; method: string; where: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isPropertyDeclaration(node) && ts.isPrivateIdentifier(node.name) && node.type && ts.isTypeReferenceNode(node.type)) {
      fields.set(node.name.text, node.type.typeName.getText(sf));
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const target = node.expression.expression;
      if (ts.isPropertyAccessExpression(target) && target.expression.kind === ts.SyntaxKind.ThisKeyword && ts.isPrivateIdentifier(target.name)) {
        const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
        out.push({ api: target.name.text, method: node.expression.name.text, where: `${CLIENT_FILE}:${line + 1}` });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out
    .map((c) => ({ ...c, api: fields.get(c.api) ?? '' }))
    .filter((c) => /Api$/.test(c.api) || c.api === 'Watch');
}

/** What the API server would authorise for one library method: its own request factory builds the request. */
async function requestOf(api: string, method: string): Promise<RequestAttributes> {
  const mod = (await import(`@kubernetes/client-node/dist/gen/apis/${api}.js`)) as Record<string, new (c: unknown) => Record<string, (...a: unknown[]) => Promise<{ getHttpMethod(): string; getUrl(): string }>>>;
  const factory = new mod[`${api}RequestFactory`]!(createConfiguration({ baseServer: new ServerConfiguration('https://apiserver', {}) }));
  const fn = factory[method]!;
  // Placeholders for every parameter but the trailing options.
  const ctx = await fn.apply(factory, Array.from({ length: fn.length - 1 }, () => 'placeholder'));
  const attrs = requestAttributes(ctx.getHttpMethod(), new URL(ctx.getUrl()));
  if (!attrs) throw new Error(`${api}.${method}: ${ctx.getUrl()} is not an API path`);
  return attrs;
}

const key = (a: { apiGroup: string; resource: string; subresource?: string; verb: string }) =>
  `${a.apiGroup || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}:${a.verb}`;

let standIn: RunningStandIn;
let tmp: string;

beforeAll(async () => {
  standIn = await startStandIn();
  tmp = mkdtempSync(join(tmpdir(), `xlb-rbac-${process.pid}-`));
});

afterAll(async () => {
  await standIn?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('RBAC: exactly the requests lb/kubernetes makes', () => {
  it('derives the verbs from the code and finds the manifests grant exactly those, leases only in xlb\'s namespace', async () => {
    // All API traffic lives in client.ts: no other product file imports a library value that could
    // make a request (types, and V1MicroTime for Lease times, are fine).
    for (const dir of ['lb', 'api', 'recorder']) {
      for (const f of productFiles(dir)) {
        if (f.endsWith(CLIENT_FILE)) continue;
        expect(libraryImports(f).filter((n) => n !== 'V1MicroTime'), f).toEqual([]);
      }
    }
    expect(libraryImports(join(repoRoot, CLIENT_FILE))).toEqual(expect.arrayContaining(['CoreV1Api', 'DiscoveryV1Api', 'CoordinationV1Api', 'Watch']));
    const calls = libraryCalls();
    // Not vacuous: the scan sees the calls.
    expect(calls.length).toBeGreaterThanOrEqual(10);

    const used = new Map<string, { namespaced: boolean; from: string }>();
    for (const c of calls.filter((x) => x.api !== 'Watch')) {
      const a = await requestOf(c.api, c.method);
      used.set(key(a), { namespaced: a.namespace !== '' || used.get(key(a))?.namespaced === true, from: `${c.api}.${c.method} (${c.where})` });
    }
    // Watches: the one Watch#watch call, with each collection of the WATCHED table, against a
    // recording stand-in.
    expect(calls.filter((c) => c.api === 'Watch').map((c) => c.method)).toEqual(['watch']);
    const client = new ClientKubeApi(loadKubeConfig({ kind: 'kubeconfig', path: standIn.kubeconfig, context: undefined }));
    for (const resource of Object.keys(WATCHED) as Watched[]) {
      const watch = await client.watch(resource, undefined, { resourceVersion: '1', timeoutSeconds: 5, allowWatchBookmarks: true }, () => {}, () => {});
      watch.abort(); // the request was made (and recorded) once the watch is open
    }
    for (const r of standIn.server.requests.filter((x) => x.verb === 'watch')) {
      expect(r.code, `${key(r)} was refused`).toBe(200);
      used.set(key(r), { namespaced: false, from: 'Watch#watch (lb/kubernetes/client.ts)' });
    }

    // What the manifests grant xlbd's service account, expanded to group/resource:verb.
    const granted = new Map<string, string>();
    for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
      const subjects = (b.subjects as { kind: string; name: string; namespace: string }[]) ?? [];
      if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === XLBD_SERVICE_ACCOUNT.name && s.namespace === XLBD_SERVICE_ACCOUNT.namespace)) continue;
      const ref = b.roleRef as { kind: string; name: string };
      const role = docs.find((d) => d.kind === ref.kind && d.metadata.name === ref.name && (ref.kind === 'ClusterRole' || d.metadata.namespace === b.metadata.namespace))!;
      const scope = b.kind === 'RoleBinding' ? `namespace ${b.metadata.namespace}` : 'cluster';
      for (const rule of (role.rules as PolicyRule[]) ?? []) {
        expect(rule.resourceNames, 'no rule needs resourceNames').toBeUndefined();
        for (const g of rule.apiGroups ?? []) for (const res of rule.resources ?? []) for (const v of rule.verbs) {
          expect([g, res, v], 'no wildcards').not.toContain('*');
          const [resource, subresource] = res.split('/');
          granted.set(key({ apiGroup: g, resource: resource!, subresource, verb: v }), scope);
        }
      }
    }
    console.info(`requests lb/kubernetes makes: ${[...used.keys()].sort().join(', ')}`);
    expect([...granted.keys()].sort()).toEqual([...used.keys()].sort());
    // Leases: namespaced calls, granted only in xlb's own namespace.
    expect(granted.get('coordination.k8s.io/leases:update')).toBe(`namespace ${NAMESPACE}`);
    expect(used.get('coordination.k8s.io/leases:update')?.namespaced).toBe(true);
    for (const [k, scope] of granted) if (!k.startsWith('coordination.k8s.io/')) expect(scope, k).toBe('cluster');
  });
});
