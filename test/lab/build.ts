// The steps that turn a LabPlan into namespaces, veths, addresses and routes. Each step is
// idempotent enough to be retried by nothing: a failure anywhere makes Lab.create tear everything
// down, so steps only need to be correct, not reversible.
import { allNodes, type LabPlan, type NodePlan } from './plan.js';
import { run } from './shell.js';

export interface BuildSettings {
  ipv6: boolean;
  coreMtu: number;
  clientMtu: number;
  xdpPassObject: string;
}

const ip = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
const inNs = (ns: string, ...argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);

export async function createNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'add', ns]);
  await ip(ns, 'link', 'set', 'lo', 'up');
}

function sysctlsFor(node: NodePlan, s: BuildSettings): string[] {
  // DAD would keep fresh IPv6 addresses tentative for a second; nothing else shares these links.
  const common = s.ipv6 ? ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'] : [];
  const noRpFilter = ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'];
  switch (node.role) {
    case 'router':
      return [...common, ...noRpFilter, 'net.ipv4.ip_forward=1', 'net.ipv4.fib_multipath_hash_policy=1',
        ...(s.ipv6 ? ['net.ipv6.conf.all.forwarding=1', 'net.ipv6.fib_multipath_hash_policy=1'] : [])];
    case 'backend':
      // DSR: requests arrive on eth0 for a VIP that lives on lo.
      return [...common, ...noRpFilter];
    default:
      return common;
  }
}

/** Before any link exists, so the per-interface copies of `default` inherit these values. */
export async function setSysctls(plan: LabPlan, s: BuildSettings): Promise<void> {
  await Promise.all(allNodes(plan).map(async (node) => {
    const settings = sysctlsFor(node, s);
    if (settings.length) await inNs(node.ns, 'sysctl', '-q', ...settings.flatMap((kv) => ['-w', kv]));
  }));
}

function mtuOf(node: NodePlan, s: BuildSettings): number {
  return node.role === 'client' ? s.clientMtu : s.coreMtu;
}

/** One veth pair per node, created directly inside the two namespaces (never in the host's). */
export async function createLinks(plan: LabPlan, s: BuildSettings): Promise<void> {
  const r = plan.router.ns;
  for (const node of allNodes(plan).slice(1)) {
    const mtu = String(mtuOf(node, s));
    await ip(r, 'link', 'add', node.routerIfname, 'mtu', mtu, 'type', 'veth', 'peer', 'name', node.ifname, 'mtu', mtu, 'netns', node.ns);
  }
  await Promise.all(allNodes(plan).slice(1).flatMap((node) => [
    ip(r, 'link', 'set', node.routerIfname, 'up'),
    ip(node.ns, 'link', 'set', node.ifname, 'up'),
  ]));
}

export async function configureAddresses(plan: LabPlan, s: BuildSettings): Promise<void> {
  const r = plan.router.ns;
  const prefixLen = (p: string) => p.split('/')[1]!;
  await Promise.all(allNodes(plan).slice(1).map(async (node) => {
    await ip(r, 'addr', 'add', `${node.routerIpv4}/${prefixLen(node.prefix4)}`, 'dev', node.routerIfname);
    await ip(node.ns, 'addr', 'add', `${node.ipv4}/${prefixLen(node.prefix4)}`, 'dev', node.ifname);
    await ip(node.ns, 'route', 'add', 'default', 'via', node.routerIpv4, 'dev', node.ifname);
    if (s.ipv6) {
      await ip(r, '-6', 'addr', 'add', `${node.routerIpv6}/${prefixLen(node.prefix6)}`, 'dev', node.routerIfname, 'nodad');
      await ip(node.ns, '-6', 'addr', 'add', `${node.ipv6}/${prefixLen(node.prefix6)}`, 'dev', node.ifname, 'nodad');
      await ip(node.ns, '-6', 'route', 'add', 'default', 'via', node.routerIpv6, 'dev', node.ifname);
    }
  }));
  // Backends own the VIPs on lo: the decapsulated inner packet is addressed to them.
  await Promise.all(plan.backends.map(async (b) => {
    for (const vip of plan.vips4) await ip(b.ns, 'addr', 'add', `${vip}/32`, 'dev', 'lo');
    if (s.ipv6) for (const vip of plan.vips6) await ip(b.ns, '-6', 'addr', 'add', `${vip}/128`, 'dev', 'lo', 'nodad');
  }));
}

/** Route argv for the VIP prefix via the given LB nodes (ECMP when more than one). */
export function vipRouteArgs(prefix: string, lbs: NodePlan[], family: 4 | 6): string[] {
  const via = (lb: NodePlan) => ['via', family === 4 ? lb.ipv4 : lb.ipv6, 'dev', lb.routerIfname];
  if (lbs.length === 1) return [prefix, ...via(lbs[0]!)];
  return [prefix, ...lbs.flatMap((lb) => ['nexthop', ...via(lb), 'weight', '1'])];
}

export async function routeVips(plan: LabPlan, lbs: NodePlan[], s: BuildSettings): Promise<void> {
  await ip(plan.router.ns, 'route', 'replace', ...vipRouteArgs(plan.vipPrefix4, lbs, 4));
  if (s.ipv6) await ip(plan.router.ns, '-6', 'route', 'replace', ...vipRouteArgs(plan.vipPrefix6, lbs, 6));
}

/**
 * Lab-only settings around the LB's XDP program: senders whose packets cross it compute full
 * checksums (veth would otherwise hand XDP CHECKSUM_PARTIAL packets that break once encapsulated),
 * and router veths facing an LB run an XDP pass program, without which veth drops XDP_TX'd frames.
 */
export async function prepareXdpPath(plan: LabPlan, s: BuildSettings): Promise<void> {
  const r = plan.router.ns;
  await Promise.all([
    ...plan.clients.map((c) => inNs(c.ns, 'ethtool', '-K', c.ifname, 'tx', 'off')),
    ...plan.lbs.map(async (lb) => {
      await inNs(r, 'ethtool', '-K', lb.routerIfname, 'tx', 'off');
      await ip(r, 'link', 'set', 'dev', lb.routerIfname, 'xdpdrv', 'obj', s.xdpPassObject, 'sec', 'xdp');
    }),
  ]);
}

export interface LinkInfo {
  ifindex: number;
  mac: string;
  mtu: number;
}

/** ifindex/MAC/MTU of every interface in a namespace. */
export async function readLinks(ns: string): Promise<Map<string, LinkInfo>> {
  const r = await ip(ns, '-j', 'link', 'show');
  const links = JSON.parse(r.stdout) as Array<{ ifindex: number; ifname: string; address?: string; mtu: number }>;
  return new Map(links.map((l) => [l.ifname, { ifindex: l.ifindex, mac: l.address ?? '', mtu: l.mtu }]));
}
