// RBAC as the API server evaluates it, for the stand-in: the request's attributes (verb, API group,
// resource, subresource, namespace, name — the apiserver's RequestInfo) against the rules of the
// (Cluster)Roles bound to the user. The stand-in enforces deploy/kubernetes/'s manifests, so every
// test that runs xlbd against it also proves the manifests grant what xlbd does (403 otherwise).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Binding {
  kind: 'ClusterRoleBinding' | 'RoleBinding';
  namespace?: string;
  roleRef: { kind: 'ClusterRole' | 'Role'; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export function readManifests(dir: string): { file: string; doc: Manifest }[] {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      const doc = d.toJS() as Manifest | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

/** The apiserver's RequestInfo for an HTTP method and path (with ?watch). */
export function requestAttributes(method: string, url: URL): RequestAttributes | undefined {
  const parts = url.pathname.split('/').filter(Boolean);
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === 'api' && parts[1]) {
    apiGroup = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[1] && parts[2]) {
    apiGroup = parts[1];
    rest = parts.slice(3);
  } else return undefined;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  if (rest[0] === 'namespaces' && rest.length === 2) {
    // /api/v1/namespaces/NAME is the namespace object itself
  }
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  const verb =
    method === 'GET' || method === 'HEAD'
      ? watch
        ? 'watch'
        : name
          ? 'get'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : method === 'DELETE'
              ? name
                ? 'delete'
                : 'deletecollection'
              : method.toLowerCase();
  return { verb, apiGroup, resource, subresource, namespace, name };
}

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.apiGroup) || !has(rule.resources, resource)) return false;
  if (rule.resourceNames && rule.resourceNames.length) return a.name !== '' && rule.resourceNames.includes(a.name);
  return true;
}

export class Rbac {
  readonly #roles = new Map<string, PolicyRule[]>(); // "ClusterRole/name" | "Role/ns/name"
  readonly #bindings: Binding[] = [];

  constructor(manifests: readonly Manifest[]) {
    for (const m of manifests) {
      if (m.kind === 'ClusterRole') this.#roles.set(`ClusterRole/${m.metadata.name}`, (m.rules as PolicyRule[]) ?? []);
      else if (m.kind === 'Role') this.#roles.set(`Role/${m.metadata.namespace}/${m.metadata.name}`, (m.rules as PolicyRule[]) ?? []);
      else if (m.kind === 'ClusterRoleBinding' || m.kind === 'RoleBinding') {
        this.#bindings.push({ kind: m.kind, namespace: m.metadata.namespace, roleRef: m.roleRef as Binding['roleRef'], subjects: (m.subjects as Binding['subjects']) ?? [] });
      }
    }
  }

  /** The rules that apply to a service account in a namespace ('' = cluster-wide only). */
  rulesFor(serviceAccount: { namespace: string; name: string }, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.#bindings) {
      const bound = b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount.name && s.namespace === serviceAccount.namespace);
      if (!bound) continue;
      if (b.kind === 'RoleBinding' && b.namespace !== namespace) continue;
      const key = b.roleRef.kind === 'ClusterRole' ? `ClusterRole/${b.roleRef.name}` : `Role/${b.namespace}/${b.roleRef.name}`;
      out.push(...(this.#roles.get(key) ?? []));
    }
    return out;
  }

  allows(serviceAccount: { namespace: string; name: string }, a: RequestAttributes): boolean {
    return this.rulesFor(serviceAccount, a.namespace).some((r) => ruleAllows(r, a));
  }
}

/** The Forbidden message kube-apiserver writes. */
export function forbiddenMessage(user: string, a: RequestAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name ? `${a.resource}${a.apiGroup ? `.${a.apiGroup}` : ''} "${a.name}"` : `${a.resource}${a.apiGroup ? `.${a.apiGroup}` : ''}`;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${what} is forbidden: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}"${where}`;
}
