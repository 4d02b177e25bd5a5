// From the cluster's objects to xlb's desired state: pure, so every node computes the same result
// from the same objects, and the leader's status writes follow from the same computation.
//
// Which VIPs a Service is served on comes from its status (status.loadBalancer.ingress): the
// allocation lives in the cluster and survives every restart of every node. The leader computes the
// status each Service should have (keep valid addresses, honour requested ones, allocate missing
// families) and writes it; every node, leader included, programs what the status says once the
// write comes back through the watch.
//
// Existing allocations are claimed first (oldest Service first), then requests and new allocations:
// a Service that asks for an address another Service already holds gets an Event, never the address.
// An address in a Service's status stays its own even if the API or the config file later puts
// another port on it (only a clash of the same VIP:port/protocol is refused, port by port); new
// allocations and requests avoid the other layers' VIPs.
import { formatServiceId, parseIp, validateService, ValidationError, type HealthCheckInput, type KubernetesRef, type Limits, type ServiceInput } from '../model/index.js';
import { annotationField, ANNOTATIONS, readAnnotations } from './annotations.js';
import type { Pools } from './pools.js';
import { objectKey, SERVICE_NAME_LABEL, type Endpoint, type KEndpointSlice, type KNode, type KService, type ServicePort } from './wire.js';

/** Why a Service (or part of it) is not served as asked; becomes a Warning Event and a log line. */
export interface Problem {
  /** Event reason (CamelCase, as Kubernetes events have it). */
  reason:
    | 'InvalidAnnotation'
    | 'InvalidLoadBalancerIP'
    | 'AddressOutsidePools'
    | 'AddressTaken'
    | 'PoolExhausted'
    | 'UnsupportedIPFamily'
    | 'UnsupportedProtocol'
    | 'PortTranslation'
    | 'InvalidEndpoints'
    | 'CapacityExceeded';
  /** The Service's field at fault, e.g. spec.ports[1].targetPort. */
  field: string;
  message: string;
}

export interface ServicePlan {
  ref: KubernetesRef & { uid: string; resourceVersion: string };
  /** The VIPs the status should list (ipMode VIP); `statusChanged` says whether it lists others now. */
  status: string[];
  statusChanged: boolean;
  /** Addresses in `status` that the status does not hold yet (new allocations or requests). */
  assigning: string[];
  /** The xlb services to program: from the VIPs in the current status. */
  inputs: ServiceInput[];
  problems: Problem[];
}

export interface StatusClear {
  ref: KubernetesRef & { uid: string; resourceVersion: string };
  /** The ingress IPs to keep (the status minus xlb's pool addresses). */
  keep: string[];
  why: string;
}

export interface Translation {
  /** Services xlb implements, oldest first. */
  plans: ServicePlan[];
  /** Services that are no longer xlb's but still list addresses of its pools. */
  clears: StatusClear[];
}

export interface TranslateInput {
  services: readonly KService[];
  slices: readonly KEndpointSlice[];
  nodes: readonly KNode[];
  loadBalancerClass: string;
  defaultClass: boolean;
  pools: Pools;
  limits: Limits;
  /** What the other layers (API, config file) hold: their VIPs are never allocated, their ids never taken. */
  others: { vips: ReadonlySet<string>; ids: ReadonlySet<string> };
  /** Room left for the kubernetes layer. */
  capacity: { services: number; backends: number };
}

const FAMILY_OF: Readonly<Record<string, 4 | 6>> = { IPv4: 4, IPv6: 6 };

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function refOf(svc: KService): ServicePlan['ref'] {
  const m = svc.metadata ?? {};
  return { namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '' };
}

function statusIps(svc: KService): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
}

/** The status lists exactly `ips`, each with ipMode VIP. */
function statusIs(svc: KService, ips: readonly string[]): boolean {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  return ingress.length === ips.length && ingress.every((i, n) => i.ip === ips[n] && i.ipMode === 'VIP' && !i.hostname);
}

function created(svc: KService): number {
  const t = Date.parse(svc.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

/** Oldest first, then by namespace/name: the order claims are made in, the same on every node. */
function byAge(a: KService, b: KService): number {
  return created(a) - created(b) || objectKey(a).localeCompare(objectKey(b));
}

export function isOurs(svc: KService, loadBalancerClass: string, defaultClass: boolean): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === loadBalancerClass || ((cls === undefined || cls === null || cls === '') && defaultClass);
}

/** Canonical address text, or undefined for anything that is not an IP address. */
function canonicalIp(text: string): string | undefined {
  try {
    return parseIp(text, '').text;
  } catch {
    return undefined;
  }
}

export function translate(input: TranslateInput): Translation {
  const { pools } = input;
  const ours = input.services.filter((s) => isOurs(s, input.loadBalancerClass, input.defaultClass)).sort(byAge);
  const clears: StatusClear[] = [];
  for (const svc of input.services) {
    if (isOurs(svc, input.loadBalancerClass, input.defaultClass)) continue;
    const classOfOther = svc.spec?.type === 'LoadBalancer' && svc.spec.loadBalancerClass;
    if (classOfOther) continue; // another provider's Service: its status is not ours to touch
    const ips = statusIps(svc);
    const keep = ips.filter((ip) => pools.poolOf(canonicalIp(ip) ?? ip) === undefined);
    if (keep.length === ips.length) continue;
    const why = svc.spec?.type !== 'LoadBalancer' ? `its type is ${svc.spec?.type ?? 'unset'} now` : 'it has no loadBalancerClass and xlb is not the default class';
    clears.push({ ref: refOf(svc), keep, why });
  }

  // Pass 1: existing allocations (status), oldest Service first.
  const holder = new Map<string, string>(); // address → "namespace/name"
  const held = new Map<KService, string[]>();
  const problems = new Map<KService, Problem[]>();
  const families = new Map<KService, (4 | 6)[]>();
  for (const svc of ours) {
    const p: Problem[] = [];
    problems.set(svc, p);
    const fams = readFamilies(svc, p);
    families.set(svc, fams);
    const kept: string[] = [];
    statusIps(svc).forEach((raw, i) => {
      const ip = canonicalIp(raw);
      const field = `status.loadBalancer.ingress[${i}].ip`;
      if (!ip || !pools.poolOf(ip) || !fams.includes(familyOf(ip)) || kept.some((k) => familyOf(k) === familyOf(ip))) return; // rewritten by the leader
      const other = holder.get(ip);
      if (other) {
        p.push({ reason: 'AddressTaken', field, message: `${ip} is already the VIP of Service ${other}` });
        return;
      }
      holder.set(ip, objectKey(svc));
      kept.push(ip);
    });
    held.set(svc, kept);
  }

  // Pass 2: what the status should be (requests and new allocations), then what to program.
  const isTaken = (svc: KService) => (ip: string) => (holder.has(ip) && holder.get(ip) !== objectKey(svc)) || input.others.vips.has(ip);
  // EndpointSlices by the Service they belong to, once per pass.
  const slicesOf = new Map<string, KEndpointSlice[]>();
  for (const sl of input.slices) {
    const owner = sl.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!owner) continue;
    const k = `${sl.metadata?.namespace ?? ''}/${owner}`;
    const list = slicesOf.get(k);
    if (list) list.push(sl);
    else slicesOf.set(k, [sl]);
  }
  const plans: ServicePlan[] = [];
  let room = { ...input.capacity };
  for (const svc of ours) {
    const p = problems.get(svc)!;
    const fams = families.get(svc)!;
    const kept = held.get(svc)!;
    const notes = readAnnotations(svc.metadata?.annotations, pools.names);
    for (const a of notes.problems) p.push({ reason: 'InvalidAnnotation', field: a.field, message: a.message });
    let target = [...kept];
    const annotationBroken = notes.problems.length > 0;
    if (!annotationBroken) target = desiredVips(svc, fams, kept, notes.value, pools, isTaken(svc), p);
    for (const ip of target) holder.set(ip, objectKey(svc));
    target.sort((a, b) => familyOf(a) - familyOf(b));

    const { inputs, backends } = programmed(svc, kept, slicesOf.get(objectKey(svc)) ?? [], input, p, notes.value.healthCheck);
    let admitted = inputs;
    if (inputs.length > room.services || backends > room.backends) {
      p.push({
        reason: 'CapacityExceeded',
        field: 'spec.ports',
        message: `${inputs.length} xlb services with ${backends} backends do not fit in what is left (${room.services} services, ${room.backends} backends; maps.services / maps.backends)`,
      });
      admitted = [];
    } else room = { services: room.services - inputs.length, backends: room.backends - backends };
    plans.push({
      ref: refOf(svc),
      status: target,
      statusChanged: !statusIs(svc, target),
      assigning: target.filter((ip) => !kept.includes(ip)),
      inputs: admitted,
      problems: p,
    });
  }
  return { plans, clears };
}

function readFamilies(svc: KService, p: Problem[]): (4 | 6)[] {
  const raw = svc.spec?.ipFamilies;
  if (!raw || raw.length === 0) return [4]; // the API server always sets it; IPv4 is its single-stack default
  const out: (4 | 6)[] = [];
  raw.forEach((f, i) => {
    const fam = FAMILY_OF[f];
    if (fam === undefined) p.push({ reason: 'UnsupportedIPFamily', field: `spec.ipFamilies[${i}]`, message: `${JSON.stringify(f)} is not IPv4 or IPv6` });
    else if (!out.includes(fam)) out.push(fam);
  });
  return out;
}

/** The VIPs the status should list: the requested ones (annotation, else spec.loadBalancerIP) when
 *  all of them can be had, else the held ones; then one new address for each family still missing.
 *  A request that cannot be met changes nothing (the Service keeps what it has). */
function desiredVips(
  svc: KService,
  fams: (4 | 6)[],
  kept: string[],
  notes: { loadBalancerIps?: string[]; addressPool?: string },
  pools: Pools,
  isTaken: (ip: string) => boolean,
  p: Problem[],
): string[] {
  const pool = notes.addressPool;
  let requested: { ip: string; field: string }[] | undefined;
  if (notes.loadBalancerIps) {
    requested = notes.loadBalancerIps.map((ip) => ({ ip, field: annotationField(ANNOTATIONS.loadBalancerIps) }));
  } else if (svc.spec?.loadBalancerIP) {
    const ip = canonicalIp(svc.spec.loadBalancerIP);
    if (!ip) {
      p.push({ reason: 'InvalidLoadBalancerIP', field: 'spec.loadBalancerIP', message: `${JSON.stringify(svc.spec.loadBalancerIP)} is not an IP address` });
      return kept;
    }
    requested = [{ ip, field: 'spec.loadBalancerIP' }];
  }
  let base: string[];
  if (requested) {
    const before = p.length;
    for (const { ip, field } of requested) {
      const inPool = pools.poolOf(ip);
      if (!fams.includes(familyOf(ip))) {
        p.push({ reason: 'UnsupportedIPFamily', field, message: `${ip} is IPv${familyOf(ip)} but spec.ipFamilies is ${JSON.stringify(svc.spec?.ipFamilies ?? ['IPv4'])}` });
      } else if (!inPool || (pool !== undefined && inPool !== pool)) {
        p.push({ reason: 'AddressOutsidePools', field, message: `${ip} is not in ${pool === undefined ? 'any address pool' : `pool ${pool}`}; pools: ${pools.describe(pool)}` });
      } else if (isTaken(ip)) {
        p.push({ reason: 'AddressTaken', field, message: `${ip} is already in use by another Service (or a service of xlb's API or config file)` });
      }
    }
    if (p.length > before) return kept;
    base = requested.map((r) => r.ip);
  } else {
    // An address outside the pool the annotation names now is given up for one inside it.
    base = kept.filter((ip) => pool === undefined || pools.poolOf(ip) === pool);
  }
  const out = [...base];
  for (const fam of fams) {
    if (out.some((ip) => familyOf(ip) === fam)) continue;
    const field = pool === undefined ? 'spec.ipFamilies' : annotationField(ANNOTATIONS.addressPool);
    if (!pools.serves(fam, pool)) {
      p.push({ reason: 'PoolExhausted', field, message: `no ${pool === undefined ? 'address pool' : `pool ${pool}`} has IPv${fam} addresses; pools: ${pools.describe(pool)}` });
      continue;
    }
    const ip = pools.allocate(fam, (x) => isTaken(x) || out.includes(x), pool);
    if (ip) out.push(ip);
    else p.push({ reason: 'PoolExhausted', field, message: `no free IPv${fam} address left in ${pools.describe(pool)}` });
  }
  return out;
}

interface Candidate {
  address: string;
  weight: number;
  state: 'active' | 'draining';
}

/** The xlb services for the VIPs the status holds now, one per (VIP, port). */
function programmed(
  svc: KService,
  vips: string[],
  slices: readonly KEndpointSlice[],
  input: TranslateInput,
  p: Problem[],
  healthCheck: HealthCheckInput | undefined,
): { inputs: ServiceInput[]; backends: number } {
  const ref = refOf(svc);
  const kubernetes: KubernetesRef = { namespace: ref.namespace, name: ref.name };
  const local = svc.spec?.externalTrafficPolicy === 'Local';
  const sourceHash = svc.spec?.sessionAffinity === 'ClientIP';
  const ports = (svc.spec?.ports ?? []).map((port, i) => checkPort(port, i, slices, p)).filter((x): x is NonNullable<typeof x> => x !== undefined);
  const inputs: ServiceInput[] = [];
  let backends = 0;
  for (const vip of vips) {
    for (const port of ports) {
      const list = backendsFor(slices, port.name, port.protocol, familyOf(vip), local, input.nodes);
      const id = formatServiceId({ vip, port: port.port, protocol: port.protocol });
      if (input.others.ids.has(id)) {
        p.push({ reason: 'AddressTaken', field: `spec.ports[${port.index}]`, message: `${id} is a service created through xlb's API or config file` });
        continue;
      }
      const candidate: ServiceInput = {
        vip,
        port: port.port,
        protocol: port.protocol,
        flags: { sourceHash },
        backends: list.map((b) => ({ address: b.address, weight: b.weight, state: b.state })),
        kubernetes,
        ...(healthCheck ? { healthCheck } : {}),
      };
      try {
        validateService(candidate, input.limits, 'service');
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        p.push({ reason: 'InvalidEndpoints', field: `spec.ports[${port.index}]`, message: `${id}: ${e.message}` });
        continue;
      }
      inputs.push(candidate);
      backends += list.length;
    }
  }
  return { inputs, backends };
}

interface CheckedPort {
  index: number;
  name: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

/** A Service port xlb can serve, or undefined (with a problem) when DSR cannot. */
function checkPort(port: ServicePort, i: number, slices: readonly KEndpointSlice[], p: Problem[]): CheckedPort | undefined {
  const protocol = (port.protocol ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP') {
    p.push({ reason: 'UnsupportedProtocol', field: `spec.ports[${i}].protocol`, message: `${port.protocol} is not supported; xlb balances TCP and UDP` });
    return undefined;
  }
  const number = port.port;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) return undefined; // the API server never stores that
  const target = port.targetPort ?? number;
  const translation = (to: number | string) =>
    p.push({
      reason: 'PortTranslation',
      field: `spec.ports[${i}].targetPort`,
      message: `port ${number} would be sent to ${to}; with direct server return the backends must listen on the Service port itself (set targetPort to ${number})`,
    });
  if (typeof target === 'number' && target !== number) {
    translation(target);
    return undefined;
  }
  const name = port.name ?? '';
  if (typeof target === 'string' && !/^\d+$/.test(target)) {
    // A named port: what it resolves to is in the EndpointSlices.
    const resolved = new Set<number>();
    for (const s of slices) for (const sp of s.ports ?? []) if ((sp.name ?? '') === name && typeof sp.port === 'number') resolved.add(sp.port);
    const other = [...resolved].find((n) => n !== number);
    if (other !== undefined) {
      translation(`${other} (targetPort ${JSON.stringify(target)})`);
      return undefined;
    }
  } else if (typeof target === 'string' && Number(target) !== number) {
    translation(Number(target));
    return undefined;
  }
  return { index: i, name, port: number, protocol: protocol.toLowerCase() as 'tcp' | 'udp' };
}

/** ready → active; serving and terminating → draining (existing flows only); else not a backend.
 *  Unset conditions mean "ready" (and "not terminating"), as the EndpointSlice API defines them. */
function endpointState(e: Endpoint): 'active' | 'draining' | undefined {
  const c = e.conditions ?? {};
  const ready = c.ready ?? true;
  const serving = c.serving ?? ready;
  const terminating = c.terminating ?? false;
  if (ready && !terminating) return 'active';
  if (serving && terminating) return 'draining';
  return undefined;
}

function backendsFor(
  slices: readonly KEndpointSlice[],
  portName: string,
  protocol: 'tcp' | 'udp',
  family: 4 | 6,
  local: boolean,
  nodes: readonly KNode[],
): Candidate[] {
  // Per address, the best state any slice reports (a pod may briefly appear in two slices).
  const best = new Map<string, { state: 'active' | 'draining'; nodeName?: string }>();
  for (const s of slices) {
    if (s.addressType !== `IPv${family}`) continue;
    if (!(s.ports ?? []).some((sp) => (sp.name ?? '') === portName && (sp.protocol ?? 'TCP').toLowerCase() === protocol)) continue;
    for (const e of s.endpoints ?? []) {
      const raw = e.addresses?.[0];
      const address = raw === undefined ? undefined : canonicalIp(raw);
      const state = endpointState(e);
      if (!address || !state) continue;
      const prev = best.get(address);
      if (!prev || (prev.state === 'draining' && state === 'active')) best.set(address, { state, nodeName: e.nodeName });
    }
  }
  if (!local) return [...best].map(([address, b]) => ({ address, weight: b.state === 'active' ? 1 : 0, state: b.state }));
  // externalTrafficPolicy Local: the nodes that run endpoints, weighted by their ready endpoints;
  // kube-proxy on the node delivers to its local pods (the Service's VIP has ipMode VIP).
  const perNode = new Map<string, { active: number; draining: number }>();
  for (const b of best.values()) {
    if (!b.nodeName) continue;
    const n = perNode.get(b.nodeName) ?? { active: 0, draining: 0 };
    n[b.state]++;
    perNode.set(b.nodeName, n);
  }
  const out: Candidate[] = [];
  for (const [nodeName, n] of perNode) {
    const node = nodes.find((x) => x.metadata?.name === nodeName);
    const raw = node?.status?.addresses?.find((a) => a.type === 'InternalIP' && a.address && familyOf(a.address) === family)?.address;
    const address = raw === undefined ? undefined : canonicalIp(raw);
    if (!address) continue;
    out.push(n.active > 0 ? { address, weight: n.active, state: 'active' } : { address, weight: 0, state: 'draining' });
  }
  return out;
}
