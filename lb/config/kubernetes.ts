// The `kubernetes:` section (and its flags): Kubernetes mode is on when the file has the section or
// --kubeconfig / --in-cluster is given. Everything is checked here, at load, with errors naming the
// YAML path or flag: the Kubernetes source itself never meets a malformed setting.
import { hostname } from 'node:os';
import { isPlainObject, parseIp, parsePrefix, unusableAddressReason } from '../model/index.js';
import { KUBERNETES_DEFAULTS } from './defaults.js';
import { boolean, integer, readableFile, type Resolver, type Setting } from './resolver.js';
import type { AddressPool, KubernetesConfig, PoolPrefix, XlbdFlags } from './types.js';
import type { PathSegment } from './yaml-source.js';

export const KUBERNETES_KEYS = [
  'kubeconfig', 'context', 'in_cluster', 'load_balancer_class', 'default_class', 'address_pools', 'namespaces', 'node_name',
  'leader_election', 'watch_timeout_seconds',
] as const;
export const LEADER_ELECTION_KEYS = ['namespace', 'lease_name', 'lease_duration_seconds', 'renew_deadline_seconds', 'retry_period_seconds'] as const;
const POOL_KEYS = ['name', 'addresses'];

// A DNS-1123 label (namespaces, pool names) and subdomain (node and Lease names).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// What the API server accepts in spec.loadBalancerClass: a label-style key with a domain prefix.
const CLASS_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
// The narrowest prefixes a pool may have: wide enough for any real VIP range, narrow enough that
// "the first free address" never walks an absurd space.
const POOL_PREFIX_MIN = { 4: 8, 6: 64 } as const;

const K = 'kubernetes';

function isGiven(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function loadBalancerClass(r: Resolver, s: Setting): string {
  const v = s.value;
  const [prefix, name, extra] = typeof v === 'string' ? v.split('/') : [];
  if (typeof v !== 'string' || extra !== undefined || !prefix || !DNS_SUBDOMAIN.test(prefix) || !name || !CLASS_NAME.test(name)) {
    r.fail(s, `${JSON.stringify(v)} is not a load balancer class; it must be a domain-prefixed name such as ${KUBERNETES_DEFAULTS.loadBalancerClass}`);
  }
  return v;
}

function pattern(r: Resolver, s: Setting, re: RegExp, what: string): string {
  if (typeof s.value !== 'string' || !re.test(s.value)) r.fail(s, `${JSON.stringify(s.value)} is not a valid ${what}`);
  return s.value;
}

/** Seconds as a number in [min, max]; fractions allowed (tests use sub-second periods). */
function seconds(r: Resolver, s: Setting, min: number, max: number): number {
  if (typeof s.value !== 'number' || !Number.isFinite(s.value) || s.value < min || s.value > max) {
    r.fail(s, `${JSON.stringify(s.value)} must be a number of seconds ${min}..${max}`);
  }
  return s.value;
}

function prefixOf(r: Resolver, s: Setting): PoolPrefix {
  const p = r.check(s, (v) => parsePrefix(v, '', { allowBare: true }));
  const reason = unusableAddressReason(p.address);
  if (reason) r.fail(s, `${p.text} ${reason}; VIPs must be routable unicast addresses`);
  const min = POOL_PREFIX_MIN[p.address.family];
  if (p.prefixLength < min) r.fail(s, `/${p.prefixLength} is too wide for an address pool; use /${min} or longer`);
  return { address: p.address.text, family: p.address.family, prefixLength: p.prefixLength, text: p.text };
}

/** First and last address of a prefix as integers, for overlap checks. */
function range(p: PoolPrefix): [bigint, bigint] {
  let base = 0n;
  for (const byte of parseIp(p.address, '').bytes) base = (base << 8n) | BigInt(byte);
  const size = 1n << BigInt((p.family === 4 ? 32 : 128) - p.prefixLength);
  return [base, base + size - 1n];
}

function addressPools(r: Resolver, flags: XlbdFlags): AddressPool[] {
  if (flags.addressPool !== undefined) {
    const s: Setting = { value: flags.addressPool, from: 'flag', path: '--address-pool', segments: [K, 'address_pools'] };
    if (flags.addressPool.length === 0) r.fail(s, 'needs at least one CIDR');
    return [{ name: 'default', prefixes: flags.addressPool.map((value) => prefixOf(r, { ...s, value })) }];
  }
  const segs: PathSegment[] = [K, 'address_pools'];
  const list = r.fileValue(segs);
  if (!Array.isArray(list) || list.length === 0) {
    r.fail(
      { from: isGiven(list) ? 'file' : 'default', path: `${K}.address_pools`, segments: segs },
      'is required: at least one pool { name, addresses: [CIDR, ...] } to take VIPs from (or --address-pool CIDR)',
    );
  }
  const names = new Set<string>();
  const pools = list.map((raw: unknown, i: number): AddressPool => {
    const at = [...segs, i];
    if (!isPlainObject(raw)) r.failAt(at, 'expected a pool { name, addresses: [CIDR, ...] }');
    for (const k of Object.keys(raw)) if (!POOL_KEYS.includes(k)) r.failAt([...at, k], `unknown setting; expected one of: ${POOL_KEYS.join(', ')}`, { key: true });
    const name = pattern(r, { value: raw.name, from: 'file', path: `${K}.address_pools[${i}].name`, segments: [...at, 'name'] }, DNS_LABEL, 'pool name (a DNS label: a-z 0-9 -)');
    if (names.has(name)) r.failAt([...at, 'name'], `pool ${name} is defined twice`);
    names.add(name);
    const addresses = raw.addresses;
    if (!Array.isArray(addresses) || addresses.length === 0) r.failAt([...at, 'addresses'], 'expected a non-empty list of CIDRs, e.g. [198.51.100.0/28, 2001:db8:100::/120]');
    const prefixes = addresses.map((value: unknown, j: number) =>
      prefixOf(r, { value, from: 'file', path: `${K}.address_pools[${i}].addresses[${j}]`, segments: [...at, 'addresses', j] }),
    );
    return { name, prefixes };
  });
  // Overlapping pools would let one address be "free" in one pool and taken in another.
  const all = pools.flatMap((p, i) => p.prefixes.map((x, j) => ({ x, at: [...segs, i, 'addresses', j] as PathSegment[], r: range(x) })));
  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const A = all[a]!;
      const B = all[b]!;
      if (A.x.family === B.x.family && A.r[0] <= B.r[1] && B.r[0] <= A.r[1]) r.failAt(B.at, `${B.x.text} overlaps ${A.x.text}; pools must not overlap`);
    }
  }
  return pools;
}

function namespaces(r: Resolver, flags: XlbdFlags): string[] {
  const s = r.get([K, 'namespaces'], { name: '--watch-namespace', value: flags.watchNamespaces }, []);
  if (!Array.isArray(s.value)) r.fail(s, 'expected a list of namespaces (empty = all)');
  const seen = new Set<string>();
  return s.value.map((v: unknown, i: number) => {
    const item: Setting = { ...s, value: v, path: s.from === 'flag' ? s.path : `${s.path}[${i}]`, segments: [...s.segments, i] };
    const ns = pattern(r, item, DNS_LABEL, 'namespace');
    if (seen.has(ns)) r.fail(item, `namespace ${ns} is listed twice`);
    seen.add(ns);
    return ns;
  });
}

/** The `kubernetes:` section, or undefined when Kubernetes mode is off. */
export function resolveKubernetes(r: Resolver, flags: XlbdFlags, env: NodeJS.ProcessEnv, checkFiles: boolean): KubernetesConfig | undefined {
  const section = r.fileValue([K]);
  if (!isGiven(section) && flags.kubeconfig === undefined && flags.inCluster === undefined) return undefined;

  const kubeconfigS = r.get([K, 'kubeconfig'], { name: '--kubeconfig', value: flags.kubeconfig }, undefined);
  const inClusterS = r.get([K, 'in_cluster'], { name: '--in-cluster', value: flags.inCluster }, false);
  const inCluster = boolean(r, inClusterS);
  const contextS = r.get([K, 'context'], undefined, undefined);
  let access: KubernetesConfig['access'];
  if (inCluster) {
    if (kubeconfigS.value !== undefined) r.fail(kubeconfigS, 'cannot be combined with in_cluster: true; remove one of them');
    if (contextS.value !== undefined) r.fail(contextS, 'applies to a kubeconfig file only');
    access = { kind: 'in-cluster' };
  } else {
    if (kubeconfigS.value === undefined) {
      r.fail({ ...kubeconfigS, from: 'file' }, 'is required: the kubeconfig file to reach the API server with (or in_cluster: true inside a pod; --kubeconfig / --in-cluster)');
    }
    const context = contextS.value === undefined ? undefined : pattern(r, contextS, /^\S{1,253}$/, 'kubeconfig context name');
    access = { kind: 'kubeconfig', path: readableFile(r, kubeconfigS, checkFiles), context };
  }

  const lbClass = loadBalancerClass(r, r.get([K, 'load_balancer_class'], { name: '--load-balancer-class', value: flags.loadBalancerClass }, KUBERNETES_DEFAULTS.loadBalancerClass));
  const defaultClass = boolean(r, r.get([K, 'default_class'], undefined, false));

  const nodeS = r.get([K, 'node_name'], { name: '--node-name', value: flags.nodeName }, env.NODE_NAME || hostname());
  const nodeName = pattern(r, nodeS, DNS_SUBDOMAIN, 'node name (a DNS subdomain; from node_name, --node-name, $NODE_NAME or the host name)');

  const le = [K, 'leader_election'];
  const D = KUBERNETES_DEFAULTS;
  const leaseNamespace = pattern(r, r.get([...le, 'namespace'], undefined, D.leaseNamespace), DNS_LABEL, 'namespace');
  const leaseName = pattern(r, r.get([...le, 'lease_name'], undefined, D.leaseName), DNS_SUBDOMAIN, 'Lease name');
  const durationS = r.get([...le, 'lease_duration_seconds'], undefined, D.leaseDurationSeconds);
  // The Lease's own field is an integer number of seconds.
  const leaseDurationSeconds = integer(r, durationS, 1, 3600);
  const renewS = r.get([...le, 'renew_deadline_seconds'], undefined, Math.min(D.renewDeadlineSeconds, leaseDurationSeconds * (2 / 3)));
  const renew = seconds(r, renewS, 0.1, 3600);
  if (renew >= leaseDurationSeconds) r.fail(renewS, `${renew} must be shorter than lease_duration_seconds (${leaseDurationSeconds})`);
  const retryS = r.get([...le, 'retry_period_seconds'], undefined, Math.min(D.retryPeriodSeconds, renew / 2));
  const retry = seconds(r, retryS, 0.05, 3600);
  if (retry >= renew) r.fail(retryS, `${retry} must be shorter than renew_deadline_seconds (${renew})`);

  return {
    access,
    loadBalancerClass: lbClass,
    defaultClass,
    addressPools: addressPools(r, flags),
    namespaces: namespaces(r, flags),
    nodeName,
    leaderElection: { namespace: leaseNamespace, leaseName, leaseDurationSeconds, renewDeadlineMs: Math.round(renew * 1000), retryPeriodMs: Math.round(retry * 1000) },
    watchTimeoutSeconds: integer(r, r.get([K, 'watch_timeout_seconds'], undefined, D.watchTimeoutSeconds), 1, 3600),
  };
}
